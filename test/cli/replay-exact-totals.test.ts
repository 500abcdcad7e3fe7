import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runBuiltCli } from './built-cli.js';

/**
 * replay refuses counts past 2^53 as simulate does (src/core/report-total.ts `inexactReport`):
 * a one-line error and no summary line, never a rounded total printed as if exact. An event-driven
 * design with an absurd dispatch cost per event drives the tiny trace's cycles past 2^53.
 */
const dir = mkdtempSync(join(tmpdir(), 'deltasim-exact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = 'test/golden/traces/tiny.safetensors';

test('replay: cycles past 2^53 are a one-line error, exit 2, no summary line', async () => {
  const hw = join(dir, 'slow-dispatch.yaml');
  writeFileSync(hw, 'preset: neuronflow-like\neventDispatch: 1e300\n');
  const r = await runBuiltCli(['replay', tiny, '--hw', hw, '--json']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(
    /^deltasim: TraceError: test\/golden\/traces\/tiny\.safetensors: layer "conv1": cycles [0-9.e+]+ exceeds 2\^53 - 1: it cannot be counted exactly\n$/,
  );
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines.every((line) => (JSON.parse(line) as { type?: string }).type !== 'run-done')).toBe(true);
  // The same file with a sane dispatch cost replays.
  writeFileSync(hw, 'preset: neuronflow-like\neventDispatch: 2\n');
  const ok = await runBuiltCli(['replay', tiny, '--hw', hw, '--json']);
  expect(ok.stderr).toBe('');
  expect(ok.code).toBe(0);
});
