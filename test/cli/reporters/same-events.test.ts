import { expect, test } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { selectReporter } from '../../../src/cli/reporters/select-reporter.js';
import type { Report } from '../../../src/core/report.js';
import { loadRecordedEvents, replayInto } from '../../tui/recorded-events.js';

function captureIo(): CliIo & { text: () => string } {
  const out: string[] = [];
  return {
    text: () => out.join(''),
    stdout: { write: (s: string) => out.push(s), isTTY: false },
    stderr: { write: () => {} },
    env: {},
    cwd: '/',
  };
}

for (const recording of ['resnet18-dense.ndjson', 'replay-small.ndjson', 'replay-compare.ndjson']) {
  const events = loadRecordedEvents(recording);
  const reports = events.flatMap(({ event }) => (event.type === 'run-done' ? [event.report] : []));
  const runs = new Set(events.map((e) => e.runIndex)).size;

  test(`json on ${recording}: every line parses, the events come through in order, the last line is the report (several: {"runs":[…]})`, async () => {
    const io = captureIo();
    const reporter = await selectReporter({ ui: 'auto', json: true, io, runs });
    replayInto(reporter, events);
    await reporter.finish();
    const lines = io.text().trimEnd().split('\n');
    const parsed = lines.map((line) => JSON.parse(line) as { type?: string; runIndex?: number });
    expect(parsed).toHaveLength(events.length + 1);
    expect(parsed.slice(0, -1).map((p) => p.type)).toEqual(events.map((e) => e.event.type));
    expect(parsed.slice(0, -1).map((p) => p.runIndex ?? 0)).toEqual(events.map((e) => e.runIndex));
    const last = parsed.at(-1) as Report | { runs: Report[] };
    const lastReports = 'runs' in last ? last.runs : [last];
    expect(lastReports).toEqual(reports);
    expect('runs' in last).toBe(runs > 1);
    for (const report of lastReports) expect(report.total.energyPj.total).toBeGreaterThan(0);
  });

  test(`plain on ${recording}: a table per run with every layer and the totals`, async () => {
    const io = captureIo();
    const reporter = await selectReporter({ ui: 'plain', json: false, io, runs });
    replayInto(reporter, events);
    await reporter.finish();
    const text = io.text();
    for (const report of reports) {
      expect(text).toContain(report.hardware.name);
      for (const layer of report.layers)
        expect(text).toMatch(new RegExp(`^${layer.name.replace('.', '\\.')}\\s`, 'm'));
      const cycles = report.total.cycles.toLocaleString('en-US');
      expect(text).toMatch(new RegExp(`^total\\s.*\\s${cycles}\\s`, 'm'));
    }
  });
}
