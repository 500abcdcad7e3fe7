/**
 * Runs laws as fast-check properties and reports each as data: passed or the shrunk counterexample,
 * with the seed and path that replay exactly that run (`fc.assert(…, { seed, path })`, or
 * `deltasim check --law NAME --seed S --path P`).
 */
import fc from 'fast-check';
import type { AnyLaw, Subject } from './law.js';

export interface CheckOptions {
  /** Generated cases per law. */
  readonly runs: number;
  /** fast-check seed (32-bit integer); the same seed draws the same cases. */
  readonly seed: number;
  /** Replay path of a failure (from a LawResult); with it only that case and its shrinks run. */
  readonly path?: string;
  /** Called as each law finishes (progress on a terminal). */
  readonly onResult?: (result: LawResult) => void;
}

export interface LawResult {
  readonly law: string;
  readonly statement: string;
  readonly passed: boolean;
  /** Cases run (shrinking steps not counted). */
  readonly runs: number;
  readonly seed: number;
  readonly path?: string;
  /** The shrunk counterexample, described by the law. */
  readonly counterexample?: string;
  /** What broke in it (the LawViolation's message, or an engine error's). */
  readonly error?: string;
  readonly shrinks?: number;
}

export async function checkLaw(law: AnyLaw, subject: Subject, options: CheckOptions): Promise<LawResult> {
  const details = await fc.check(law.property(subject), {
    numRuns: Math.min(options.runs, law.maxRuns ?? options.runs),
    seed: options.seed,
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  const base = { law: law.name, statement: law.statement, runs: details.numRuns, seed: details.seed };
  if (!details.failed) return { ...base, passed: true };
  const error = details.errorInstance;
  return {
    ...base,
    passed: false,
    ...(details.counterexamplePath !== null ? { path: details.counterexamplePath } : {}),
    ...(details.counterexample !== null ? { counterexample: law.describe(details.counterexample[0]) } : {}),
    error: error instanceof Error ? error.message : String(error),
    shrinks: details.numShrinks,
  };
}

/** Every law in turn (a failing law does not stop the others). */
export async function checkLaws(
  laws: readonly AnyLaw[],
  subject: Subject,
  options: CheckOptions,
): Promise<LawResult[]> {
  const results: LawResult[] = [];
  for (const law of laws) {
    const result = await checkLaw(law, subject, options);
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}
