import type { RunEvent } from '../../core/events.js';

/**
 * A front end for the run event stream (vitest's reporters are the model): plain text, NDJSON, or
 * the ink dashboard. A command may run several hardware configurations over the same source
 * (`replay --hw A --hw B`): each run's events carry its `runIndex` (0-based), and `finish` is
 * called once after the last run.
 */
export interface Reporter {
  onEvent(event: RunEvent, runIndex: number): void;
  /** What the command is doing before its runs start (synthesizing, reading a trace), as a short line. */
  onPhase?(text: string): void;
  /** Flush and tear down; resolves when the front end is done (the TUI waits for `q` or its end). */
  finish(): Promise<void>;
}

export type ReporterKind = 'plain' | 'json' | 'tui';
