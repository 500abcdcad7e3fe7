import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, for tests that read its files or run its build. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Every file below `dir` (relative to the repository root) whose name matches `name`, as absolute paths. */
export function filesUnder(dir: string, name: RegExp): string[] {
  const walk = (path: string): string[] =>
    readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return walk(child);
      return name.test(entry.name) ? [child] : [];
    });
  return walk(join(REPO_ROOT, dir));
}
