import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ROOT, runBuiltCli, stderrLines } from '../cli/built-cli.js';
import { headerEnd, readHeader, tensorOffset } from '../trace/corrupt.js';
import { writeTinyTrace } from '../trace/fixtures.js';

const cwd = mkdtempSync(join(tmpdir(), 'deltasim-workers-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The same replay as fresh processes, once per worker count. */
const withWorkers = (args: readonly string[], counts: readonly string[]) =>
  Promise.all(counts.map((n) => runBuiltCli([...args, '--workers', n], { cwd, timeoutMs: 300_000 })));

const dal = join(ROOT, 'traces/delta-cnn-dal.safetensors');
const mqar = join(ROOT, 'traces/deltanet-mqar.safetensors');

/** Two presets, NDJSON, plain reporter: what every comparison below replays. */
const TWO_PRESETS_JSON = ['--preset', 'sparten-like', '--preset', 'eyeriss-like', '--json', '--ui', 'plain'];

test('replay --workers N: the same NDJSON, byte for byte, for N = 1, 2 and 5 over traces × configurations', async () => {
  const args = ['replay', dal, mqar, '--synthetic', 'small:0.3:3', ...TWO_PRESETS_JSON];
  const runs = await withWorkers(args, ['1', '2', '5']);
  for (const r of runs) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
  const [one, two, five] = runs.map((r) => r.stdout);
  expect(JSON.parse(one!.trimEnd().split('\n').pop()!).runs).toHaveLength(6);
  expect(two).toBe(one);
  expect(five).toBe(one);
}, 600_000);

test('replay --workers 2: two presets on a multi-step trace file, byte for byte what one worker prints', async () => {
  // Several steps per layer and two runs: the main thread and a worker take the layers of both runs
  // from one list, largest first, and the events must still come out in one thread's order.
  const trace = join(cwd, 'six-steps.safetensors');
  const synth = await runBuiltCli(['trace', 'synth', 'small:0.5:6', '--seed', '3', '--out', trace], {
    cwd,
    timeoutMs: 120_000,
  });
  expect(synth.code).toBe(0);
  const [one, two] = await withWorkers(['replay', trace, ...TWO_PRESETS_JSON], ['1', '2']);
  expect(one!.stderr).toBe('');
  expect(one!.code).toBe(0);
  const last = JSON.parse(one!.stdout.trimEnd().split('\n').pop()!) as { runs: { total: unknown }[] };
  expect(last.runs).toHaveLength(2);
  expect(last.runs[0]!.total).not.toEqual(last.runs[1]!.total);
  expect(two!.code).toBe(0);
  expect(two!.stderr).toBe('');
  expect(two!.stdout).toBe(one!.stdout);
}, 600_000);

test('replay --workers N on a trace damaged in two layers: the same output and the same first error as one worker', async () => {
  // Layers replay out of order on several threads (largest first): the error shown must still be
  // the earliest layer's, after exactly the events one thread prints before it.
  const bytes = new Uint8Array(readFileSync(dal));
  const header = readHeader(bytes);
  for (const name of ['S5/conv2/input', 'S5/conv2/delta', 'S1/conv4/input', 'S1/conv4/delta']) {
    const [begin] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    bytes[headerEnd(bytes) + begin + 1]! ^= 0x40;
  }
  const damaged = join(cwd, 'damaged.safetensors');
  writeFileSync(damaged, bytes);
  const args = ['replay', damaged, ...TWO_PRESETS_JSON];
  const runs = await withWorkers(args, ['1', '2', '3']);
  const [one, ...rest] = runs;
  expect(one!.code).toBe(2);
  expect(stderrLines(one!.stderr)).toEqual([expect.stringContaining('S5/conv2/')]);
  expect(one!.stdout).toContain('"name":"conv2"');
  for (const r of rest) {
    expect(r.code).toBe(one!.code);
    expect(r.stderr).toBe(one!.stderr);
    expect(r.stdout).toBe(one!.stdout);
  }
}, 600_000);

test('replay --workers N: an error in the second configuration only still comes after the whole first run', async () => {
  // A thread replays a layer on every configuration at once (reading its tensors once for all of
  // them). Only the delta-mode preset reads the damaged Δ tensors: the first run must still finish
  // (every one of its layers, including those after the damaged one) before the second run's error.
  const bytes = new Uint8Array(readFileSync(dal));
  const header = readHeader(bytes);
  for (const name of ['S5/conv2/delta', 'S1/conv4/delta']) {
    const [begin] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    bytes[headerEnd(bytes) + begin + 1]! ^= 0x40;
  }
  const damaged = join(cwd, 'damaged-deltas.safetensors');
  writeFileSync(damaged, bytes);
  const args = [
    'replay',
    damaged,
    '--preset',
    'eyeriss-like',
    '--preset',
    'neuronflow-like',
    '--json',
    '--ui',
    'plain',
  ];
  const [one, ...rest] = await withWorkers(args, ['1', '2', '3']);
  expect(one!.code).toBe(2);
  expect(stderrLines(one!.stderr)).toEqual([expect.stringContaining('S5/conv2/delta')]);
  expect(one!.stdout.match(/"type":"run-done"/g)).toHaveLength(1);
  for (const r of rest) {
    expect(r.code).toBe(one!.code);
    expect(r.stderr).toBe(one!.stderr);
    expect(r.stdout).toBe(one!.stdout);
  }
}, 600_000);

test('replay --workers N on a sharded trace: pool threads read the shards from the main thread’s checked index, byte for byte', async () => {
  // The pool threads do not parse the index or the shards' headers: they get the main thread's
  // (./src/trace/reader.ts, traceHandover) and open each shard on its first read. A tensor damaged
  // in a shard still fails in whichever thread reads it, with the line one thread prints.
  const sub = join(cwd, 'sharded');
  mkdirSync(sub);
  const trace = join(sub, 'tiny.safetensors');
  await writeTinyTrace(trace, { steps: 6, shardBytes: 1024 });
  const shards = readdirSync(sub).filter((f) => f !== 'tiny.safetensors');
  expect(shards.length).toBeGreaterThan(2);
  const args = ['replay', trace, ...TWO_PRESETS_JSON, '--verify'];
  const [one, ...rest] = await withWorkers(args, ['1', '2', '3']);
  expect(one!.code).toBe(0);
  expect(one!.stdout.match(/"type":"run-done"/g)).toHaveLength(2);
  for (const r of rest) {
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(one!.stderr);
    expect(r.stdout).toBe(one!.stdout);
  }
  // The last shard's first per-step input: a late step, read after the threads have shared the work.
  const last = join(sub, shards.sort().at(-1)!);
  const bytes = new Uint8Array(readFileSync(last));
  const name = Object.keys(readHeader(bytes)).find((n) => /^S\d+\/.*\/input$/.test(n))!;
  expect(name).toBeDefined();
  bytes[tensorOffset(bytes, name) + 1]! ^= 0x40;
  writeFileSync(last, bytes);
  const [bad, ...others] = await withWorkers(args, ['1', '2', '3']);
  expect(bad!.code).toBe(2);
  expect(stderrLines(bad!.stderr)).toEqual([
    `deltasim: TraceError: ${last}: tensor "${name}": CRC-32 mismatch: data corrupted`,
  ]);
  for (const r of others) {
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(bad!.stderr);
    expect(r.stdout).toBe(bad!.stdout);
  }
}, 600_000);

test('replay --workers refuses 0 and non-integers with one line, exit 2', async () => {
  for (const bad of ['0', '1.5', 'x']) {
    const r = await runBuiltCli(['replay', dal, '--workers', bad], { cwd, timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(stderrLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('--workers');
  }
}, 300_000);

test('trace synth writes the trace replay --synthetic builds: same report; refuses to overwrite without --force', async () => {
  const out = join(cwd, 'small.safetensors');
  const synth = await runBuiltCli(['trace', 'synth', 'small:0.4:3', '--seed', '7', '--out', out], {
    cwd,
    timeoutMs: 120_000,
  });
  expect(synth.stderr).toBe('');
  expect(synth.code).toBe(0);
  expect(synth.stdout).toMatch(/bytes, 3 steps → small\.safetensors\n$/);
  const fromFile = await runBuiltCli(
    ['replay', out, '--preset', 'sparten-like', '--json', '--workers', '1'],
    {
      cwd,
      timeoutMs: 120_000,
    },
  );
  const inline = await runBuiltCli(
    [
      'replay',
      '--synthetic',
      'small:0.4:3',
      '--seed',
      '7',
      '--preset',
      'sparten-like',
      '--json',
      '--workers',
      '1',
    ],
    { cwd, timeoutMs: 120_000 },
  );
  const last = (s: string) =>
    JSON.parse(s.trimEnd().split('\n').pop()!) as { sources: unknown; layers: unknown };
  expect(last(fromFile.stdout).layers).toEqual(last(inline.stdout).layers);
  const before = readFileSync(out);
  const again = await runBuiltCli(['trace', 'synth', 'small:0.4:3', '--out', out], {
    cwd,
    timeoutMs: 60_000,
  });
  expect(again.code).toBe(2);
  expect(stderrLines(again.stderr)).toEqual([expect.stringContaining('pass --force')]);
  expect(readFileSync(out).equals(before)).toBe(true);
  // --temporal 1: nothing changes after the key frame, so a different trace from the default 0.9.
  const still = await runBuiltCli(
    ['trace', 'synth', 'small:0.4:3', '--temporal', '1', '--out', out, '--force'],
    {
      cwd,
      timeoutMs: 60_000,
    },
  );
  expect(still.code).toBe(0);
  expect(readFileSync(out).equals(before)).toBe(false);
  const validate = await runBuiltCli(['trace', 'validate', out], { cwd, timeoutMs: 60_000 });
  expect(validate.stdout).toContain('valid');
  expect(validate.code).toBe(0);
}, 600_000);

test('trace synth rejects a bad spec or flag with one line, exit 2', async () => {
  for (const args of [
    ['nope:0.5'],
    ['small:2'],
    ['small:0.5:0'],
    ['small:0.5', '--temporal', '-0.1'],
    ['small:0.5', '--seed', 'x'],
  ]) {
    const r = await runBuiltCli(['trace', 'synth', ...args, '--out', join(cwd, 'bad.safetensors')], {
      cwd,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(stderrLines(r.stderr)).toHaveLength(1);
  }
}, 300_000);
