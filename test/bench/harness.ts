/**
 * Benchmark helpers shared by every `*.bench.ts`: medians over repeated runs, measured side by side
 * in one process so ratios compare like with like. Speed goals live here, never in tests.
 */
import { performance } from 'node:perf_hooks';

export interface Measurement {
  readonly name: string;
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  /** Work units per run (MACs, bytes, samples…), for throughput. */
  readonly unitsPerRun?: number;
  readonly unit?: string;
}

export interface MeasureOptions {
  readonly iterations?: number;
  readonly warmup?: number;
  readonly unitsPerRun?: number;
  readonly unit?: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measure(
  name: string,
  run: () => unknown | Promise<unknown>,
  options: MeasureOptions = {},
): Promise<Measurement> {
  const { iterations = 7, warmup = 1 } = options;
  for (let i = 0; i < warmup; i++) await run();
  const samplesMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await run();
    samplesMs.push(performance.now() - start);
  }
  return {
    name,
    samplesMs,
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    ...(options.unitsPerRun !== undefined ? { unitsPerRun: options.unitsPerRun } : {}),
    ...(options.unit !== undefined ? { unit: options.unit } : {}),
  };
}

export function formatThroughput(m: Measurement): string {
  if (!m.unitsPerRun || !m.unit) return '';
  const perSecond = m.unitsPerRun / (m.medianMs / 1000);
  return `${perSecond.toExponential(2)} ${m.unit}/s`;
}

/** Prints one aligned table: name, median, min, runs, throughput. */
export function printTable(title: string, rows: readonly Measurement[], notes: readonly string[] = []): void {
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  console.log(`\n## ${title}`);
  console.log(
    `${'case'.padEnd(width)}  ${'median ms'.padStart(11)}  ${'min ms'.padStart(10)}  runs  throughput`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${r.medianMs.toFixed(2).padStart(11)}  ${r.minMs.toFixed(2).padStart(10)}  ${String(r.samplesMs.length).padStart(4)}  ${formatThroughput(r)}`,
    );
  }
  for (const note of notes) console.log(note);
}
