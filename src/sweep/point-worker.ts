import { evaluatePoint, type PointTask } from './evaluate-point.js';
import type { Metrics } from './objectives.js';

/** piscina's entry: one task in, its figures out. */
export default function runPointTask(task: PointTask): Promise<Metrics> {
  return evaluatePoint(task);
}
