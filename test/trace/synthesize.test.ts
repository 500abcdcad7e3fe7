import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TraceLayer, tensorName } from '../../src/trace/manifest.js';
import { openTrace } from '../../src/trace/reader.js';
import { synthesizeTrace } from '../../src/trace/synthesize.js';

const dir = mkdtempSync(join(tmpdir(), 'deltasim-synth-'));

/** A 1×1 conv: input [4, 4, C], weight [1, 1, C, N] (channels large enough for stable densities). */
function pointwise(name: string, c: number, n: number): TraceLayer {
  return {
    name,
    op: 'conv2d',
    inputShape: [4, 4, c],
    outputShape: [4, 4, n],
    operandShape: [1, 1, c, n],
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    gemm: { m: 16, n, k: c },
    gemmCount: 1,
    roles: ['input', 'delta', 'weight'],
  };
}

const density = (values: Float32Array): number =>
  values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) / values.length;

describe('synthetic trace controls', () => {
  it('per-layer densities override the global one, per role', async () => {
    const path = join(dir, 'layers.safetensors');
    await synthesizeTrace(path, {
      shape: 'small',
      layers: [pointwise('a', 256, 64), pointwise('b', 256, 64)],
      density: 0.5,
      layerDensities: { a: { input: 0.1, weight: 0.9 } },
      steps: 1,
      seed: 4,
    });
    const trace = await openTrace(path);
    expect(density(await trace.readValues(tensorName('a', 'input', 0)))).toBeCloseTo(0.1, 1);
    expect(density(await trace.readValues(tensorName('a', 'weight')))).toBeCloseTo(0.9, 1);
    expect(density(await trace.readValues(tensorName('b', 'input', 0)))).toBeCloseTo(0.5, 1);
    expect(density(await trace.readValues(tensorName('b', 'weight')))).toBeCloseTo(0.5, 1);
    await trace.close();
  });

  it('temporal sparsity s leaves the fraction s of Δ zero on non-key steps; deltas add up to inputs', async () => {
    const path = join(dir, 'temporal.safetensors');
    await synthesizeTrace(path, {
      shape: 'small',
      layers: [pointwise('a', 512, 8)],
      density: 0.5,
      temporalSparsity: 0.8,
      steps: 3,
      seed: 5,
    });
    const trace = await openTrace(path);
    expect(density(await trace.readValues(tensorName('a', 'delta', 0)))).toBeCloseTo(0.5, 1);
    for (const step of [1, 2]) {
      const delta = await trace.readValues(tensorName('a', 'delta', step));
      expect(density(delta)).toBeCloseTo(0.2, 1);
      const q0 = await trace.readValues(tensorName('a', 'input', step - 1));
      const q1 = await trace.readValues(tensorName('a', 'input', step));
      for (let i = 0; i < q1.length; i++) expect(q1[i]).toBe(q0[i]! + delta[i]!);
    }
    await trace.close();
  });

  it('correlated channel spread makes both-non-zero pairs more frequent than i.i.d. masks at the same mean', async () => {
    const pairs = async (
      correlated: boolean | undefined,
    ): Promise<{ both: number; dI: number; dW: number }> => {
      const path = join(dir, `spread-${correlated}.safetensors`);
      await synthesizeTrace(path, {
        shape: 'small',
        layers: [pointwise('a', 2048, 16)],
        density: 0.5,
        ...(correlated === undefined ? {} : { channelSpread: { input: 0.9, weight: 0.9, correlated } }),
        steps: 1,
        seed: 6,
      });
      const trace = await openTrace(path);
      const q = await trace.readValues(tensorName('a', 'input', 0));
      const w = await trace.readValues(tensorName('a', 'weight'));
      await trace.close();
      // Pairs (pixel, c) × (c, n) both non-zero, over all pixels, channels and filters.
      let both = 0;
      for (let p = 0; p < 16; p++)
        for (let c = 0; c < 2048; c++) {
          if (q[p * 2048 + c] === 0) continue;
          for (let n = 0; n < 16; n++) if (w[c * 16 + n] !== 0) both++;
        }
      return { both: both / (16 * 2048 * 16), dI: density(q), dW: density(w) };
    };
    const iid = await pairs(undefined);
    const correlated = await pairs(true);
    const independent = await pairs(false);
    for (const r of [iid, correlated, independent]) {
      expect(r.dI).toBeCloseTo(0.5, 1);
      expect(r.dW).toBeCloseTo(0.5, 1);
    }
    // E[both] = dI·dW·(1 + a²/3) with a = 0.9 when correlated: 0.25 · 1.27.
    expect(iid.both).toBeCloseTo(0.25, 1);
    expect(independent.both).toBeCloseTo(0.25, 1);
    expect(correlated.both / iid.both).toBeGreaterThan(1.15);
  });

  it('same seed, same bytes; a trace without the new controls is unchanged by them being absent', async () => {
    const a = join(dir, 'same-a.safetensors');
    const b = join(dir, 'same-b.safetensors');
    const options = {
      shape: 'small' as const,
      density: 0.4,
      steps: 2,
      seed: 9,
      channelSpread: { input: 0.5, weight: 0.5, correlated: true },
    };
    await synthesizeTrace(a, options);
    await synthesizeTrace(b, options);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('exact counts give every tensor exactly round(d · n) non-zeros', async () => {
    const path = join(dir, 'exact.safetensors');
    await synthesizeTrace(path, {
      shape: 'small',
      layers: [pointwise('a', 100, 7)],
      density: 0.37,
      exactCounts: true,
      steps: 2,
      seed: 8,
    });
    const trace = await openTrace(path);
    const count = (v: Float32Array) => v.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
    expect(count(await trace.readValues(tensorName('a', 'weight')))).toBe(Math.round(0.37 * 700));
    expect(count(await trace.readValues(tensorName('a', 'input', 0)))).toBe(Math.round(0.37 * 1600));
    await trace.close();
  });

  it('refuses out-of-range controls naming the field', async () => {
    const path = join(dir, 'bad.safetensors');
    await expect(
      synthesizeTrace(path, { shape: 'small', density: 0.5, steps: 1, seed: 1, temporalSparsity: 1.5 }),
    ).rejects.toThrow(/temporalSparsity/);
    await expect(
      synthesizeTrace(path, {
        shape: 'small',
        density: 0.5,
        steps: 1,
        seed: 1,
        layerDensities: { fc: { weight: -1 } },
      }),
    ).rejects.toThrow(/layerDensities\.fc\.weight/);
  });
});
