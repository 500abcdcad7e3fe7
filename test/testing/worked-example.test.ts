import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastJsonLine, ROOT, runBuiltCli } from '../cli/built-cli.js';

/** The code blocks of docs/testing.md marked `<!-- example: FILE -->`, as the reader copies them. */
function examples(): Map<string, string> {
  const text = readFileSync(join(ROOT, 'docs/testing.md'), 'utf8');
  const found = new Map<string, string>();
  for (const m of text.matchAll(/<!-- example: (\S+) -->\n```js\n([\s\S]*?)```/g)) found.set(m[1]!, m[2]!);
  return found;
}

const dir = mkdtempSync(join(tmpdir(), 'deltasim-worked-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CheckJson {
  readonly passed: boolean;
  readonly checks: readonly {
    readonly results: readonly { readonly law: string; readonly passed: boolean }[];
  }[];
}

async function check(file: string, runs: string): Promise<{ code: number | null; failed: string[] }> {
  const path = join(dir, file);
  writeFileSync(path, examples().get(file)!);
  const r = await runBuiltCli(
    ['check', '--preset', 'tpu-v1-like', '--engine', path, '--runs', runs, '--json'],
    {
      timeoutMs: 240_000,
    },
  );
  const out = lastJsonLine(r.stdout) as CheckJson;
  return { code: r.code, failed: out.checks[0]!.results.filter((x) => !x.passed).map((x) => x.law) };
}

describe('docs/testing.md worked example: idle-PE power gating', () => {
  it('the page shows both versions', () => {
    expect([...examples().keys()]).toEqual(['idle-pe-gating-naive.mjs', 'idle-pe-gating.mjs']);
  });

  it('the first version breaks the two laws the page names', async () => {
    const { code, failed } = await check('idle-pe-gating-naive.mjs', '3');
    expect(code).toBe(1);
    expect(failed).toEqual(['dense-parity', 'speedup-same-memory-baseline']);
  }, 240_000);

  it('the fixed version keeps every law', async () => {
    const { code, failed } = await check('idle-pe-gating.mjs', '4');
    expect(failed).toEqual([]);
    expect(code).toBe(0);
  }, 240_000);
});
