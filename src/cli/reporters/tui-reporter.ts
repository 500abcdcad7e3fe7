import { performance } from 'node:perf_hooks';
import type { Report } from '../../core/report.js';
import type { Reporter } from './reporter.js';

export interface TuiReporterOptions {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  /** Runs the command will make (`replay --hw A --hw B` → 2). */
  readonly expectedRuns: number;
  /** The user quit mid-run; by default the process is interrupted like Ctrl-C (exit 130). */
  readonly onAbort?: () => void;
  /** ink's console patching (default on); tests whose console is not Node's turn it off. */
  readonly patchConsole?: boolean;
}

/**
 * The ink dashboard as a Reporter. ink, React and every src/tui module are imported here, lazily,
 * so the plain and json paths never load them (docs/cli.md, "Start-up cost").
 */
export async function createTuiReporter(options: TuiReporterOptions): Promise<Reporter> {
  const bootLine = options.stdout.isTTY ? showBootLine(options.stdout) : undefined;
  let startDashboard: typeof import('../../tui/start-dashboard.js').startDashboard;
  try {
    ({ startDashboard } = await import('../../tui/start-dashboard.js'));
  } finally {
    bootLine?.();
  }
  const { formatPlainReport } = await import('./plain.js');
  const { formatComparison, formatReplayReport } = await import('../../replay/replay-plain.js');
  // A too-small terminal shows one line instead of the dashboard; the reports then print as plain text.
  const plainSummary = (reports: readonly Report[]): string => {
    const tables = reports.map((report) =>
      report.command === 'replay' ? formatReplayReport(report) : formatPlainReport(report),
    );
    const replays = reports.filter((report) => report.command === 'replay');
    return `\n${[...tables, ...(replays.length > 1 ? [formatComparison(replays)] : [])].join('\n')}`;
  };
  return startDashboard({
    plainSummary,
    stdout: options.stdout,
    stdin: options.stdin,
    expectedRuns: options.expectedRuns,
    // Without a keyboard there is nothing to browse: the dashboard ends with the run.
    interactive: options.stdin.isTTY === true,
    onAbort: options.onAbort ?? interruptProcess,
    ...(options.patchConsole !== undefined ? { patchConsole: options.patchConsole } : {}),
  });
}

/** How often the boot line's clock moves. */
const BOOT_TICK_MS = 250;

/**
 * One self-erasing line while ink and React load (a second or more on a busy machine): the terminal
 * shows the run has started from the first moments. Its clock counts from the process start; module
 * loading reads files asynchronously, so the timer gets turns. Returns the eraser.
 */
function showBootLine(stdout: NodeJS.WriteStream): () => void {
  const draw = (): void => {
    stdout.write(`\r\u001B[2Kdeltasim: starting · ${(performance.now() / 1000).toFixed(1)} s`);
  };
  draw();
  const timer = setInterval(draw, BOOT_TICK_MS);
  return () => {
    clearInterval(timer);
    stdout.write('\r\u001B[2K');
  };
}

/** Same path as Ctrl-C in a cooked terminal: main.ts's SIGINT handler reports and exits 130. */
function interruptProcess(): void {
  process.kill(process.pid, 'SIGINT');
}
