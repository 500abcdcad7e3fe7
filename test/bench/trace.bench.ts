/**
 * Trace reading: throughput of reading every tensor (values + masks, CRC-checked, NaN-checked) of a
 * ~200 MB trace through `openTrace` vs a plain sequential read of the same file, in the same run
 * (goal ≥ 0.5), with the reader's default reads (a buffer of the caller's own per tensor) and with
 * `{ transient: true }` reads (recycled memory); and peak RSS of a child process reading that trace
 * vs one 10x longer (goal: within 20 %). The plain read runs twice, into a page-aligned buffer and
 * into a new Buffer (see pageAlignedBuffer), and the ratio is taken against the faster. The cases
 * run interleaved, round after round, so a change in machine load (this machine is shared) hits them
 * all alike; CPU time (all threads) is printed beside wall time. Trace files go to os.tmpdir() and
 * are deleted afterwards.
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
import { type Measurement, median, printTable } from './harness.js';

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

const PLAIN_CHUNK_BYTES = 8 * 2 ** 20;

/**
 * A page-aligned buffer for the plain read: WebAssembly memory starts on a page boundary, a malloc'd
 * Buffer usually 16 bytes past one — and on CPUs with 4K aliasing (this one) the kernel's copy into
 * a destination 8–24 bytes past the source modulo 4096 runs ~4x slower, so a Buffer baseline swings
 * between ~2 and ~8 GB/s with where malloc put it. The aligned read is the fast, stable baseline.
 */
function pageAlignedBuffer(bytes: number): Uint8Array {
  // `WebAssembly` is a Node global that lib ES2023 does not declare.
  const wasm = (
    globalThis as { WebAssembly?: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }
  ).WebAssembly;
  if (!wasm) throw new Error('no WebAssembly');
  return new Uint8Array(new wasm.Memory({ initial: Math.ceil(bytes / 65_536) }).buffer, 0, bytes);
}
const alignedPlainBuffer = pageAlignedBuffer(PLAIN_CHUNK_BYTES);

async function plainRead(path: string, aligned = true): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = aligned ? alignedPlainBuffer : Buffer.allocUnsafeSlow(PLAIN_CHUNK_BYTES);
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

async function readWholeTrace(path: string, verifyChecksums = true, transient = false): Promise<number> {
  const reader = await openTrace(path, { verifyChecksums });
  let total = 0;
  try {
    for (const info of reader.tensors()) {
      if (info.name.endsWith('#mask')) continue;
      total += (await reader.readValues(info.name, { transient })).byteLength;
      total += (await reader.readMask(info.name, { transient })).byteLength;
    }
  } finally {
    await reader.close();
  }
  return total;
}

/** The replay engine's hot path: every mask, layer by layer and step by step, no values. */
async function readMasksOnly(path: string): Promise<number> {
  const reader = await openTrace(path);
  let total = 0;
  try {
    for (const role of ['delta', 'input'] as const) {
      for (const step of reader.manifest.steps)
        total += (await reader.readMask(`S${step.index}/fc/${role}`)).length;
    }
  } finally {
    await reader.close();
  }
  return total;
}

interface Case {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  readonly bytes: number;
}

/** Runs the cases round-robin (`rounds` times after one warm-up round): wall and CPU medians per case. */
async function measureInterleaved(
  cases: readonly Case[],
  rounds: number,
): Promise<{ measurements: Measurement[]; cpuMedianMs: number[] }> {
  for (const c of cases) await c.run();
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of cases.entries()) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await c.run();
      wall[i]!.push(performance.now() - start);
      const used = process.cpuUsage(cpuStart);
      cpu[i]!.push((used.user + used.system) / 1000);
    }
  }
  return {
    measurements: cases.map((c, i) => ({
      name: c.name,
      samplesMs: wall[i]!,
      medianMs: median(wall[i]!),
      minMs: Math.min(...wall[i]!),
      unitsPerRun: c.bytes,
      unit: 'B',
    })),
    cpuMedianMs: cpu.map((samples) => median(samples)),
  };
}

