import type { RunEvent } from '../../core/events.js';
import type { Report } from '../../core/report.js';
import type { CliIo } from '../io.js';
import type { Reporter } from './reporter.js';

/**
 * NDJSON: every run event on its own line, then the report object itself as the last line, so
 * `deltasim simulate … --json | tail -n1 | jq .total.cycles` works. Nothing else goes to stdout.
 */
export class JsonReporter implements Reporter {
  private lastReport: Report | undefined;

  constructor(private readonly io: CliIo) {}

  onEvent(event: RunEvent, runIndex: number): void {
    this.io.stdout.write(`${JSON.stringify(runIndex === 0 ? event : { ...event, runIndex })}\n`);
    if (event.type === 'run-done') this.lastReport = event.report;
  }

  async finish(): Promise<void> {
    if (this.lastReport) this.io.stdout.write(`${JSON.stringify(this.lastReport)}\n`);
  }
}
