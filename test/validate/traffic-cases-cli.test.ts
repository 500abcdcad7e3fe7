import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuiltCli, lastJsonLine, ROOT, runProcess } from '../cli/built-cli.js';

const CLI = join(ROOT, 'dist/cli/main.js');
const run = (name: string) =>
  runProcess('node', [CLI, 'validate', '--case', name, '--quick', '--json'], { timeoutMs: 170_000 });

interface Row {
  metric: string;
  published: number | null;
  measured: number;
  pass: boolean | null;
}

describe('validate: the traffic cases pass (built CLI, --quick)', () => {
  beforeAll(() => assertBuiltCli());

  it('eyeriss-v1-dram: exit 0, every DRAM ratio within ±0.15 of Timeloop’s', async () => {
    const result = await run('eyeriss-v1-dram');
    const rows = (lastJsonLine(result.stdout) as { cases: Row[] }).cases;
    expect(result.code).toBe(0);
    const ratios = rows.filter((r) => r.metric.endsWith('DRAM dense/RLC'));
    expect(ratios).toHaveLength(5);
    for (const r of ratios) {
      expect(r.pass).toBe(true);
      expect(Math.abs(r.measured - r.published!)).toBeLessThanOrEqual(0.15);
    }
  }, 180_000);

  it('delta-trend: exit 0, DRAM weight bytes within 15 % of 1 − s', async () => {
    const result = await run('delta-trend');
    const rows = (lastJsonLine(result.stdout) as { cases: Row[] }).cases;
    expect(result.code).toBe(0);
    const weights = rows.filter((r) => /^DRAM weight bytes \/ dense at s [\d.]+$/.test(r.metric));
    expect(weights.map((r) => r.published)).toEqual([0.5, 0.2, 0.1]);
    for (const r of weights) {
      expect(r.pass).toBe(true);
      expect(Math.abs(r.measured / r.published! - 1)).toBeLessThanOrEqual(0.15);
    }
  }, 180_000);
});
