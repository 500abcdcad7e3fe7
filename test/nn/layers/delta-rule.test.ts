import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import {
  type DeltaRuleInputs,
  deltaRuleChunkwise,
  deltaRuleRecurrent,
  type StateRule,
} from '../../../src/nn/layers/delta-rule.js';
import { loadTf, type Tf } from '../../../src/nn/runtime.js';
import { type Outcome, relativeError } from '../backend-compare.js';

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf({ prefer: 'cpu' })).tf;
});

interface Case {
  readonly x: number;
  readonly t: number;
  readonly dk: number;
  readonly dv: number;
  readonly chunk: number;
  readonly rule: StateRule;
  /** β range: 1 = sigmoid (0, 1), 2 = the negative-eigenvalue variant (0, 2). */
  readonly betaMax: number;
  readonly seed: number;
}

/** Host arrays as the model produces them: L2-normalised keys and queries, β in (0, betaMax). */
function randomInputs(c: Case) {
  const prng = createPrng(c.seed);
  const unitRows = (rows: number, d: number) => {
    const out = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let j = 0; j < d; j++) {
        out[r * d + j] = prng.normal();
        norm += out[r * d + j]! ** 2;
      }
      for (let j = 0; j < d; j++) out[r * d + j]! /= Math.sqrt(norm);
    }
    return out;
  };
  const q = unitRows(c.x * c.t, c.dk);
  const k = unitRows(c.x * c.t, c.dk);
  const v = Float64Array.from({ length: c.x * c.t * c.dv }, () => prng.normal());
  const beta = Float64Array.from({ length: c.x * c.t }, () => c.betaMax / (1 + Math.exp(-prng.normal())));
  const outWeights = Float64Array.from({ length: c.x * c.t * c.dv }, () => prng.normal());
  const stateWeights = Float64Array.from({ length: c.x * c.dk * c.dv }, () => prng.normal());
  return { q, k, v, beta, outWeights, stateWeights };
}

/** The recurrence in float64 plain JS: the reference both tfjs forms are held to. */
function referenceForward(c: Case, h: ReturnType<typeof randomInputs>) {
  const output = new Float64Array(c.x * c.t * c.dv);
  const state = new Float64Array(c.x * c.dk * c.dv);
  const scale = 1 / Math.sqrt(c.dk);
  for (let b = 0; b < c.x; b++) {
    const s = state.subarray(b * c.dk * c.dv, (b + 1) * c.dk * c.dv);
    for (let t = 0; t < c.t; t++) {
      const row = b * c.t + t;
      const u = new Float64Array(c.dv);
      for (let j = 0; j < c.dv; j++) {
        let retrieved = 0;
        if (c.rule === 'delta')
          for (let i = 0; i < c.dk; i++) retrieved += s[i * c.dv + j]! * h.k[row * c.dk + i]!;
        const vj = h.v[row * c.dv + j]!;
        u[j] = c.rule === 'delta' ? h.beta[row]! * (vj - retrieved) : vj;
      }
      for (let i = 0; i < c.dk; i++)
        for (let j = 0; j < c.dv; j++) s[i * c.dv + j]! += h.k[row * c.dk + i]! * u[j]!;
      for (let j = 0; j < c.dv; j++) {
        let o = 0;
        for (let i = 0; i < c.dk; i++) o += s[i * c.dv + j]! * h.q[row * c.dk + i]! * scale;
        output[row * c.dv + j] = o;
      }
    }
  }
  return { output, state };
}

interface FormOutcome {
  readonly output: Outcome;
  readonly state: Outcome;
  readonly grads: Record<'q' | 'k' | 'v' | 'beta', Outcome>;
}

async function runForm(
  c: Case,
  h: ReturnType<typeof randomInputs>,
  form: 'recurrent' | 'chunkwise',
): Promise<FormOutcome> {
  const f32 = (a: Float64Array) => Float32Array.from(a);
  const q = tf.tensor3d(f32(h.q), [c.x, c.t, c.dk]);
  const k = tf.tensor3d(f32(h.k), [c.x, c.t, c.dk]);
  const v = tf.tensor3d(f32(h.v), [c.x, c.t, c.dv]);
  const beta = tf.tensor2d(f32(h.beta), [c.x, c.t]);
  const ro = tf.tensor3d(f32(h.outWeights), [c.x, c.t, c.dv]);
  const rs = tf.tensor3d(f32(h.stateWeights), [c.x, c.dk, c.dv]);
  const run = (inputs: DeltaRuleInputs) =>
    form === 'recurrent'
      ? deltaRuleRecurrent(inputs, { rule: c.rule })
      : deltaRuleChunkwise(inputs, { rule: c.rule, chunk: c.chunk });
  const { output, state } = tf.tidy(() => {
    const r = run({ q, k, v, beta });
    return { output: tf.keep(r.output), state: tf.keep(r.state) };
  });
  // A loss that reaches every output value and every state entry with a distinct weight.
  // Linear attention ignores β: tfjs refuses a gradient w.r.t. an input the loss does not use.
  const withBeta = c.rule === 'delta';
  const gradients = tf.grads((...args: Tensor[]) => {
    const [qq, kk, vv, bb] = args as [Tensor, Tensor, Tensor, Tensor | undefined];
    const r = run({ q: qq as never, k: kk as never, v: vv as never, beta: (bb ?? beta) as never });
    return tf.add(tf.sum(tf.mul(r.output, ro)), tf.sum(tf.mul(r.state, rs)));
  })(withBeta ? [q, k, v, beta] : [q, k, v]);
  const host = (t: Tensor): Outcome => ({ shape: t.shape, values: t.dataSync() as Float32Array });
  const result: FormOutcome = {
    output: host(output),
    state: host(state),
    grads: {
      q: host(gradients[0]!),
      k: host(gradients[1]!),
      v: host(gradients[2]!),
      beta: withBeta ? host(gradients[3]!) : { shape: [0], values: new Float32Array() },
    },
  };
  tf.dispose([q, k, v, beta, ro, rs, output, state, ...gradients]);
  return result;
}

