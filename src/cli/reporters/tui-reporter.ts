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
  const { startDashboard } = await import('../../tui/start-dashboard.js');
  return startDashboard({
    stdout: options.stdout,
    stdin: options.stdin,
    expectedRuns: options.expectedRuns,
    // Without a keyboard there is nothing to browse: the dashboard ends with the run.
    interactive: options.stdin.isTTY === true,
    onAbort: options.onAbort ?? interruptProcess,
    ...(options.patchConsole !== undefined ? { patchConsole: options.patchConsole } : {}),
  });
}

/** Same path as Ctrl-C in a cooked terminal: main.ts's SIGINT handler reports and exits 130. */
function interruptProcess(): void {
  process.kill(process.pid, 'SIGINT');
}
