import { evaluatePoint, type PointTask } from './evaluate-point.js';
import type { Metrics } from './objectives.js';

/** A task's figures, or its own error as data: a rejected run then means the thread died. */
export type PointOutcome =
  | { readonly metrics: Metrics }
  | { readonly failure: { readonly name: string; readonly message: string } };

/** piscina's entry: one task in, its figures (or its error) out. */
export default async function runPointTask(task: PointTask): Promise<PointOutcome> {
  try {
    return { metrics: await evaluatePoint(task) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { failure: { name: e.name, message: e.message } };
  }
}
