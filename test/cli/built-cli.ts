import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { filesUnder, REPO_ROOT } from '../repo-files.js';

/**
 * Running the built CLI the way a user does: a fresh `node dist/cli/main.js …` process. `npm test`
 * builds dist/ before vitest; when dist/ is missing or older than src/, these tests fail and say
 * so — they never skip.
 */
export const ROOT = REPO_ROOT;
export const BUILT_MAIN = join(ROOT, 'dist/cli/main.js');

/** Throws (failing the calling test) unless every src/ file has a compiled dist/ file at least as new. */
export function assertBuiltCli(): void {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${relative(ROOT, BUILT_MAIN)} is missing: run \`npm run build\` first (npm test does)`);
  }
  for (const source of filesUnder('src', /(?<!\.d)\.tsx?$/)) {
    const built = join(ROOT, 'dist', relative(join(ROOT, 'src'), source)).replace(/\.tsx?$/, '.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
      throw new Error(`${relative(ROOT, built)} is missing or older than its source: run \`npm run build\``);
    }
  }
}

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs `file args…` to completion (killed after `timeoutMs`), collecting its output. */
export function runProcess(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, [...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** `node dist/cli/main.js args…` as a fresh process. */
export function runBuiltCli(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  assertBuiltCli();
  return runProcess(process.execPath, [BUILT_MAIN, ...args], options);
}

/** The last non-empty stdout line parsed as JSON (what `| tail -n1 | jq` reads). */
export function lastJsonLine(stdout: string): unknown {
  const lines = stdout.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as unknown;
  } catch {
    throw new Error(`the last stdout line is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
}

/** stderr of a failed command: exactly one line, `deltasim: …`, and never an internal error. */
export function stderrLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '');
}
