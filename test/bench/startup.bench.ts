/**
 * Whole-process start-up of `deltasim simulate` on the bundled ResNet-18 topology: the json path
 * (which must not load ink/React) against the TUI path, plus the cost of the TUI module graph alone.
 * Each sample spawns a fresh `node` on the built CLI (`npm run bench startup` builds first).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measure, printTable } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SIMULATE = ['dist/cli/main.js', 'simulate', '--topology', 'configs/topologies/resnet18.csv'];

function runNode(args: readonly string[]): void {
  // stdin ignored and stdout a pipe: no TTY, so `--ui tui` draws its final frame and ends.
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '' },
  });
  if (result.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
}

export default async function startupBench(): Promise<void> {
  const options = { iterations: 7, warmup: 1 };
  const rows = [
    await measure('node (empty script)', () => runNode(['-e', '']), options),
    await measure('simulate --json', () => runNode([...SIMULATE, '--json']), options),
    await measure('simulate --ui plain', () => runNode([...SIMULATE, '--ui', 'plain']), options),
    await measure(
      'simulate --ui tui (no TTY: final frame)',
      () => runNode([...SIMULATE, '--ui', 'tui']),
      options,
    ),
    await measure(
      'import TUI graph (ink, React, @inkjs/ui, src/tui)',
      () => runNode(['--input-type=module', '-e', "await import('./dist/tui/start-dashboard.js')"]),
      options,
    ),
    await measure(
      'import json reporter graph only',
      () => runNode(['--input-type=module', '-e', "await import('./dist/cli/reporters/json.js')"]),
      options,
    ),
  ];
  printTable('deltasim start-up (whole process, ResNet-18 topology, 32×32 OS)', rows, [
    'The json path never imports ink, React or src/tui (test/cli/reporters/lazy-tui.test.ts checks it).',
  ]);
}
