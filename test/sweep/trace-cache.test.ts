import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HardwareModel } from '../../src/core/hardware.js';
import { PRESETS } from '../../src/core/presets.js';
import type { Report } from '../../src/core/report.js';
import { driveReplays, syntheticTraceOptions } from '../../src/replay/replay-driver.js';
import { evaluatePoint, type PointTask } from '../../src/sweep/evaluate-point.js';
import { tensorName } from '../../src/trace/manifest.js';
import { parseSyntheticSpec, synthesizeTrace } from '../../src/trace/synthesize.js';
import { tempDir } from './sweep-helpers.js';

const base = PRESETS['sparten-like']!;
const designs: HardwareModel[] = [
  base,
  { ...base, name: 'small', array: { rows: 8, cols: 8 }, dataflow: 'ws' },
  { ...base, name: 'wide', array: { rows: 16, cols: 64 } },
];

const task = (path: string, hardware: HardwareModel): PointTask => ({
  hardware,
  workload: { kind: 'trace', path, label: 'trace', gemm: false },
  toolVersion: 'test',
});

/** What `replay` reports for the trace at `path` on `hardware`, opened and checked afresh. */
async function freshReport(path: string, hardware: HardwareModel): Promise<Report> {
  let report: Report | undefined;
  await driveReplays(
    {
      traces: [{ path, label: 'trace' }],
      hardware: [hardware],
      verify: false,
      toolVersion: 'test',
      histogramBins: 0,
    },
    {
      onEvent: (event) => {
        if (event.type === 'run-done') report = event.report;
      },
    },
  );
  return report!;
}

async function synth(path: string, seed: number): Promise<void> {
  await synthesizeTrace(path, syntheticTraceOptions(parseSyntheticSpec('small:0.5:3'), seed));
}

describe('per-thread trace cache (sweep designs on one trace)', () => {
  it('every design, first or later on the kept trace, gets the figures of a fresh replay', async () => {
    const path = join(tempDir(), 't.safetensors');
    await synth(path, 1);
    for (let round = 0; round < 2; round++) {
      for (const hw of designs) {
        const metrics = await evaluatePoint(task(path, hw));
        const { total } = await freshReport(path, hw);
        expect(metrics.cycles).toBe(total.cycles);
        expect(metrics.energyPj).toBe(total.energyPj.total);
        expect(metrics.dramBytes).toBe(total.dramBytes);
      }
    }
  });

  it('a trace replaced by a rename, or rewritten in place with the same size, is read afresh', async () => {
    const dir = tempDir();
    const path = join(dir, 't.safetensors');
    const other = join(dir, 'other.safetensors');
    await synth(path, 1);
    await synth(other, 2);
    expect(statSync(other).size).toBe(statSync(path).size);
    const first = await evaluatePoint(task(path, base));
    const expected = (await freshReport(other, base)).total.cycles;
    expect(expected).not.toBe(first.cycles);
    // In place: same inode, same size, other bytes.
    writeFileSync(path, readFileSync(other));
    expect((await evaluatePoint(task(path, base))).cycles).toBe(expected);
    // Back to the first trace by a rename over it.
    const again = join(dir, 'again.safetensors');
    await synth(again, 1);
    renameSync(again, path);
    expect((await evaluatePoint(task(path, base))).cycles).toBe(first.cycles);
  });

  it('a trace corrupted after it was kept fails its checks instead of serving the kept masks', async () => {
    const dir = tempDir();
    const path = join(dir, 't.safetensors');
    await synth(path, 1);
    await evaluatePoint(task(path, base));
    const bytes = readFileSync(path);
    // A byte of the first layer's weight, which every replay checks: its checksum no longer holds.
    const headerBytes = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerBytes).toString()) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    const at = 8 + headerBytes + header[tensorName('conv', 'weight')]!.data_offsets[0];
    bytes[at] = bytes[at]! ^ 0x40;
    writeFileSync(path, bytes);
    for (let design = 0; design < 2; design++)
      await expect(evaluatePoint(task(path, base))).rejects.toThrow(/"L\/conv\/weight": CRC-32 mismatch/);
  });
});
