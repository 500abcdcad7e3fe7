/**
 * A prestarted pool thread replays ahead on a guess read from the command line (src/replay/replay-worker.ts,
 * `speculate`); what it did counts only where the main thread's plan, checked traces and tasks are the
 * ones guessed. Here the guess is given outright (as src/cli/commands/replay-prestart.ts gives it) and
 * the thread is left time to open the trace and replay its task before the tasks come: with a right
 * guess, and with guesses wrong in the configurations' order, the trace file, and the queue, the
 * events are the very ones one thread sends. A wrongly kept head start would show there: its events
 * belong to another configuration, trace or layer. Runs the built modules (a worker thread loads
 * dist/, as the CLI does).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { beforeAll, expect, test } from 'vitest';
import type * as Presets from '../../src/core/presets.js';
import type * as Driver from '../../src/replay/replay-driver.js';
import type * as Pool from '../../src/replay/replay-pool.js';
import type * as Shared from '../../src/replay/worker-driver.js';
import { assertBuiltCli, ROOT } from '../cli/built-cli.js';

const built = <T>(module: string): Promise<T> => import(pathToFileURL(`${ROOT}/dist/${module}`).href);

let pool: typeof Pool;
let shared: typeof Shared;
let driver: typeof Driver;
let presets: typeof Presets;
beforeAll(async () => {
  assertBuiltCli();
  [pool, shared, driver, presets] = await Promise.all([
    built<typeof Pool>('replay/replay-pool.js'),
    built<typeof Shared>('replay/worker-driver.js'),
    built<typeof Driver>('replay/replay-driver.js'),
    built<typeof Presets>('core/presets.js'),
  ]);
});

const dal = `${ROOT}/traces/delta-cnn-dal.safetensors`;
const mqar = `${ROOT}/traces/deltanet-mqar.safetensors`;
const NAMES = ['eyeriss-like', 'sparten-like'];
const TOOL_VERSION = '0.1.0';

function plan(): Driver.ReplayPlan {
  return {
    traces: [{ path: dal, label: 'dal.safetensors' }],
    hardware: NAMES.map((name) => ({ ...presets.PRESETS[name]! })),
    verify: true,
    toolVersion: TOOL_VERSION,
    histogramBins: driver.HISTOGRAM_BINS,
  };
}

const RIGHT: Shared.PoolGuess = {
  traces: [{ path: dal, label: 'dal.safetensors' }],
  presets: NAMES,
  verify: true,
  toolVersion: TOOL_VERSION,
  queues: 2,
  home: 1,
};

type Sent = { event: unknown; runIndex: number }[];

async function oneThread(): Promise<{ sent: Sent; failures: unknown }> {
  const sent: Sent = [];
  const failures = await driver.driveReplays(plan(), {
    onEvent: (event, runIndex) => sent.push({ event, runIndex }),
  });
  return { sent, failures };
}

/** The plan on this thread and one pool thread started ahead with `guess`, given time to replay its guess. */
async function withHeadStart(guess: Shared.PoolGuess): Promise<{ sent: Sent; failures: unknown }> {
  const url = pool.replayWorkerUrl()!;
  pool.prestartReplayPool(1, () => guess);
  await sleep(1500);
  const threads = pool.replayPool(url, 1)!;
  const sent: Sent = [];
  try {
    const failures = await shared.driveReplaysShared(
      plan(),
      { onEvent: (event, runIndex) => sent.push({ event, runIndex }) },
      { pool: threads, onThisThread: true },
    );
    return { sent, failures };
  } finally {
    threads.stop();
  }
}

test.each([
  ['right', RIGHT],
  ['configurations in another order', { ...RIGHT, presets: [...NAMES].reverse() }],
  ['another trace under the same label', { ...RIGHT, traces: [{ path: mqar, label: 'dal.safetensors' }] }],
  ['without --verify', { ...RIGHT, verify: false }],
  ['the main thread’s queue', { ...RIGHT, home: 0 }],
  ['three queues', { ...RIGHT, queues: 3 }],
])(
  'a pool thread with a head start guessed %s: the events one thread sends',
  async (_, guess) => {
    const expected = await oneThread();
    expect(expected.sent.length).toBeGreaterThan(10);
    const got = await withHeadStart(guess);
    expect(got.failures).toEqual(expected.failures);
    expect(JSON.stringify(got.sent)).toBe(JSON.stringify(expected.sent));
  },
  120_000,
);
