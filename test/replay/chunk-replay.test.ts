import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChunkLayerName } from '../../src/core/chunk-layers.js';
import { PRESETS } from '../../src/core/presets.js';
import type { LayerReport } from '../../src/core/report.js';
import type { SparseLayerSpec } from '../../src/core/sparse/layer-lowering.js';
import {
  chunkCheckSummary,
  replayTraceChunkwise,
  traceChunkOperands,
} from '../../src/replay/chunk-replay.js';
import { chunkProductMacs, chunkProducts } from '../../src/trace/chunk-schedule.js';
import { openTrace } from '../../src/trace/reader.js';
import { TraceError } from '../../src/trace/trace-error.js';
import { REPO_ROOT } from '../repo-files.js';

const TRACE = resolve(REPO_ROOT, 'traces/deltanet-mqar.safetensors');

/**
 * Brute force over one chunk layer's operands (C = chunk): `kept` counts the MACs (i, m, n, k) the
 * schedule needs — written out per product from its definition, not from the layer's lowering —
 * and `nonzero` those whose two operand entries are both non-zero.
 */
function bruteForce(
  product: ChunkLayerName,
  spec: SparseLayerSpec,
  chunk: number,
  a: Float32Array,
  b: Float32Array,
) {
  const { m: M, n: N, k: K } = spec.gemm;
  const needed = (i: number, m: number, n: number, k: number): boolean => {
    switch (product) {
      case 'kkt':
        return n >= 1 && n <= m; // column n holds key n − 1: strictly lower
      case 'solve':
        return k < i % chunk; // instance = row of the substitution: only finished rows
      case 'qkt':
        return n <= m;
      case 'intra':
        return k <= m;
      default:
        return true;
    }
  };
  let kept = 0;
  let nonzero = 0;
  for (let i = 0; i < spec.gemmCount; i++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          if (!needed(i, m, n, k)) continue;
          kept++;
          if (a[i * M * K + m * K + k]! !== 0 && b[i * K * N + k * N + n]! !== 0) nonzero++;
        }
  return { kept, nonzero };
}

describe('replay --schedule chunkwise on the bundled DeltaNet trace', () => {
  it('MAC counts: the formula per chunk and head = a brute-force count; sparten-like executes exactly the non-zero pairs', async () => {
    const reader = await openTrace(TRACE);
    try {
      const schedule = reader.manifest.chunkwise!;
      expect(schedule.chunk).toBe(8); // the bundled model's --chunk (models/deltanet-mqar-128x16/card.json)
      const tokens = reader.manifest.steps.length;
      const run = async (preset: string) => {
        const result = await replayTraceChunkwise(reader, {
          hardware: PRESETS[preset]!,
          toolVersion: 'test',
          verify: false,
          onEvent: () => {},
        });
        return new Map(result.report.layers.map((l) => [l.name, l]));
      };
      // A dense array executing every MAC is the property test's (test/core/chunk-layers.test.ts).
      const sparse = await run('sparten-like');
      for (const [b, block] of schedule.blocks.entries()) {
        const totals = new Map<string, { kept: number; nonzero: number; chunks: number }>();
        for await (const layers of traceChunkOperands(reader, b)) {
          for (const { layer, a, b: bOperand } of layers) {
            const count = bruteForce(layer.product, layer.spec, schedule.chunk, a, bOperand);
            const t = totals.get(layer.spec.name) ?? { kept: 0, nonzero: 0, chunks: 0 };
            totals.set(layer.spec.name, {
              kept: t.kept + count.kept,
              nonzero: t.nonzero + count.nonzero,
              chunks: t.chunks + 1,
            });
          }
        }
        const products = chunkProducts(block.rule, schedule.chunk, block.dk, block.dv);
        expect(totals.size).toBe(products.length);
        for (const p of products) {
          const name = `block${b}_chunk_${p.name}`;
          const t = totals.get(name)!;
          const formula = chunkProductMacs(p, schedule.chunk);
          expect(t.chunks).toBe(Math.ceil(tokens / schedule.chunk)); // one recorded sequence
          expect(t.kept).toBe(formula.needed * block.heads * t.chunks);
          const s = sparse.get(name) as LayerReport;
          expect(s.macs).toBe(formula.dense * block.heads * t.chunks);
          expect(s.executedMacs).toBe(t.nonzero);
        }
      }
      // The layers the schedule replaces are gone; every other layer is the recurrent replay's.
      expect([...sparse.keys()].some((n) => /_(retrieve|update|readout)$/.test(n))).toBe(false);
      expect(sparse.has('block0_wq') && sparse.has('lm_head')).toBe(true);
    } finally {
      await reader.close();
    }
  }, 300_000);

  it('the chunked products reproduce the recorded u, readouts and states within the stated tolerance', async () => {
    const reader = await openTrace(TRACE);
    try {
      const checks = await chunkCheckSummary(reader);
      expect(checks).toHaveLength(3 * reader.manifest.chunkwise!.blocks.length); // per block: U′, O, S
      for (const c of checks) {
        expect(c.compared).toBeGreaterThan(0);
        expect(c.mismatches).toBe(0);
        expect(c.maxRelativeError).toBeGreaterThan(0); // F16 storage: not bit-exact, so the check is live
      }
    } finally {
      await reader.close();
    }
  }, 120_000);

  it('a trace without chunkwise metadata is refused naming the file and field', async () => {
    const reader = await openTrace(resolve(REPO_ROOT, 'traces/iformer-mnist.safetensors'));
    try {
      const run = replayTraceChunkwise(reader, {
        hardware: PRESETS['sparten-like']!,
        toolVersion: 'test',
        verify: false,
        onEvent: () => {},
      });
      await expect(run).rejects.toThrow(TraceError);
      await expect(
        replayTraceChunkwise(reader, {
          hardware: PRESETS['sparten-like']!,
          toolVersion: 't',
          verify: false,
          onEvent: () => {},
        }),
      ).rejects.toThrow(/iformer-mnist\.safetensors.*manifest\.chunkwise/);
    } finally {
      await reader.close();
    }
  });
});
