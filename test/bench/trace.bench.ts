/**
 * Trace reading: throughput of reading every tensor (values + masks, CRC-checked, NaN-checked) of a
 * ~200 MB trace through `openTrace` vs a plain sequential read of the same file, in the same run
 * (goal ≥ 0.5); and peak RSS of a child process reading that trace vs one 10x longer (goal: within
 * 20 %). Trace files go to os.tmpdir() and are deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrng } from '../../src/common/prng.js';
import type { TraceManifest } from '../../src/trace/manifest.js';
import { openTrace } from '../../src/trace/reader.js';
import { createTraceWriter } from '../../src/trace/writer.js';
import { measure, median, printTable } from './harness.js';

const ROWS = 256;
const COLS = 1024; // one step tensor: 256 × 1024 f32 = 1 MiB
const BASE_STEPS = 100; // input + delta per step → ~200 MiB

const manifest: Omit<TraceManifest, 'steps'> = {
  format: 'deltasim-trace',
  version: 1,
  producer: 'deltasim trace.bench',
  model: { name: 'bench-dense', family: 'bench' },
  seed: 1,
  layers: [
    {
      name: 'fc',
      op: 'dense',
      inputShape: [ROWS, COLS],
      outputShape: [ROWS, 256],
      operandShape: [COLS, 256],
      gemm: { m: ROWS, n: 256, k: COLS },
      gemmCount: 1,
      roles: ['input', 'delta', 'weight'],
    },
  ],
};

async function writeBenchTrace(path: string, steps: number): Promise<number> {
  const prng = createPrng(42);
  // A few distinct sparse tensors, cycled: generating 2 GB of random numbers would dominate the run.
  const pool = Array.from({ length: 4 }, () => {
    const a = new Float32Array(ROWS * COLS);
    for (let i = 0; i < a.length; i++) a[i] = prng.next() < 0.5 ? 0 : prng.next() - 0.5;
    return a;
  });
  const writer = await createTraceWriter(path, { manifest });
  await writer.writeStatic('fc', 'weight', pool[0]!.subarray(0, COLS * 256), [COLS, 256]);
  for (let index = 0; index < steps; index++) {
    await writer.writeStep({ index, sequence: 0, position: index, keyFrame: index === 0 }, [
      { layer: 'fc', role: 'input', values: pool[index % 4]!, shape: [ROWS, COLS] },
      { layer: 'fc', role: 'delta', values: pool[(index + 1) % 4]!, shape: [ROWS, COLS] },
    ]);
  }
  const { bytes } = await writer.finish();
  return bytes;
}

async function plainRead(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafeSlow(8 * 2 ** 20);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return total;
}

async function readWholeTrace(path: string, verifyChecksums = true): Promise<number> {
  const reader = await openTrace(path, { verifyChecksums });
  let total = 0;
  try {
    for (const info of reader.tensors()) {
      if (info.name.endsWith('#mask')) continue;
      total += (await reader.readValues(info.name)).byteLength;
      total += (await reader.readMask(info.name)).byteLength;
    }
  } finally {
    await reader.close();
  }
  return total;
}

/** Peak RSS (KiB) of a fresh process that opens `path` and reads every tensor once. */
function childPeakRssKib(path: string): number {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = [
    `import { openTrace } from ${JSON.stringify(join(root, 'src/trace/reader.ts'))};`,
    `const r = await openTrace(${JSON.stringify(path)});`,
    'for (const t of r.tensors()) { if (!t.name.endsWith("#mask")) { await r.readValues(t.name); await r.readMask(t.name); } }',
    'await r.close();',
    'console.log(process.resourceUsage().maxRSS);',
  ].join('\n');
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return Number(result.stdout.trim());
}

export default async function (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'deltasim-trace-bench-'));
  try {
    const base = join(dir, 'base.safetensors');
    const long = join(dir, 'long.safetensors');
    const baseBytes = await writeBenchTrace(base, BASE_STEPS);
    const fileBytes = (await stat(base)).size;

    const plain = await measure('plain sequential fs read (8 MiB chunks)', () => plainRead(base), {
      iterations: 7,
      unitsPerRun: fileBytes,
      unit: 'B',
    });
    const traced = await measure(
      'openTrace + readValues/readMask of every tensor',
      () => readWholeTrace(base),
      {
        iterations: 7,
        unitsPerRun: fileBytes,
        unit: 'B',
      },
    );

    const unverified = await measure(
      'same, verifyChecksums: false (NaN/Inf check kept)',
      () => readWholeTrace(base, false),
      { iterations: 7, unitsPerRun: fileBytes, unit: 'B' },
    );

    const writeStart = performance.now();
    const longBytes = await writeBenchTrace(long, BASE_STEPS * 10);
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const rssBase = median([childPeakRssKib(base), childPeakRssKib(base), childPeakRssKib(base)]);
    const rssLong = median([childPeakRssKib(long), childPeakRssKib(long), childPeakRssKib(long)]);

    printTable(
      `trace read throughput (${(fileBytes / 2 ** 20).toFixed(0)} MiB trace, ${BASE_STEPS} steps)`,
      [plain, traced, unverified],
      [
        `ratio trace reader / plain read (throughput): ${(plain.medianMs / traced.medianMs).toFixed(2)} with CRC checks, ` +
          `${(plain.medianMs / unverified.medianMs).toFixed(2)} without (goal ≥ 0.5)`,
        `peak RSS reading the ${(baseBytes / 2 ** 20).toFixed(0)} MiB trace: ${(rssBase / 1024).toFixed(1)} MiB; ` +
          `the ${(longBytes / 2 ** 20).toFixed(0)} MiB trace (${BASE_STEPS * 10} steps, sharded): ${(rssLong / 1024).toFixed(1)} MiB; ` +
          `ratio ${(rssLong / rssBase).toFixed(3)} (goal ≤ 1.2)`,
        `writing the long trace took ${writeSeconds.toFixed(1)} s (${(longBytes / 2 ** 20 / writeSeconds).toFixed(0)} MiB/s incl. header assembly copy)`,
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