/** Peak RSS (KiB) of a fresh process that opens `path` and reads every tensor once. */
function childPeakRssKib(path: string, transient = false): number {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = [
    `import { openTrace } from ${JSON.stringify(join(root, 'src/trace/reader.ts'))};`,
    `const r = await openTrace(${JSON.stringify(path)});`,
    `const o = { transient: ${transient} };`,
    'for (const t of r.tensors()) { if (!t.name.endsWith("#mask")) { await r.readValues(t.name, o); await r.readMask(t.name, o); } }',
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

    const maskBytes = await readMasksOnly(base);
    const { measurements, cpuMedianMs } = await measureInterleaved(
      [
        {
          name: 'plain sequential fs read (8 MiB chunks, page-aligned buffer)',
          run: () => plainRead(base),
          bytes: fileBytes,
        },
        {
          name: 'plain sequential fs read (8 MiB chunks, new Buffer)',
          run: () => plainRead(base, false),
          bytes: fileBytes,
        },
        {
          name: 'openTrace + readValues/readMask of every tensor',
          run: () => readWholeTrace(base),
          bytes: fileBytes,
        },
        {
          name: 'same, { transient: true } reads',
          run: () => readWholeTrace(base, true, true),
          bytes: fileBytes,
        },
        {
          name: 'same, verifyChecksums: false (NaN/Inf check kept)',
          run: () => readWholeTrace(base, false),
          bytes: fileBytes,
        },
        { name: 'readMask only, layer by layer (replay)', run: () => readMasksOnly(base), bytes: maskBytes },
      ],
      11,
    );
    const [plain, plainBuffer, traced, transient, unverified] = measurements as [
      Measurement,
      Measurement,
      Measurement,
      Measurement,
      Measurement,
    ];

    const plainBest = Math.min(plain.medianMs, plainBuffer.medianMs);

    const writeStart = performance.now();
    const longBytes = await writeBenchTrace(long, BASE_STEPS * 10);
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const rss = (path: string, transient: boolean) =>
      median([0, 1, 2].map(() => childPeakRssKib(path, transient)));
    const rssBase = rss(base, false);
    const rssLong = rss(long, false);
    const rssBaseTransient = rss(base, true);
    const rssLongTransient = rss(long, true);

    printTable(
      `trace read throughput (${(fileBytes / 2 ** 20).toFixed(0)} MiB trace, ${BASE_STEPS} steps)`,
      measurements,
      [
        `CPU ms per run (median, all threads), rows in order: ${cpuMedianMs.map((ms) => ms.toFixed(1)).join(' / ')}`,
        `ratio trace reader / plain read (throughput, against the faster plain median): ${(plainBest / traced.medianMs).toFixed(2)} with CRC checks, ` +
          `${(plainBest / transient.medianMs).toFixed(2)} with transient reads, ` +
          `${(plainBest / unverified.medianMs).toFixed(2)} without CRC checks (goal ≥ 0.5)`,
        `peak RSS reading the ${(baseBytes / 2 ** 20).toFixed(0)} MiB trace: ${(rssBase / 1024).toFixed(1)} MiB; ` +
          `the ${(longBytes / 2 ** 20).toFixed(0)} MiB trace (${BASE_STEPS * 10} steps, sharded): ${(rssLong / 1024).toFixed(1)} MiB; ` +
          `ratio ${(rssLong / rssBase).toFixed(3)} (goal ≤ 1.2); with transient reads ${(rssBaseTransient / 1024).toFixed(1)} / ` +
          `${(rssLongTransient / 1024).toFixed(1)} MiB, ratio ${(rssLongTransient / rssBaseTransient).toFixed(3)}`,
        `writing the long trace took ${writeSeconds.toFixed(1)} s (${(longBytes / 2 ** 20 / writeSeconds).toFixed(0)} MiB/s incl. header assembly copy)`,
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
