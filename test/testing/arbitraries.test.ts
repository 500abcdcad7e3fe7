import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { hardwareProblems } from '../../src/core/hardware.js';
import { lowerSparseLayer } from '../../src/core/sparse/layer-lowering.js';
import { nmKeptK, nmViolation } from '../../src/core/sparse/structured-weights.js';
import {
  arbitraryHardware,
  arbitraryLayer,
  arbitraryMask,
  arbitraryPattern,
  arbitraryPatternSequence,
  arbitraryTrace,
  type InMemoryTrace,
  keepsNmPattern,
  packMask,
  unpackMask,
  writeTrace,
} from '../../src/testing/index.js';
import { tensorName } from '../../src/trace/manifest.js';
import { validateTrace } from '../../src/trace/validate.js';

describe('hardware', () => {
  test.prop([arbitraryHardware()], { numRuns: 300 })('valid by construction', (hw) => {
    expect(hardwareProblems(hw)).toEqual([]);
  });

  it('shrinks toward a 1×1 array', () => {
    // A property every design breaks: the shrunk counterexample is the smallest design.
    const details = fc.check(
      fc.property(arbitraryHardware(), (_hw) => false),
      { seed: 3 },
    );
    const [hw] = details.counterexample!;
    expect(hw.array).toEqual({ rows: 1, cols: 1 });
    expect(hw.support).toEqual({ activations: 'none', weights: 'none', deltas: 'none' });
  });
});

describe('layers', () => {
  test.prop([arbitraryLayer()], { numRuns: 300 })(
    'lower without error to the operand sizes they state',
    (c) => {
      const low = lowerSparseLayer(c.spec, c.bOperand);
      expect(low.inputElements).toBe(c.aElements);
      expect(low.bElements).toBe(c.bElements);
    },
  );

  test.prop([arbitraryLayer({ kinds: ['depthwise'] })])('kinds restrict the ops drawn', (c) => {
    expect(c.spec.op).toBe('depthwise');
  });
});

describe('masks', () => {
  test.prop([
    fc.integer({ min: 1, max: 8 }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: 0, max: m }))),
  ])('n:m keeps exactly n non-zeros in every full group of m', ([m, n]) => {
    const pattern = fc.sample(arbitraryPattern(5 * m, { structure: { kind: 'n:m', n, m } }), 1)[0]!;
    for (let g = 0; g < 5; g++) expect(pattern.slice(g * m, (g + 1) * m).reduce((a, b) => a + b, 0)).toBe(n);
  });

  test.prop([
    fc.integer({ min: 1, max: 9 }),
    arbitraryPattern(60, { structure: { kind: 'block', blockSize: 4 } }),
  ])('block patterns are constant within each block', (_, pattern) => {
    for (let b = 0; b < 60; b += 4) expect(new Set(pattern.slice(b, b + 4)).size).toBe(1);
  });

  it('a density is honoured on average', () => {
    for (const density of [0, 0.25, 0.8, 1]) {
      const patterns = fc.sample(arbitraryPattern(1000, { density, structure: { kind: 'random' } }), {
        numRuns: 5,
        seed: 1,
      });
      const mean = patterns.reduce((s, p) => s + p.reduce((a, b) => a + b, 0), 0) / 5000;
      expect(Math.abs(mean - density)).toBeLessThan(0.03);
    }
  });

  it('per-channel structure gives channels different densities', () => {
    const [pattern] = fc.sample(
      arbitraryPattern(4000, { density: 0.5, structure: { kind: 'channel', channels: 8 } }),
      { numRuns: 1, seed: 2 },
    );
    const perChannel = Array.from(
      { length: 8 },
      (_, c) => pattern!.filter((_, i) => i % 8 === c).reduce((a, b) => a + b, 0) / 500,
    );
    expect(Math.max(...perChannel) - Math.min(...perChannel)).toBeGreaterThan(0.2);
  });

  test.prop([arbitraryMask(37)])('packed masks are numpy packbits (little) of the pattern', (mask) => {
    expect(mask.length).toBe(5);
    expect(mask[4]! >> 5).toBe(0);
    expect(unpackMask(mask, 37).every((b) => b === 0 || b === 1)).toBe(true);
  });

  test.prop([arbitraryPatternSequence(50, 4, { changeRate: 0 })])(
    'change rate 0: every step repeats step 0',
    (steps) => {
      for (const s of steps) expect([...s]).toEqual([...steps[0]!]);
    },
  );
});

describe('traces', () => {
  test.prop([arbitraryTrace()], { numRuns: 15 })('write as valid traces', async (trace) => {
    const dir = await mkdtemp(join(tmpdir(), 'deltasim-arb-'));
    try {
      const path = join(dir, 't.safetensors');
      await writeTrace(path, trace);
      expect(await validateTrace(path)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('N:M structured weights', () => {
  const nm = { n: 2, m: 4 };
  const weights = (trace: InMemoryTrace) =>
    trace.manifest.layers
      .filter((l) => l.roles.includes('weight'))
      .map((layer) => ({ layer, values: trace.tensors.get(tensorName(layer.name, 'weight'))!.values }));

  test.prop([arbitraryTrace({ weightNm: nm })], { numRuns: 40 })(
    "the kit's N:M rule and the engine's agree on which weights keep the pattern",
    (trace) => {
      for (const { layer, values } of weights(trace)) {
        const keeps = keepsNmPattern(
          layer,
          Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)),
          nm,
        );
        const violation = nmViolation(lowerSparseLayer(layer, 'weight'), packMask(values), nm);
        expect(violation === undefined).toBe(keeps);
      }
    },
  );

  it('draws weights on both paths: N:M structured, and random ones that break the pattern', () => {
    let kept = 0;
    let broken = 0;
    for (const trace of fc.sample(arbitraryTrace({ weightNm: nm }), { numRuns: 200, seed: 5 }))
      for (const { layer, values } of weights(trace)) {
        if (
          keepsNmPattern(
            layer,
            Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)),
            nm,
          )
        )
          kept++;
        else broken++;
      }
    expect(kept).toBeGreaterThan(broken);
    expect(broken).toBeGreaterThan(0);
  });

  it('a group shorter than N keeps all its slots: K = 1 runs 1 MAC, K = 6 under 2:4 runs 4', () => {
    expect(nmKeptK(1, nm)).toBe(1);
    expect(nmKeptK(6, nm)).toBe(4);
    expect(nmKeptK(7, nm)).toBe(4);
    expect(nmKeptK(8, nm)).toBe(4);
    expect(nmKeptK(5, { n: 1, m: 4 })).toBe(2);
  });
});
