import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type ChunkBlockShape,
  type ChunkInput,
  chunkLayers,
  chunkOperands,
  chunkValues,
  compareChunk,
} from '../../src/core/chunk-layers.js';
import { PRESETS } from '../../src/core/presets.js';
import { createLayerReplay } from '../../src/core/replay-engine.js';
import { chunkProductMacs, chunkProducts } from '../../src/trace/chunk-schedule.js';
import { packMask } from '../../src/trace/mask.js';

const f64 = (rows: number[][]) => Float64Array.from(rows.flat());
const plain = (a: Float32Array | Float64Array) => Array.from(a);

/**
 * One head, C = 4, d_k = d_v = 2. Keys k0 ⟂ k1 (a data zero in A), β2 = ½, S₀ = e₀e₀ᵀ.
 * By hand (the recurrence, token by token): u = [0,2], [3,4], [½,0], [5½,6]; S after the chunk
 * [[7,8],[3½,4]]; readouts S_tᵀq_t = [1,2], [3,4], [1½,2], [3½,4].
 */
const tiny: { shape: ChunkBlockShape; input: ChunkInput } = {
  shape: { rule: 'delta', heads: 1, dk: 2, dv: 2, chunk: 4 },
  input: {
    rows: 4,
    k: f64([
      [1, 0],
      [0, 1],
      [1, 1],
      [1, 0],
    ]),
    q: f64([
      [1, 0],
      [0, 1],
      [1, 0],
      [0, 1],
    ]),
    beta: Float64Array.from([1, 1, 0.5, 1]),
    // diag(β)V with V = [[1,2],[3,4],[5,6],[7,8]]
    betaV: f64([
      [1, 2],
      [3, 4],
      [2.5, 3],
      [7, 8],
    ]),
    s0: f64([
      [1, 0],
      [0, 0],
    ]),
  },
};

