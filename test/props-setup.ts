/**
 * vitest setupFiles entry: every fast-check property of the suite (test.prop and fc.assert alike)
 * takes its seed and replay path from FC_SEED / FC_PATH. Runs are applied per property by
 * test/fast-check-vitest.ts, since a test's own numRuns would win over a global one.
 */
import fc from 'fast-check';
import { PROPS_ENV } from './props-config.js';

fc.configureGlobal({
  ...fc.readConfigureGlobal(),
  ...(PROPS_ENV.seed !== undefined ? { seed: PROPS_ENV.seed } : {}),
  ...(PROPS_ENV.path !== undefined ? { path: PROPS_ENV.path } : {}),
  ...(PROPS_ENV.runs !== undefined ? { numRuns: PROPS_ENV.runs } : {}),
});
