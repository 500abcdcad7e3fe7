import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';

/** Runs the CLI in this process with captured output, as a user in `cwd` would (no terminal). */
export async function runInProcess(
  argv: readonly string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