const CASES: readonly Case[] = [
  { x: 3, t: 37, dk: 8, dv: 6, chunk: 16, rule: 'delta', betaMax: 1, seed: 1 },
  { x: 2, t: 64, dk: 16, dv: 16, chunk: 32, rule: 'delta', betaMax: 2, seed: 2 },
  { x: 2, t: 48, dk: 8, dv: 8, chunk: 16, rule: 'delta', betaMax: 1, seed: 3 },
  { x: 2, t: 21, dk: 8, dv: 4, chunk: 16, rule: 'linear', betaMax: 1, seed: 4 },
  { x: 4, t: 45, dk: 16, dv: 16, chunk: 8, rule: 'delta', betaMax: 1, seed: 5 },
];

describe.each(['cpu', 'wasm'] as const)('delta rule on %s', (backend) => {
  it.each(CASES)(
    'recurrent = chunkwise = float64 reference: $rule, T $t, chunk $chunk, β<$betaMax',
    async (c) => {
      await loadTf({ prefer: backend });
      const h = randomInputs(c);
      const reference = referenceForward(c, h);
      const recurrent = await runForm(c, h, 'recurrent');
      const chunkwise = await runForm(c, h, 'chunkwise');
      const asOutcome = (a: Float64Array): Outcome => ({ shape: [a.length], values: Float32Array.from(a) });
      expect(relativeError(recurrent.output, asOutcome(reference.output))).toBeLessThan(1e-5);
      expect(relativeError(recurrent.state, asOutcome(reference.state))).toBeLessThan(1e-5);
      expect(relativeError(chunkwise.output, recurrent.output)).toBeLessThan(1e-5);
      expect(relativeError(chunkwise.state, recurrent.state)).toBeLessThan(1e-5);
      const errors = [`output ${relativeError(chunkwise.output, recurrent.output).toExponential(1)}`];
      for (const name of ['q', 'k', 'v', 'beta'] as const) {
        if (c.rule === 'linear' && name === 'beta') continue;
        const error = relativeError(chunkwise.grads[name], recurrent.grads[name]);
        expect(error, `∂/∂${name}`).toBeLessThan(1e-5);
        errors.push(`∂/∂${name} ${error.toExponential(1)}`);
      }
      // The figures docs/deltanet.md quotes (DELTANET_PRINT_ERRORS=1 npx vitest run <this file>).
      if (process.env.DELTANET_PRINT_ERRORS) {
        console.log(`${backend} ${c.rule} T${c.t} C${c.chunk} β<${c.betaMax}: ${errors.join(', ')}`);
      }
      // Not vacuous: the gradients are non-zero.
      expect(Math.max(...Array.from(recurrent.grads.k.values, Math.abs))).toBeGreaterThan(1e-3);
    },
  );
});

describe('delta rule semantics', () => {
  it('a key written with β = 1 is retrieved exactly (the state is a memory, not a sum)', async () => {
    await loadTf({ prefer: 'cpu' });
    // Two writes to the same unit key: delta keeps the last value, linear attention adds both.
    const k = tf.tensor3d([1, 0, 1, 0, 1, 0], [1, 3, 2]);
    const q = tf.tensor3d([0, 0, 0, 0, Math.SQRT2, 0], [1, 3, 2]); // scale 1/√2 undone
    const v = tf.tensor3d([5, 7, 0], [1, 3, 1]);
    const beta = tf.tensor2d([1, 1, 0], [1, 3]);
    const delta = deltaRuleChunkwise({ q, k, v, beta }, { rule: 'delta', chunk: 2 });
    const linear = deltaRuleChunkwise({ q, k, v, beta }, { rule: 'linear', chunk: 2 });
    expect(delta.output.dataSync()[2]).toBeCloseTo(7, 5);
    expect(linear.output.dataSync()[2]).toBeCloseTo(12, 5);
  });
});
