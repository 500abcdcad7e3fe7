/**
 * Verify against the stored precision: the storage-error bounds hold for F16 and I8 rounding, our
 * own lossy recordings (Δ and q stored separately, each rounded) pass delta-mode verification, and a
 * needed MAC the schedule drops still fails it.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import { SPARTEN_LIKE } from '../../../src/core/presets.js';
import { createLayerReplay } from '../../../src/core/replay-engine.js';
import type { SparseLayerSpec } from '../../../src/core/sparse/layer-lowering.js';
import { type StoredPrecision, storageErrorBound } from '../../../src/core/sparse/verify.js';
import { packMask } from '../../../src/testing/index.js';
import { decodeFloat16, encodeFloat16 } from '../../../src/trace/float16.js';

/** The trace writer's I8 rule: scale max|x|/127, round half away from zero, decode q × scale in f32. */
function int8(values: Float32Array): { stored: Float32Array; scale: number } {
  const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
  const stored = Float32Array.from(values, (v) =>
    scale === 0 ? 0 : Math.sign(v) * Math.min(127, Math.floor(Math.abs(v / scale) + 0.5)) * scale,
  );
  return { stored, scale };
}

const f16 = (values: Float32Array): Float32Array => decodeFloat16(encodeFloat16(values));

const valuesArb = fc.float32Array({
  noNaN: true,
  noDefaultInfinity: true,
  min: -60000,
  max: 60000,
  minLength: 1,
});

describe('storage error bounds', () => {
  test.prop([valuesArb])('F16: the computed value lies within the bound of its stored value', (values) => {
    const stored = f16(values);
    const bound = storageErrorBound(stored, { kind: 'f16' });
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs(values[i]! - stored[i]!)).toBeLessThanOrEqual(bound[i]!);
    }
  });

  test.prop([valuesArb])('I8: the computed value lies within scale/2 of its stored value', (values) => {
    const { stored, scale } = int8(values);
    const bound = storageErrorBound(stored, { kind: 'int8', scale });
    // f32 decoding of q × scale adds at most half an f32 ulp: within 1e-6 relative.
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs(values[i]! - stored[i]!)).toBeLessThanOrEqual(bound[i]! * (1 + 1e-6) + 1e-30);
    }
  });

  it('F16 bounds are half a spacing, not more: 1 → 2^-11, 1000 → 0.25, 0 → 2^-25', () => {
    expect([...storageErrorBound(Float32Array.of(1, 1000, 0), { kind: 'f16' })]).toEqual([
      2 ** -11,
      0.25,
      2 ** -25,
    ]);
  });
});

const LAYER: SparseLayerSpec = {
  name: 'fc',
  op: 'dense',
  inputShape: [4, 8],
  operandShape: [8, 6],
  gemm: { m: 4, n: 6, k: 8 },
  gemmCount: 1,
};

/** A DAL-like input that changes in a few places per step, and its Δ, each stored at `precision`. */
function lossySteps(seed: number, steps: number, precision: StoredPrecision['kind']) {
  const prng = createPrng(seed);
  let previous = new Float32Array(32);
  const out = [];
  for (let t = 0; t < steps; t++) {
    const q = Float32Array.from(previous, (v) => (t === 0 || prng.next() < 0.4 ? prng.normal() * 3 : v));
    const delta = t === 0 ? q : Float32Array.from(q, (v, i) => v - previous[i]!);
    const store = (x: Float32Array) => {
      if (precision === 'f16') {
        const stored = f16(x);
        return { stored, error: storageErrorBound(stored, { kind: 'f16' }) };
      }
      const { stored, scale } = int8(x);
      return { stored, error: storageErrorBound(stored, { kind: 'int8', scale }) };
    };
    out.push({ q: store(q), delta: store(delta), keyFrame: t === 0 });
    previous = q;
  }
  return out;
}

describe('delta-mode verify on lossy traces', () => {
  const hw = { ...SPARTEN_LIKE, array: { rows: 4, cols: 4 }, deltaMode: true };
  const b = Float32Array.from({ length: 48 }, (_, i) => ((i * 7) % 11) / 5 - 1);

  /** Mismatches over all steps; `drop` clears one Δ mask bit (a needed MAC the schedule skips). */
  function run(
    precision: 'f16' | 'int8',
    withBounds: boolean,
    drop?: { step: number; element: number },
  ): number {
    const replay = createLayerReplay(LAYER, hw, { bOperand: 'weight', delta: true });
    let mismatches = 0;
    for (const [t, s] of lossySteps(11, 5, precision).entries()) {
      const aMask = packMask(s.delta.stored);
      if (drop && drop.step === t) aMask[drop.element >>> 3]! &= ~(1 << (drop.element & 7));
      const outcome = replay.step({
        aMask,
        bMask: packMask(b),
        keyFrame: s.keyFrame,
        values: {
          a: s.delta.stored,
          b,
          q: s.q.stored,
          ...(withBounds ? { aError: s.delta.error, qError: s.q.error } : {}),
        },
      });
      mismatches += outcome.verify?.mismatches ?? 0;
    }
    return mismatches;
  }

  for (const precision of ['f16', 'int8'] as const) {
    it(`${precision}: separately rounded Δ and q fail a plain comparison, pass against their stored precision`, () => {
      expect(run(precision, false)).toBeGreaterThan(0);
      expect(run(precision, true)).toBe(0);
    });

    it(`${precision}: a needed MAC the schedule drops still fails`, () => {
      // The largest Δ of step 2: its products exceed what the storage error can explain.
      const step = lossySteps(11, 5, precision)[2]!.delta.stored;
      let element = 0;
      for (let i = 1; i < step.length; i++) if (Math.abs(step[i]!) > Math.abs(step[element]!)) element = i;
      expect(Math.abs(step[element]!)).toBeGreaterThan(0);
      expect(run(precision, true, { step: 2, element })).toBeGreaterThan(0);
    });
  }
});
