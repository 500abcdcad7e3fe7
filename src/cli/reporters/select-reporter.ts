import { performance } from 'node:perf_hooks';
import { UsageError } from '../../common/input-error.js';
import type { CliIo } from '../io.js';
import { JsonReporter } from './json.js';
import { PlainReporter } from './plain.js';
import { withProgressLines } from './progress.js';
import type { Reporter, ReporterKind } from './reporter.js';

export type UiMode = 'auto' | 'tui' | 'plain';

export const UI_MODES: readonly UiMode[] = ['auto', 'tui', 'plain'];

/** `--ui` as typed, checked once at the edge. */
export function parseUiMode(value: string | undefined): UiMode {
  if (value === undefined) return 'auto';
  const mode = value.toLowerCase();
  if ((UI_MODES as readonly string[]).includes(mode)) return mode as UiMode;
  throw new UsageError('--ui', '', `unknown ui "${value}" (use ${UI_MODES.join(', ')})`);
}

export interface SelectReporterOptions {
  readonly ui: UiMode;
  readonly json: boolean;
  readonly io: CliIo;
  /** Runs the command will make over its source (`replay --hw A --hw B` → 2). */
  readonly runs: number;
  /** Clock for the plain progress lines (milliseconds); performance.now by default. */
  readonly now?: () => number;
  /** TUI only: the user quit mid-run. Default: interrupt the process like Ctrl-C. */
  readonly onAbort?: () => void;
}

/**
 * Which front end a run gets (vitest's rule): `--json` always json; `--ui tui|plain` as asked; `auto`
 * the dashboard only on an interactive terminal outside CI, plain text otherwise (pipes, logs).
 */
export function chooseReporterKind(options: Pick<SelectReporterOptions, 'ui' | 'json' | 'io'>): ReporterKind {
  if (options.json) return 'json';
  if (options.ui === 'plain') return 'plain';
  if (options.ui === 'tui') return 'tui';
  const ci = options.io.env.CI;
  const inCi = ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
  return options.io.stdout.isTTY === true && !inCi ? 'tui' : 'plain';
}

/** A writable stream ink can draw on (it listens for `resize` and reads `columns`/`rows`). */
function isWriteStream(stream: CliIo['stdout']): stream is NodeJS.WriteStream {
  return typeof (stream as { on?: unknown }).on === 'function';
}

export async function selectReporter(options: SelectReporterOptions): Promise<Reporter> {
  const kind = chooseReporterKind(options);
  const { io } = options;
  if (kind === 'json') return new JsonReporter(io, options.runs);
  if (kind === 'tui' && isWriteStream(io.stdout)) {
    const { createTuiReporter } = await import('./tui-reporter.js');
    return createTuiReporter({
      stdout: io.stdout,
      stdin: process.stdin,
      expectedRuns: options.runs,
      ...(options.onAbort ? { onAbort: options.onAbort } : {}),
    });
  }
  // Plain, or a TUI asked for on an output that is not a stream (nothing for ink to draw on).
  return withProgressLines(new PlainReporter(io), {
    stderr: io.stderr,
    now: options.now ?? (() => performance.now()),
    expectedRuns: options.runs,
  });
}
