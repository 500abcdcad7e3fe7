/**
 * `npm run bench topology`: the streamed topology reader on generated 100,000- and 1,000,000-row
 * files (rows/s of wall and of CPU time; the heap the reader adds, which must not grow with the row
 * count), a 5e6-channel DP layer, and the whole `simulate --json` process on the 1,000,000-row file
 * (wall, CPU, peak RSS of the child).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTopology } from '../../src/config/topology.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const HEADER =
  'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,';

/** Rows of a small deterministic generator (a linear congruential sequence from `seed`). */
async function writeTopology(path: string, rows: number, seed: number): Promise<void> {
  const out = createWriteStream(path);
  let state = seed >>> 0;
  const next = (n: number): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return 1 + (state % n);
  };
  const write = (text: string): Promise<void> =>
    out.write(text) ? Promise.resolve() : new Promise((r) => out.once('drain', () => r()));
  await write(`${HEADER}\n`);
  let batch = '';
  for (let i = 0; i < rows; i++) {
    batch += `l${i}, ${8 + next(48)}, ${8 + next(48)}, 3, 3, ${next(256)}, ${next(256)}, ${next(2)},\n`;
    if (batch.length > 1 << 16) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

interface ReaderFigures {
  readonly rows: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly heapGrowthBytes: number;
}

async function readAll(path: string): Promise<ReaderFigures> {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const cpu = process.cpuUsage();
  const start = performance.now();
  let rows = 0;
  let batches = 0;
  for await (const batch of readTopology(path, 'conv')) {
    rows += batch.length;
    // Sampled every 16 chunks: the heap the reader holds while streaming.
    if (++batches % 16 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { rows, wallMs, cpuMs: (used.user + used.system) / 1000, heapGrowthBytes: heapPeak - heapBefore };
}

export default async function (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-topology-bench-'));
  try {
    const small = join(dir, 'rows-100k.csv');
    const large = join(dir, 'rows-1m.csv');
    await writeTopology(small, 100_000, 1);
    await writeTopology(large, 1_000_000, 1);
    console.log('\n## streamed topology reader (readTopology), layers consumed and dropped');
    console.log('rows        wall s   rows/s (wall)   rows/s (CPU)   peak heap growth');
    for (const path of [small, large, small, large]) {
      const f = await readAll(path);
      console.log(
        `${String(f.rows).padEnd(10)}  ${(f.wallMs / 1000).toFixed(2).padStart(6)}   ${Math.round(
          f.rows / (f.wallMs / 1000),
        )
          .toString()
          .padStart(13)}   ${Math.round(f.rows / (f.cpuMs / 1000))
          .toString()
          .padStart(12)}   ${(f.heapGrowthBytes / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    console.log('(goal: ≥ 100,000 rows/s; heap growth the same for 100k and 1M rows: the reader streams)');

    const dp = join(dir, 'dp-5e6.csv');
    await new Promise<void>((r) =>
      createWriteStream(dp).end(`${HEADER}\nblock_DP, 112, 112, 3, 3, 5000000, 1, 1,\n`, () => r()),
    );
    for (const [label, path] of [
      ['DP layer of 5e6 channels', dp],
      ['1,000,000-row topology', large],
    ] as const) {
      // /usr/bin/time reports the child's peak RSS and CPU; stdout (the NDJSON) is discarded.
      const argv = [
        process.execPath,
        join(root, 'dist/cli/main.js'),
        'simulate',
        '--topology',
        path,
        '--json',
      ];
      const timed = existsSync('/usr/bin/time');
      const start = performance.now();
      const r = timed
        ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', ...argv], {
            encoding: 'utf8',
            stdio: ['ignore', 'ignore', 'pipe'],
          })
        : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
      const wallMs = performance.now() - start;
      const lines = r.stderr.trim().split('\n');
      const [rssKb = Number.NaN, user = Number.NaN, sys = Number.NaN] = timed
        ? (lines.pop() ?? '').split(' ').map(Number)
        : [];
      console.log(
        `\n## simulate --json, ${label}: exit ${r.status}, wall ${(wallMs / 1000).toFixed(1)} s, ` +
          `CPU ${(user + sys).toFixed(1)} s, peak RSS ${(rssKb / 1024).toFixed(0)} MiB` +
          (lines.length > 0 && lines[0] !== '' ? ` (stderr: ${lines.join(' | ').slice(0, 200)})` : ''),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
