import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report.js';
import { chunkProductMacs, chunkProducts } from '../../src/trace/chunk-schedule.js';
import { lastJsonLine, runBuiltCli, stderrLines } from './built-cli.js';

const TRACE = 'traces/deltanet-mqar.safetensors';
const PRESETS = ['scalesim-default', 'eyeriss-like', 'tpu-v1-like', 'sparten-like', 'neuronflow-like'];

describe('deltasim replay --schedule (built CLI, fresh processes)', () => {
  it('chunkwise --verify passes on every preset; chunk layers replace the state products with the documented MACs', async () => {
    const args = ['replay', TRACE, ...PRESETS.flatMap((p) => ['--preset', p]), '--schedule', 'chunkwise'];
    const r = await runBuiltCli([...args, '--verify', '--json', '--ui', 'plain', '--workers', '2'], {
      timeoutMs: 900_000,
    });
    expect(stderrLines(r.stderr)).toEqual([
      'deltasim: verify: every layer matches the dense product (5 runs)',
    ]);
    expect(r.code).toBe(0);
    const { runs } = lastJsonLine(r.stdout) as { runs: Report[] };
    expect(runs.map((run) => run.hardware.name)).toEqual(PRESETS);
    // The bundled model (models/deltanet-mqar-128x16): 1 block, 1 head, d_k = d_v = 28, C = 8, one
    // 128-token sequence → 16 chunks.
    const [heads, dk, chunk, chunks] = [1, 28, 8, 16];
    const products = chunkProducts('delta', chunk, dk, dk);
    for (const run of runs) {
      const names = run.layers.map((l) => l.name);
      expect(names.some((n) => /_(retrieve|update|readout)$/.test(n))).toBe(false);
      for (const block of [0]) {
        for (const p of products) {
          const layer = run.layers.find((l) => l.name === `block${block}_chunk_${p.name}`)!;
          expect(layer.macs).toBe(chunkProductMacs(p, chunk).dense * heads * chunks);
          const skipped = Object.values(layer.skippedMacs).reduce((a, b) => a + b, 0);
          expect(layer.executedMacs + skipped).toBe(layer.macs);
          if (run.hardware.name === 'scalesim-default' || run.hardware.name === 'tpu-v1-like')
            expect(layer.executedMacs).toBe(layer.macs);
        }
      }
    }
  }, 900_000);

  it('the default schedule is recurrent: --schedule recurrent prints the same bytes as no flag', async () => {
    const args = ['replay', TRACE, '--preset', 'sparten-like', '--json', '--ui', 'plain'];
    const [plain, recurrent] = await Promise.all([
      runBuiltCli(args, { timeoutMs: 600_000 }),
      runBuiltCli([...args, '--schedule', 'recurrent'], { timeoutMs: 600_000 }),
    ]);
    expect(plain.code).toBe(0);
    expect(recurrent.stdout).toBe(plain.stdout);
    expect((lastJsonLine(plain.stdout) as Report).layers.some((l) => l.name === 'block0_retrieve')).toBe(
      true,
    );
  }, 600_000);

  it('bad input: a trace without chunkwise metadata, an unknown schedule, a synthetic trace: one line, exit 2, no output', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['replay', 'traces/iformer-mnist.safetensors', '--schedule', 'chunkwise', '--json'],
        /^deltasim: .*traces\/iformer-mnist\.safetensors.*manifest\.chunkwise.*absent/,
      ],
      [['replay', TRACE, '--schedule', 'blocked'], /^deltasim: .*--schedule.*unknown schedule "blocked"/],
      [['replay', '--synthetic', 'small:0.5:2', '--schedule', 'chunkwise'], /^deltasim: .*--synthetic/],
    ];
    for (const [args, message] of cases) {
      const r = await runBuiltCli(args, { timeoutMs: 120_000 });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = stderrLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  }, 300_000);
});
