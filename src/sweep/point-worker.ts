import { InputError } from '../common/input-error.js';
import { evaluatePoint, type PointTask } from './evaluate-point.js';
import type { Metrics } from './objectives.js';

/** A task's own error as data; `input` when it was bad input (a corrupt trace), so the CLI exits 2. */
export interface PointFailure {
  readonly name: string;
  readonly message: string;
  readonly input?: { readonly source: string; readonly location: string; readonly rule: string };
}

/** A task's figures, or its own error as data: a rejected run then means the thread died. */
export type PointOutcome = { readonly metrics: Metrics } | { readonly failure: PointFailure };

/** piscina's entry: one task in, its figures (or its error) out. */
export default async function runPointTask(task: PointTask): Promise<PointOutcome> {
  try {
    return { metrics: await evaluatePoint(task) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const input =
      e instanceof InputError ? { source: e.source, location: e.location, rule: e.rule } : undefined;
    return { failure: { name: e.name, message: e.message, ...(input ? { input } : {}) } };
  }
}
