/**
 * Replay throughput (simulated MACs/s) on a ResNet-18-sized synthetic trace at 50 % random
 * two-sided sparsity, against a straightforward per-MAC loop over the same masks; the time to read
 * the masks alone; peak RSS of a 1-step vs a 10-step trace. `npm run bench replay`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPARTEN_LIKE } from '../../src/core/presets.js';
import { isMacOp, lowerSparseLayer } from '../../src/core/sparse/layer-lowering.js';
import { replayTrace } from '../../src/replay/replay-trace.js';
import { tensorName } from '../../src/trace/manifest.js';
import { openTrace, type TraceReader } from '../../src/trace/reader.js';
import { synthesizeTrace } from '../../src/trace/synthesize.js';
import { measure, printTable } from './harness.js';

/** The per-MAC loop: for every (m, n, k) test both mask bits (two-sided skipping, OS, element). */
function perMacExecuted(reader: TraceReader, layerName: string, a: Uint8Array, b: Uint8Array): number {
  const layer = reader.manifest.layers.find((l) => l.name === layerName)!;
  const low = lowerSparseLayer(layer, 'weight');
  const { m: M, n: N, k: K } = low.gemm;
  const { aIndex, aInstanceStride, bInstanceStride, bRowStride, bColStride } = low;
  let executed = 0;
  for (let i = 0; i < low.instances; i++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let lane = 0;
        for (let k = 0; k < K; k++) {
          const idx = aIndex[m * K + k]!;
          if (idx < 0) continue;
          const ai = i * aInstanceStride + idx;
          const bi = i * bInstanceStride + k * bRowStride + n * bColStride;
          if ((a[ai >>> 3]! >> (ai & 7)) & 1 && (b[bi >>> 3]! >> (bi & 7)) & 1) lane++;
        }
        executed += lane;
      }
    }
  }
  return executed;
}

async function readAllMasks(path: string): Promise<number> {
  const reader = await openTrace(path);
  let bytes = 0;
  for (const layer of reader.manifest.layers) {
    if (!isMacOp(layer.op)) continue;
    bytes += (await reader.readMask(tensorName(layer.name, 'weight'))).length;
    for (const step of reader.manifest.steps)
      bytes += (await reader.readMask(tensorName(layer.name, 'input', step.index))).length;
  }
  await reader.close();
  return bytes;
}

function peakRss(path: string): number {
  const child = fileURLToPath(new URL('./replay-rss-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, path], { encoding: 'utf8' });
  return Number(out.trim());
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-bench-replay-'));
  try {
    const one = join(dir, 'resnet18-1.safetensors');
    const ten = join(dir, 'resnet18-10.safetensors');
    const common = { shape: 'resnet18', density: 0.5, seed: 1, dtype: 'I8', deltas: false } as const;
    await synthesizeTrace(one, { ...common, steps: 1 });
    await synthesizeTrace(ten, { ...common, steps: 10 });

    const reader = await openTrace(one);
    const macs = reader.manifest.layers.reduce((s, l) => s + l.gemm.m * l.gemm.n * l.gemm.k * l.gemmCount, 0);
    const replay = await measure(
      'replay (sparten-like, masks read + timing + memory + energy)',
      () =>
        replayTrace(reader, {
          hardware: SPARTEN_LIKE,
          toolVersion: 'bench',
          verify: false,
          onEvent: () => {},
        }),
      { iterations: 5, unitsPerRun: macs, unit: 'MAC' },
    );
    const masks = await measure('read the masks alone', () => readAllMasks(one), { iterations: 5 });

    // The per-MAC loop on two layers (the whole network would take minutes): compared as a rate.
    const sample = ['layer2.0.downsample', 'layer4.1.conv2'];
    const loaded: { name: string; a: Uint8Array; b: Uint8Array }[] = [];
    let sampleMacs = 0;
    for (const name of sample) {
      const layer = reader.manifest.layers.find((l) => l.name === name)!;
      loaded.push({
        name,
        a: await reader.readMask(tensorName(name, 'input', 0)),
        b: await reader.readMask(tensorName(name, 'weight')),
      });
      sampleMacs += layer.gemm.m * layer.gemm.n * layer.gemm.k * layer.gemmCount;
    }
    const loop = await measure(
      `per-MAC loop, ${sample.length} layers (${(sampleMacs / 1e6).toFixed(0)} M MACs)`,
      () => {
        for (const l of loaded) perMacExecuted(reader, l.name, l.a, l.b);
      },
      { iterations: 3, warmup: 0, unitsPerRun: sampleMacs, unit: 'MAC' },
    );
    await reader.close();

    const rss1 = peakRss(one);
    const rss10 = peakRss(ten);
    const replayRate = macs / (replay.medianMs / 1000);
    const loopRate = sampleMacs / (loop.medianMs / 1000);
    printTable(
      'replay (ResNet-18, 1.81 G MACs/step, 50 % two-sided random sparsity)',
      [replay, masks, loop],
      [
        `replay vs per-MAC loop: ${(replayRate / loopRate).toFixed(1)}x (goal ≥ 20x); replay ${replayRate.toExponential(2)} MAC/s (goal ≥ 1e9)`,
        `replay / mask read: ${(replay.medianMs / masks.medianMs).toFixed(1)}x (goal ≤ 10x)`,
        `per-MAC loop measured on ${sample.join(', ')} and compared as a rate (extrapolated to the network: ${((macs / loopRate) * 1000).toFixed(0)} ms)`,
        `peak RSS: 1 step ${(rss1 / 2 ** 20).toFixed(0)} MiB, 10 steps ${(rss10 / 2 ** 20).toFixed(0)} MiB (ratio ${(rss10 / rss1).toFixed(2)})`,
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
