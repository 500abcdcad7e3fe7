import type { RunEvent } from '../core/events.js';
import type { HardwareSummary, LayerReport, Report } from '../core/report.js';

/**
 * What the dashboard knows after some prefix of the event stream: a pure fold over RunEvents, so the
 * views render from data and tests can replay recorded streams without a terminal.
 */
export type LayerStatus = 'pending' | 'running' | 'done';

export interface LayerRow {
  readonly index: number;
  readonly name: string;
  readonly op: string;
  readonly macs: number;
  readonly status: LayerStatus;
  readonly progressDone: number;
  readonly progressTotal: number;
  readonly progressUnit: 'steps' | 'folds';
  /** executedFraction of each finished step, in step order (the sparsity strip). */
  readonly executedFractions: readonly number[];
  readonly report?: LayerReport;
}

export interface RunState {
  readonly runIndex: number;
  readonly command: 'simulate' | 'replay';
  readonly sources: readonly string[];
  readonly hardware: HardwareSummary;
  readonly steps: number;
  readonly model?: string;
  readonly backend?: string;
  readonly layers: readonly LayerRow[];
  readonly report?: Report;
}

export interface DashboardState {
  /** Indexed by runIndex; a run appears with its run-start. */
  readonly runs: readonly (RunState | undefined)[];
  /** What the command is doing before (or between) runs, e.g. synthesizing a trace. */
  readonly phase?: string;
}

export const EMPTY_DASHBOARD: DashboardState = { runs: [] };

export function reduceEvent(state: DashboardState, event: RunEvent, runIndex: number): DashboardState {
  if (event.type === 'run-start') {
    const run: RunState = {
      runIndex,
      command: event.command,
      sources: event.sources,
      hardware: event.hardware,
      steps: event.steps,
      ...(event.model !== undefined ? { model: event.model } : {}),
      ...(event.backend !== undefined ? { backend: event.backend } : {}),
      layers: event.layers.map((layer, index) => ({
        index,
        name: layer.name,
        op: layer.op,
        macs: layer.macs,
        status: 'pending',
        progressDone: 0,
        progressTotal: 0,
        progressUnit: 'folds',
        executedFractions: [],
      })),
    };
    return withRun(state, runIndex, run);
  }
  const run = state.runs[runIndex];
  // Events of a run whose start we never saw carry nothing we can place.
  if (!run) return state;
  switch (event.type) {
    case 'layer-start':
      return withRun(
        state,
        runIndex,
        withLayer(run, event.index, (row) => ({ ...row, status: 'running', name: event.name })),
      );
    case 'layer-progress':
      return withRun(
        state,
        runIndex,
        withLayer(run, event.index, (row) => ({
          ...row,
          status: row.status === 'done' ? 'done' : 'running',
          progressDone: event.done,
          progressTotal: event.total,
          progressUnit: event.unit,
          executedFractions:
            event.executedFraction === undefined
              ? row.executedFractions
              : [...row.executedFractions, event.executedFraction],
        })),
      );
    case 'layer-done':
      return withRun(
        state,
        runIndex,
        withLayer(run, event.index, (row) => ({
          ...row,
          status: 'done',
          name: event.layer.name,
          op: event.layer.op,
          macs: event.layer.macs,
          progressDone: row.progressTotal,
          report: event.layer,
        })),
      );
    case 'run-done':
      return withRun(state, runIndex, {
        ...run,
        report: event.report,
        // The final report is authoritative even for a layer whose layer-done we missed.
        layers: run.layers.map((row, index) => {
          const layer = event.report.layers[index];
          return layer ? { ...row, status: 'done', report: layer, progressDone: row.progressTotal } : row;
        }),
      });
  }
}

function withRun(state: DashboardState, runIndex: number, run: RunState): DashboardState {
  const runs = [...state.runs];
  while (runs.length < runIndex) runs.push(undefined);
  runs[runIndex] = run;
  return { ...state, runs };
}

function withLayer(run: RunState, index: number, update: (row: LayerRow) => LayerRow): RunState {
  const row = run.layers[index];
  if (!row) return run;
  const layers = [...run.layers];
  layers[index] = update(row);
  return { ...run, layers };
}

/** The state with a new phase line (the reporter's onPhase). */
export function withPhase(state: DashboardState, phase: string): DashboardState {
  return state.phase === phase ? state : { ...state, phase };
}

export function startedRuns(state: DashboardState): readonly RunState[] {
  return state.runs.filter((run): run is RunState => run !== undefined);
}

/** Finished share of the run's MACs, counting a running layer by its progress. */
export function runProgressFraction(run: RunState): number {
  let totalMacs = 0;
  let doneMacs = 0;
  for (const row of run.layers) {
    totalMacs += row.macs;
    doneMacs += row.macs * layerProgressFraction(row);
  }
  if (totalMacs === 0) {
    const done = run.layers.filter((row) => row.status === 'done').length;
    return run.layers.length === 0 ? (run.report ? 1 : 0) : done / run.layers.length;
  }
  return doneMacs / totalMacs;
}

export function layerProgressFraction(row: LayerRow): number {
  if (row.status === 'done') return 1;
  if (row.status === 'pending' || row.progressTotal <= 0) return 0;
  return Math.min(1, row.progressDone / row.progressTotal);
}

export function isRunDone(run: RunState): boolean {
  return run.report !== undefined;
}

/** The layer being computed now, if any (the first running one). */
export function currentLayer(run: RunState): LayerRow | undefined {
  return run.layers.find((row) => row.status === 'running');
}
