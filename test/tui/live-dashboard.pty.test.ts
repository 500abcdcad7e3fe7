import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { synthesizeTrace } from '../../src/trace/synthesize.js';
import { hasScript, type PtyProcess, startInPty } from './pseudo-terminal.js';

/**
 * The built CLI on a real pseudo-terminal, as a user runs it: the dashboard's first frame comes at
 * once, moves while a large layer computes, and q / Ctrl-C stop the run promptly with the terminal
 * given back. Margins are generous (the machine may be busy); the measured latencies are in the
 * report of the change that added this test, not asserted here (speed goals belong to benchmarks).
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const main = join(root, 'dist/cli/main.js');
/** Generous bounds for "within 1 s" on a loaded 2-core machine. */
const MARGIN_MS = 5000;
/** ink and React load in about a second on an idle machine, several on a busy one. */
const INK_LOAD_MS = 20_000;
const LONG_RUN = ['--synthetic', 'resnet18:0.5:64'];

const dir = mkdtempSync(join(tmpdir(), 'deltasim-pty-'));
let trace = '';
const running: PtyProcess[] = [];

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  if (!hasScript()) throw new Error('util-linux `script` is needed for the pseudo-terminal tests');
  // Long enough that Ctrl-C lands while layers are still computing: the counting kernel replays a
  // 2-step trace in well under a second, faster than a key press reaches the process.
  trace = join(dir, 'resnet18-8.safetensors');
  await synthesizeTrace(trace, { shape: 'resnet18', density: 0.5, steps: 8, seed: 1, dtype: 'F16' });
}, 180_000);

afterAll(() => {
  for (const p of running) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A private TMPDIR per run, so the test can see that the run removed its temporaries. */
function freshTmp(name: string): string {
  const tmp = join(dir, name);
  mkdirSync(tmp);
  return tmp;
}

function cli(args: readonly string[], tmp: string, columns = 100, rows = 30): PtyProcess {
  const p = startInPty(['node', main, 'replay', ...args], {
    cwd: root,
    columns,
    rows,
    // ink draws only a final frame under CI (is-in-ci): the user's terminal is not CI.
    env: { TMPDIR: tmp, CI: 'false' },
  });
  running.push(p);
  return p;
}

/** The last "NN.N% of MACs" on screen (the overall progress). */
const progressShown = (text: string): string | undefined =>
  [...text.matchAll(/(\d+\.\d)% of MACs/g)].at(-1)?.[1];

describe('replay on a pseudo-terminal', () => {
  test('a long synthetic run: a frame at once, then moving; q stops it with exit 130, nothing left', async () => {
    const tmp = freshTmp('q');
    const p = cli(LONG_RUN, tmp);
    const first = await p.waitFor((text) => text.includes('deltasim'), MARGIN_MS, 'first frame');
    const before = p.screenText();
    const changed = await p.waitFor((text) => text !== before, MARGIN_MS, 'a changed frame');
    expect(changed - first).toBeLessThan(MARGIN_MS);
    // The dashboard proper says what is happening before the first run starts.
    await p.waitFor(
      (text) => text.includes('synthesizing trace synthetic:resnet18:0.5:64'),
      INK_LOAD_MS,
      'phase',
    );
    const pressed = await p.waitFor(() => true, 0, 'now');
    p.type('q');
    const exit = await p.exited;
    expect(exit.atMs - pressed).toBeLessThan(MARGIN_MS);
    expect(exit.code).toBe(130);
    expect(p.screenText()).toContain('deltasim: interrupted');
    expect(readdirSync(tmp)).toEqual([]);
    // The terminal is given back: the cursor ink hid is shown again.
    const raw = p.rawText();
    expect(raw.lastIndexOf('\u001B[?25h')).toBeGreaterThan(raw.lastIndexOf('\u001B[?25l'));
  });

  test('while a large layer computes the progress moves; Ctrl-C stops it mid-layer with exit 130', async () => {
    const tmp = freshTmp('ctrl-c');
    // neuronflow-like (event-driven, delta mode) is the slowest preset to replay: ~1 s for these 8
    // steps, where the default took ~0.4 s and the run sometimes ended before the key press landed.
    const p = cli([trace, '--preset', 'neuronflow-like'], tmp);
    await p.waitFor((text) => progressShown(text) !== undefined, INK_LOAD_MS, 'the layer table');
    const shown = progressShown(p.screenText());
    await p.waitFor((text) => progressShown(text) !== shown, MARGIN_MS * 2, 'progress moving');
    const pressed = await p.waitFor(() => true, 0, 'now');
    p.type('\u0003');
    const exit = await p.exited;
    expect(exit.atMs - pressed).toBeLessThan(MARGIN_MS);
    expect(exit.code).toBe(130);
    expect(p.screenText()).toContain('deltasim: interrupted');
    // Not finished: far fewer than the 21 layers were done.
    expect(p.screenText()).not.toContain('all layers done');
  });

  test('below the minimum size: one line saying so, then the plain summary at the end', async () => {
    const tmp = freshTmp('small');
    const p = cli(['--synthetic', 'small:0.5:2'], tmp, 24, 10);
    const exit = await p.exited;
    expect(exit.code).toBe(0);
    const text = p.screenText();
    expect(text).toContain('terminal too small');
    // The plain report (formatReplayReport) follows, complete.
    expect(text).toMatch(/vs dense: [\d.]+ % of MACs executed/);
  });
});

test('the plain reporter stops on SIGINT too: exit 130, one line, temporaries removed', async () => {
  const tmp = freshTmp('sigint');
  const child = spawn(process.execPath, [main, 'replay', ...LONG_RUN, '--ui', 'plain'], {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, atMs: performance.now() })),
  );
  // Wait until the synthesis has begun (its temporary directory exists), then interrupt.
  for (let i = 0; i < 400 && readdirSync(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(readdirSync(tmp).length).toBe(1);
  const sent = performance.now();
  child.kill('SIGINT');
  const exit = await exited;
  expect(exit.atMs - sent).toBeLessThan(MARGIN_MS);
  expect(exit.code).toBe(130);
  expect(stderr.trim().split('\n').at(-1)).toBe('deltasim: interrupted');
  expect(readdirSync(tmp)).toEqual([]);
});
