#!/usr/bin/env node
// `npm run test:props -- --runs N [--seed S] [--path P] [vitest args…]`: every property-based test
// file, each property run N times (FC_RUNS), optionally at a fixed seed / replay path. For deep runs
// outside CI; `npm test` keeps each property's own budget.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env };
const rest = [];
const flags = { '--runs': 'FC_RUNS', '--seed': 'FC_SEED', '--path': 'FC_PATH' };
for (let i = 0; i < args.length; i++) {
  const name = flags[args[i]];
  if (name === undefined) {
    rest.push(args[i]);
    continue;
  }
  const value = args[++i];
  if (value === undefined) {
    console.error(`test:props: ${args[i - 1]} needs a value`);
    process.exit(2);
  }
  env[name] = value;
}

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return /\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

// A property test imports fast-check (directly or through @fast-check/vitest) or the kit's laws.
const files = testFiles(join(root, 'test'))
  .filter((file) => /from '(@fast-check\/vitest|fast-check)'|src\/testing\//.test(readFileSync(file, 'utf8')))
  .map((file) => relative(root, file));
const result = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files, ...rest],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
