/**
 * What test files get for `@fast-check/vitest` (a vitest alias): the package itself, with
 * `test.prop` / `it.prop` taking their number of runs from FC_RUNS when it is set, so
 * `npm run test:props -- --runs N` deepens every property, including those with their own budget.
 */
import type { Parameters as FcParameters } from 'fast-check';
// The real package, by file (the alias only matches the bare specifier).
import * as real from '../node_modules/@fast-check/vitest/lib/vitest-fast-check.js';
import { PROPS_ENV } from './props-config.js';

export * from '../node_modules/@fast-check/vitest/lib/vitest-fast-check.js';

function withRuns<T extends object>(runner: T): T {
  if (PROPS_ENV.runs === undefined) return runner;
  const runs = PROPS_ENV.runs;
  return new Proxy(runner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'prop' || typeof value !== 'function') return value;
      return (arbitraries: unknown, params?: FcParameters<unknown>) =>
        value.call(target, arbitraries, { ...params, numRuns: runs });
    },
  });
}

export const test: typeof real.test = withRuns(real.test);
export const it: typeof real.it = withRuns(real.it);