describe('chunked DeltaNet schedule: a hand-computed chunk (C = 4, d = 2)', () => {
  const values = chunkValues(tiny.shape, tiny.input);
  const operands = (p: Parameters<typeof chunkOperands>[0]) =>
    chunkOperands(p, tiny.shape, tiny.input, values);

  it('the UT transform by forward substitution, U′, the readouts and the final state', () => {
    // A = tril(diag(β)KKᵀ, −1); [W U] rows: [1,0,1,2], [0,1,3,4], [0,0,½,0], [0,0,5½,6].
    expect(plain(values.a!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 1, 0]);
    expect(plain(values.x!)).toEqual([1, 0, 1, 2, 0, 1, 3, 4, 0, 0, 0.5, 0, 0, 0, 5.5, 6]);
    expect(plain(values.corrected)).toEqual([0, 2, 3, 4, 0.5, 0, 5.5, 6]);
    expect(plain(values.o)).toEqual([1, 2, 3, 4, 1.5, 2, 3.5, 4]);
    expect(plain(values.sEnd)).toEqual([7, 8, 3.5, 4]);
  });

  it('layers, operands and masks: structural zeros are zero bits', () => {
    const layers = chunkLayers('b_', tiny.shape);
    expect(
      layers.map((l) => [l.spec.name, l.spec.op, l.spec.gemm, l.spec.gemmCount, l.spec.structural]),
    ).toEqual([
      ['b_chunk_kkt', 'attention-scores', { m: 4, n: 4, k: 2 }, 1, 'causal'],
      ['b_chunk_solve', 'matmul', { m: 1, n: 4, k: 4 }, 4, 'none'],
      ['b_chunk_state-correction', 'delta-rule', { m: 4, n: 2, k: 2 }, 1, 'none'],
      ['b_chunk_inter', 'delta-rule', { m: 4, n: 2, k: 2 }, 1, 'none'],
      ['b_chunk_qkt', 'attention-scores', { m: 4, n: 4, k: 2 }, 1, 'causal'],
      ['b_chunk_intra', 'attention-values', { m: 4, n: 2, k: 4 }, 1, 'causal'],
      ['b_chunk_state-update', 'matmul', { m: 2, n: 2, k: 4 }, 1, 'none'],
    ]);
    // KKᵀ against keys shifted one token: B column 0 is the zero column (the diagonal), n holds k_{n−1}.
    expect(plain(operands('kkt').b)).toEqual([0, 1, 0, 1, 0, 0, 1, 1]);
    // Solve row m: A row m with zero bits at k ≥ m (and A(1,0) = k1·k0 = 0, a data zero);
    // B: the finished rows < m only.
    const solve = operands('solve');
    expect(plain(solve.a)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 1, 0]);
    expect(Array.from(packMask(solve.a))).toEqual([0b0000_0000, 0b0101_0011]);
    expect(plain(solve.b.subarray(2 * 16, 3 * 16))).toEqual([1, 0, 1, 2, 0, 1, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    // P = QKᵀ under the causal mask (upper triangle zero), the A operand of intra.
    expect(plain(operands('intra').a)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0]);
    expect(plain(operands('state-update').a)).toEqual([1, 0, 1, 1, 0, 1, 1, 0]); // Kᵀ
    expect(plain(operands('state-correction').a)).toEqual([1, 0, 0, 1, 0, 0, 0, 0]); // W
  });

  it('MACs per chunk on a dense array and on a skipping one (sparten-like), by hand', () => {
    const executed = (preset: string) =>
      chunkLayers('b_', tiny.shape).map((l) => {
        const { a, b } = operands(l.product);
        const replay = createLayerReplay(l.spec, PRESETS[preset]!, {
          bOperand: 'rhs',
          delta: false,
          baseline: false,
        });
        return replay.step({ aMask: packMask(a), bMask: packMask(b), keyFrame: true }).executedMacs;
      });
    // Dense: C²d_k, C²(d_k+d_v), C·d_k·d_v ×2, C²d_k, C²d_v, d_k·C·d_v.
    expect(executed('scalesim-default')).toEqual([32, 64, 16, 16, 32, 32, 16]);
    // Skipping: kkt keeps (m, n) with 1 ≤ n ≤ m and both entries non-zero: k1·k0 1 MAC... counted per k.
    // kkt: rows k1 [0,1]: n=1 (k0): 0 MACs; k2 [1,1]: n=1 → 1, n=2 → 1; k3 [1,0]: n=1 → 1, n=2 → 0, n=3 → 1 → 4.
    // solve: A non-zeros (2,0), (2,1), (3,0), (3,2) × the non-zeros of the finished rows X0 (3), X1 (3), X2 (1) → 3+3+3+1 = 10.
    // correction: W rows 0, 1 one non-zero each × S₀ row (1 non-zero, row 0 only) → 1.
    // inter: q rows e0, e1, e0, e1 × S₀ → 2. qkt: 1 + 1 + 2 + 2 = 6 (per pair the shared non-zero k).
    // intra: P non-zeros (0,0), (1,1), (2,0), (2,2), (3,1), (3,2) × non-zeros of U′ rows 1, 2, 1, 1 → 1+2+1+1+2+1 = 8.
    // state-update: Kᵀ non-zeros × U′ rows: k0 (1 entry) × 1, k1 1 × 2, k2 2 × 1, k3 1 × 2 → 1+2+2+2 = 7.
    expect(executed('sparten-like')).toEqual([4, 10, 1, 2, 6, 8, 7]);
  });

  it('compareChunk: within tolerance × scale passes, beyond it fails', () => {
    const ok = compareChunk(Float64Array.of(1.001), Float64Array.of(1), Float64Array.of(1), 2e-3);
    expect(ok.mismatches).toBe(0);
    const bad = compareChunk(Float64Array.of(1.01), Float64Array.of(1), Float64Array.of(1), 2e-3);
    expect(bad).toMatchObject({ mismatches: 1, first: { index: 0, got: 1.01, expected: 1 } });
  });
});

/** Token by token: S_t = S_{t−1} + k uᵀ with u = β(v − S_{t−1}ᵀk) (delta) or v (linear). */
function recurrence(shape: ChunkBlockShape, input: ChunkInput, v: Float64Array) {
  const { heads: h, dk, dv, chunk: c } = shape;
  const s = Float64Array.from(input.s0);
  const o = new Float64Array(h * c * dv);
  for (let hd = 0; hd < h; hd++) {
    for (let t = 0; t < input.rows; t++) {
      const k = (i: number) => input.k[(hd * c + t) * dk + i]!;
      const u = new Float64Array(dv);
      for (let e = 0; e < dv; e++) {
        let r = 0;
        for (let i = 0; i < dk; i++) r += s[(hd * dk + i) * dv + e]! * k(i);
        const ve = v[(hd * c + t) * dv + e]!;
        u[e] = shape.rule === 'delta' ? input.beta[hd * c + t]! * (ve - r) : ve;
      }
      for (let i = 0; i < dk; i++) for (let e = 0; e < dv; e++) s[(hd * dk + i) * dv + e]! += k(i) * u[e]!;
      for (let e = 0; e < dv; e++) {
        let sum = 0;
        for (let i = 0; i < dk; i++) sum += input.q[(hd * c + t) * dk + i]! * s[(hd * dk + i) * dv + e]!;
        o[(hd * c + t) * dv + e] = sum;
      }
    }
  }
  return { o, s };
}

