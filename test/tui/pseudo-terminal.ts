import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** util-linux `script` runs a command on a fresh pseudo-terminal; our tests talk to it through pipes. */
export function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Output chunks as they arrived, milliseconds after the spawn. */
export interface Chunk {
  readonly atMs: number;
  readonly text: string;
}

export interface PtyProcess {
  readonly child: ChildProcess;
  readonly chunks: Chunk[];
  /** Everything written so far, escape sequences removed. */
  screenText(): string;
  /** Everything written so far, as written. */
  rawText(): string;
  /** Resolves with the time (ms after spawn) at which `ok(screenText())` first held. */
  waitFor(ok: (text: string) => boolean, timeoutMs: number, what: string): Promise<number>;
  type(keys: string): void;
  /** Exit code of the command (script -e passes it through) and when it came. */
  readonly exited: Promise<{ readonly code: number | null; readonly atMs: number }>;
  kill(): void;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences start with ESC
const ESCAPES = /\u001B(?:\[[0-9;?<>=]*[ -/]*[@-~]|\][^\u0007]*\u0007|[()][0-9A-Za-z]|[=>78])/g;

export function stripEscapes(text: string): string {
  return text.replace(ESCAPES, '');
}

/**
 * Starts `command args…` on a real pseudo-terminal of `columns`×`rows` (stdin and stdout both TTYs,
 * as for a user at a terminal), from `cwd`.
 */
export function startInPty(
  command: readonly string[],
  options: {
    readonly cwd: string;
    readonly columns: number;
    readonly rows: number;
    readonly env?: NodeJS.ProcessEnv;
  },
): PtyProcess {
  const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(' ');
  const started = performance.now();
  const child = spawn(
    'script',
    ['-qfec', `stty cols ${options.columns} rows ${options.rows}; exec ${quoted}`, '/dev/null'],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const chunks: Chunk[] = [];
  const waiters = new Set<() => void>();
  const onData = (data: Buffer): void => {
    chunks.push({ atMs: performance.now() - started, text: data.toString('utf8') });
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const screenText = (): string => stripEscapes(chunks.map((chunk) => chunk.text).join(''));
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) => {
    child.on('exit', (code) => resolve({ code, atMs: performance.now() - started }));
  });
  return {
    child,
    chunks,
    screenText,
    rawText: () => chunks.map((chunk) => chunk.text).join(''),
    waitFor(ok, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!ok(screenText())) return;
          cleanup();
          resolve(performance.now() - started);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `${what}: not seen within ${timeoutMs} ms; screen so far:\n${screenText().slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    type(keys) {
      child.stdin?.write(keys);
    },
    exited,
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
