import type { RunEvent } from '../../core/events.js';
import type { Report } from '../../core/report.js';
import type { CliIo } from '../io.js';
import type { Reporter } from './reporter.js';

/** The last stdout line of a `--json` command that made several runs, reports in run order. */
export interface JsonRuns {
  readonly runs: readonly Report[];
}

/**
 * NDJSON: every run event on its own line, then one summary line, so
 * `deltasim simulate … --json | tail -n1 | jq .total.cycles` works. With one run the summary is the
 * report itself; with several (`replay A B --preset X --hw F`) it is `{"runs":[report, …]}` in run
 * order, so a script reads a comparison from one line. When a run failed (its error is on stderr)
 * no summary is printed: a partial comparison would look complete. Nothing else goes to stdout.
 */
export class JsonReporter implements Reporter {
  private readonly reports = new Map<number, Report>();

  constructor(
    private readonly io: CliIo,
    private readonly expectedRuns = 1,
  ) {}

  onEvent(event: RunEvent, runIndex: number): void {
    this.io.stdout.write(`${JSON.stringify(runIndex === 0 ? event : { ...event, runIndex })}\n`);
    if (event.type === 'run-done') this.reports.set(runIndex, event.report);
  }

  async finish(): Promise<void> {
    const reports: Report[] = [];
    for (let run = 0; run < this.expectedRuns; run++) {
      const report = this.reports.get(run);
      if (!report) return;
      reports.push(report);
    }
    const summary: Report | JsonRuns = reports.length === 1 ? reports[0]! : { runs: reports };
    this.io.stdout.write(`${JSON.stringify(summary)}\n`);
  }
}
