/**
 * How property tests are replayed and deepened from the environment (docs/testing.md):
 * `FC_SEED` fixes fast-check's seed, `FC_PATH` replays one failure's path (with its seed),
 * `FC_RUNS` overrides every property's number of runs (`npm run test:props -- --runs N`).
 * A malformed value fails loudly instead of being ignored.
 */
function envInteger(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`${name}=${raw}: must be an integer in [${min}, ${max}]`);
  return n;
}

function envPath(): string | undefined {
  const raw = process.env.FC_PATH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+(:\d+)*$/.test(raw)) throw new Error(`FC_PATH=${raw}: must be a fast-check path such as 3:0:1`);
  return raw;
}

export const PROPS_ENV = {
  // fast-check seeds are 32-bit signed integers as printed in "(with seed=…)".
  seed: envInteger('FC_SEED', -(2 ** 31), 2 ** 32 - 1),
  path: envPath(),
  runs: envInteger('FC_RUNS', 1, 10_000_000),
} as const;

/** A property's runs: FC_RUNS when set, else the test's own budget. */
export function propRuns(fallback: number): number {
  return PROPS_ENV.runs ?? fallback;
}
