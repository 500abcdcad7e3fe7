import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { RunInterrupted } from '../../src/common/interrupt.js';
import type { RunEvent } from '../../src/core/events.js';
import { PRESETS } from '../../src/core/presets.js';
import { driveReplays, type ReplayPlan } from '../../src/replay/replay-driver.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'deltasim-driver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = 'small:0.6:3';
const PRESET_NAMES = ['sparten-like', 'neuronflow-like'] as const;

function plan(name: string): ReplayPlan {
  return {
    traces: [
      {
        path: join(root, 'test/golden/traces/tiny.safetensors'),
        label: 'test/golden/traces/tiny.safetensors',
      },
    ],
    synthetic: { spec: SPEC, seed: 1, path: join(dir, `${name}.safetensors`) },
    hardware: PRESET_NAMES.map((preset) => PRESETS[preset]!),
    verify: true,
    toolVersion: 'test',
    histogramBins: 10,
  };
}

async function events(name: string, signal?: AbortSignal): Promise<string[]> {
  const lines: string[] = [];
  await driveReplays(plan(name), {
    onEvent: (event, runIndex) => lines.push(JSON.stringify({ runIndex, event })),
    ...(signal ? { signal } : {}),
  });
  return lines;
}

const reportsOf = (lines: readonly string[]): string[] =>
  lines
    .map((line) => JSON.parse(line) as { event: RunEvent })
    .flatMap(({ event }) =>
      event.type === 'run-done' ? [JSON.stringify({ ...event.report, version: '' })] : [],
    );

test('yielding to the event loop after every step (a live front end) changes no event and no figure', async () => {
  const plainRun = await events('plain');
  const yielding = await events('yielding', new AbortController().signal);
  expect(reportsOf(plainRun)).toHaveLength(4);
  expect(yielding).toEqual(plainRun);
});

test('the built CLI, whose replay runs in a worker thread, reports byte-identical figures', async () => {
  const main = join(root, 'dist/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const inThread = reportsOf(await events('in-thread'));
  const result = spawnSync(
    process.execPath,
    [
      main,
      'replay',
      'test/golden/traces/tiny.safetensors',
      '--synthetic',
      SPEC,
      ...PRESET_NAMES.flatMap((preset) => ['--preset', preset]),
      '--verify',
      '--json',
    ],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  expect(result.stderr).toContain('every layer matches the dense product');
  expect(result.status).toBe(0);
  // NDJSON: every event, each run's index beside it (run 0's omitted); the reports are in run-done.
  const lines = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { type?: string; runIndex?: number })
    .filter((line) => line.type === 'run-done')
    .map((line) => JSON.stringify({ runIndex: line.runIndex ?? 0, event: { ...line, runIndex: undefined } }));
  expect(reportsOf(lines)).toEqual(inThread);
});

test('an abort stops the work at the next step with the signal’s reason; no event follows', async () => {
  const controller = new AbortController();
  const seen: RunEvent[] = [];
  const run = driveReplays(plan('aborted'), {
    onEvent: (event) => {
      seen.push(event);
      if (event.type === 'layer-progress' && seen.filter((e) => e.type === 'layer-progress').length === 2)
        controller.abort(new RunInterrupted());
    },
    signal: controller.signal,
  });
  await expect(run).rejects.toBeInstanceOf(RunInterrupted);
  expect(seen.filter((e) => e.type === 'layer-progress')).toHaveLength(2);
  expect(seen.some((e) => e.type === 'run-done')).toBe(false);
});

test('an abort during the synthesis stops it and leaves no file behind', async () => {
  const controller = new AbortController();
  const phases: string[] = [];
  const name = 'synthesis-aborted';
  const run = driveReplays(
    {
      ...plan(name),
      synthetic: { spec: 'small:0.6:50', seed: 1, path: join(dir, 'synth', `${name}.safetensors`) },
    },
    {
      onEvent: () => undefined,
      onPhase: (text) => {
        phases.push(text);
        if (text.endsWith('step 2/50')) controller.abort(new RunInterrupted());
      },
      signal: controller.signal,
    },
  );
  await expect(run).rejects.toBeInstanceOf(RunInterrupted);
  expect(phases).toContain('synthesizing trace synthetic:small:0.6:50: step 1/50');
  expect(phases.at(-1)).toBe('synthesizing trace synthetic:small:0.6:50: step 2/50');
  expect(existsSync(join(dir, 'synth')) ? readdirSync(join(dir, 'synth')) : []).toEqual([]);
});

test('bad input met inside the worker reaches the CLI as the same one-line error as in-thread', async () => {
  const { driveReplaysInWorker } = await import('../../src/replay/worker-driver.js');
  const { InputError } = await import('../../src/common/input-error.js');
  const url = new URL('dist/replay/replay-worker.js', `file://${root}`);
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing: run \`npm run build\` first`);
  const { synthetic: _none, ...rest } = plan('missing');
  const missing: ReplayPlan = {
    ...rest,
    traces: [{ path: join(dir, 'no-such.safetensors'), label: 'no-such.safetensors' }],
  };
  const inThread = await driveReplays(missing, { onEvent: () => undefined }).catch((error: unknown) => error);
  const inWorker = await driveReplaysInWorker(url, missing, { onEvent: () => undefined }).catch(
    (error: unknown) => error,
  );
  expect(inThread).toBeInstanceOf(InputError);
  expect(inWorker).toBeInstanceOf(InputError);
  expect((inWorker as InstanceType<typeof InputError>).toLine()).toBe(
    (inThread as InstanceType<typeof InputError>).toLine(),
  );
});
