import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PRESETS } from '../../src/core/presets.js';
import {
  claimTask,
  createTaskClaims,
  cutTasks,
  type LayerTask,
  layerTasks,
} from '../../src/replay/layer-tasks.js';
import { prepareReplayRun, type ReplayRun } from '../../src/replay/replay-trace.js';
import { openTrace, type TraceReader } from '../../src/trace/reader.js';

const TRACE = fileURLToPath(new URL('../../traces/delta-cnn-dal.safetensors', import.meta.url));
const HARDWARE = [PRESETS['sparten-like']!, PRESETS['eyeriss-like']!];

let reader: TraceReader;
/** One trace on two configurations: runs 0 and 1, as `replay T --preset A --preset B` numbers them. */
let runs: { index: number; run: ReplayRun }[];
beforeAll(async () => {
  reader = await openTrace(TRACE);
  runs = HARDWARE.map((hw, index) => ({ index, run: prepareReplayRun(reader, hw, 'test') }));
});
afterAll(() => reader.close());

const key = (t: LayerTask) => `${t.run}/${t.layer}`;
const everyLayer = () => runs.flatMap(({ index, run }) => run.layers.map((_, layer) => `${index}/${layer}`));

test('each run has its own queue, largest first, and every layer of every run is in exactly one', () => {
  const queues = layerTasks(runs, 2);
  expect(queues).toHaveLength(2);
  expect(queues.flat().map(key).sort()).toEqual(everyLayer().sort());
  for (const [q, queue] of queues.entries()) {
    expect(queue.length).toBeGreaterThan(1);
    expect(queue.every((t) => t.run === q)).toBe(true);
    for (let i = 1; i < queue.length; i++) {
      const [a, b] = [queue[i - 1]!, queue[i]!];
      expect(a.cost > b.cost || (a.cost === b.cost && a.order < b.order)).toBe(true);
    }
  }
  // Plan order is run-major, layer by layer: what an error cut-off compares against.
  const byOrder = queues.flat().sort((a, b) => a.order - b.order);
  expect(byOrder.map(key)).toEqual(everyLayer());
});

test('more runs than threads are dealt out; with one thread everything is in one queue', () => {
  const traces = [0, 1, 2].map((index) => ({ index, run: runs[0]!.run }));
  const dealt = layerTasks(traces, 2);
  expect(dealt[0]!.every((t) => t.run % 2 === 0)).toBe(true);
  expect(dealt[1]!.every((t) => t.run === 1)).toBe(true);
  const one = layerTasks(runs, 1);
  expect(one).toHaveLength(1);
  expect(one[0]!.map((t) => t.cost)).toEqual([...one[0]!.map((t) => t.cost)].sort((a, b) => b - a));
});

test('a thread takes its own queue first, then the largest task left in the others; nothing twice', () => {
  const queues = layerTasks(runs, 2);
  const claims = createTaskClaims(queues.length);
  // Thread 0 claims three times as often as thread 1 (a faster or earlier thread).
  const taken: { home: number; task: LayerTask }[] = [];
  for (let turn = 0; ; turn++) {
    const home = turn % 4 === 3 ? 1 : 0;
    const task = claimTask(claims, queues, home);
    if (!task) break;
    taken.push({ home, task });
  }
  expect(taken.map(({ task }) => key(task)).sort()).toEqual(everyLayer().sort());
  const firstSteal = taken.findIndex(({ home, task }) => task.run !== home);
  expect(firstSteal).toBeGreaterThan(0);
  const stealer = taken[firstSteal]!;
  expect(stealer.home).toBe(0);
  // It stole only once its own queue was empty, and took the largest task the other had left.
  expect(taken.slice(0, firstSteal).filter(({ task }) => task.run === 0)).toHaveLength(queues[0]!.length);
  const left = queues[1]!.filter((t) => !taken.slice(0, firstSteal).some(({ task }) => task === t));
  expect(stealer.task).toBe(left[0]);
  expect(claimTask(claims, queues, 1)).toBeUndefined();
});

test('after a cut-off no thread starts a task at or past it, in any queue', () => {
  const queues = layerTasks(runs, 2);
  const claims = createTaskClaims(queues.length);
  const first = claimTask(claims, queues, 1)!;
  const cut = 5;
  cutTasks(claims, cut);
  cutTasks(claims, cut + 3); // a later failure does not move the cut-off back
  const rest: LayerTask[] = [];
  for (let t = claimTask(claims, queues, 0); t; t = claimTask(claims, queues, 0)) rest.push(t);
  expect(rest.length).toBeGreaterThan(0);
  expect(rest.every((t) => t.order < cut)).toBe(true);
  const started = new Set([first, ...rest].map(key));
  for (let order = 0; order < cut; order++) {
    const task = queues.flat().find((t) => t.order === order)!;
    expect(started.has(key(task))).toBe(true);
  }
});
