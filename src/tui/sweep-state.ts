import type { SweepEvent, SweepObjective, SweepParamValue } from './sweep-events.js';

export interface SweepPoint {
  readonly index: number;
  readonly params: Readonly<Record<string, SweepParamValue>>;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface SweepState {
  readonly points: readonly SweepPoint[];
  readonly done: boolean;
}

export const EMPTY_SWEEP: SweepState = { points: [], done: false };

export function reduceSweepEvent(state: SweepState, event: SweepEvent): SweepState {
  if (event.type === 'sweep-done') return { ...state, done: true };
  return {
    ...state,
    points: [...state.points, { index: event.index, params: event.params, metrics: event.metrics }],
  };
}

/** Oriented so that smaller is better whatever the goal; a missing or NaN metric is worst. */
function cost(point: SweepPoint, objective: SweepObjective): number {
  const value = point.metrics[objective.metric];
  if (value === undefined || Number.isNaN(value)) return Number.POSITIVE_INFINITY;
  return objective.goal === 'min' ? value : -value;
}

/** `a` is at least as good as `b` in every objective and better in one. */
export function dominates(a: SweepPoint, b: SweepPoint, objectives: readonly SweepObjective[]): boolean {
  let better = false;
  for (const objective of objectives) {
    const ca = cost(a, objective);
    const cb = cost(b, objective);
    if (ca > cb) return false;
    if (ca < cb) better = true;
  }
  return better;
}

/** The points no other point dominates, in arrival order (O(n²): a live view holds hundreds, not millions). */
export function paretoFront(
  points: readonly SweepPoint[],
  objectives: readonly SweepObjective[],
): readonly SweepPoint[] {
  return points.filter((candidate) => !points.some((other) => dominates(other, candidate, objectives)));
}

/** The best point so far for one objective (first arrival wins ties). */
export function bestFor(points: readonly SweepPoint[], objective: SweepObjective): SweepPoint | undefined {
  let best: SweepPoint | undefined;
  for (const point of points) {
    if (cost(point, objective) === Number.POSITIVE_INFINITY) continue;
    if (!best || cost(point, objective) < cost(best, objective)) best = point;
  }
  return best;
}

export function formatParams(params: Readonly<Record<string, SweepParamValue>>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}