const chunkCase = fc
  .record({
    rule: fc.constantFrom('delta' as const, 'linear' as const),
    heads: fc.integer({ min: 1, max: 2 }),
    dk: fc.integer({ min: 1, max: 3 }),
    dv: fc.integer({ min: 1, max: 3 }),
    chunk: fc.integer({ min: 1, max: 5 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    zeros: fc.double({ min: 0, max: 0.6, noNaN: true }),
  })
  .chain((s) => fc.record({ shape: fc.constant(s), rows: fc.integer({ min: 1, max: s.chunk }) }));

/** Seeded operands with a fraction of exact zeros; padding rows (≥ rows) zero. */
function randomChunk(
  s: {
    rule: 'delta' | 'linear';
    heads: number;
    dk: number;
    dv: number;
    chunk: number;
    seed: number;
    zeros: number;
  },
  rows: number,
) {
  let state = s.seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const value = () => (next() < s.zeros ? 0 : next() * 2 - 1);
  const shape: ChunkBlockShape = { rule: s.rule, heads: s.heads, dk: s.dk, dv: s.dv, chunk: s.chunk };
  const perToken = (d: number, f: () => number) =>
    Float64Array.from({ length: s.heads * s.chunk * d }, (_, i) =>
      Math.floor(i / d) % s.chunk < rows ? f() : 0,
    );
  const beta = perToken(1, () => 0.1 + 0.9 * next());
  const v = perToken(s.dv, value);
  const input: ChunkInput = {
    rows,
    k: perToken(s.dk, value),
    q: perToken(s.dk, value),
    beta,
    betaV: s.rule === 'delta' ? v.map((x, i) => x * beta[Math.floor(i / s.dv)]!) : v,
    s0: Float64Array.from({ length: s.heads * s.dk * s.dv }, value),
  };
  return { shape, input, v };
}

describe('chunked DeltaNet schedule: properties', () => {
  test.prop([chunkCase])(
    'the chunk products reproduce the recurrence (readouts and final state)',
    ({ shape: s, rows }) => {
      const { shape, input, v } = randomChunk(s, rows);
      const values = chunkValues(shape, input);
      const ref = recurrence(shape, input, v);
      for (const [got, want] of [
        [values.o, ref.o],
        [values.sEnd, ref.s],
      ] as const) {
        got.forEach((x, i) => {
          expect(Math.abs(x - want[i]!)).toBeLessThan(1e-9 * (1 + Math.abs(want[i]!)));
        });
      }
    },
  );

  test.prop([chunkCase])(
    'executed + skipped = MACs; dense MACs and (all operands non-zero) needed MACs are the schedule metadata’s; a dense array’s cycles do not depend on the data',
    ({ shape: s, rows }) => {
      const { shape, input } = randomChunk(s, rows);
      const other = randomChunk({ ...s, seed: s.seed + 1, zeros: 0.5 }, rows);
      const full = randomChunk({ ...s, zeros: 0 }, shape.chunk);
      const products = new Map(
        chunkProducts(shape.rule, shape.chunk, shape.dk, shape.dv).map((p) => [p.name, p]),
      );
      const run = (
        preset: string,
        layer: ReturnType<typeof chunkLayers>[number],
        c: ReturnType<typeof randomChunk>,
      ) => {
        const { a, b } = chunkOperands(layer.product, c.shape, c.input, chunkValues(c.shape, c.input));
        const replay = createLayerReplay(layer.spec, PRESETS[preset]!, {
          bOperand: 'rhs',
          delta: false,
          baseline: false,
        });
        replay.step({ aMask: packMask(a), bMask: packMask(b), keyFrame: true });
        return replay.report();
      };
      for (const layer of chunkLayers('x_', shape)) {
        const macs = chunkProductMacs(products.get(layer.product)!, shape.chunk);
        for (const preset of ['sparten-like', 'eyeriss-like', 'neuronflow-like', 'scalesim-default']) {
          const r = run(preset, layer, { shape, input, v: new Float64Array() });
          const skipped = Object.values(r.skippedMacs).reduce((x, y) => x + y, 0);
          expect(r.macs).toBe(macs.dense * shape.heads);
          expect(r.executedMacs + skipped).toBe(r.macs);
        }
        // With every operand entry non-zero, a skipping array executes exactly the needed MACs.
        expect(run('sparten-like', layer, full).executedMacs).toBe(macs.needed * shape.heads);
        for (const preset of ['scalesim-default', 'tpu-v1-like']) {
          const one = run(preset, layer, { shape, input, v: new Float64Array() });
          const two = run(preset, layer, other);
          expect(one.cycles).toBe(two.cycles);
          expect(one.executedMacs).toBe(one.macs);
        }
      }
    },
  );
});
