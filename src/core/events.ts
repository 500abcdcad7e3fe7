import type { HardwareSummary, LayerReport, Report } from './report.js';

/**
 * The one stream every run produces and every front end consumes (plain, json, tui), in order:
 * run-start, then per layer layer-start → layer-progress* → layer-done, then run-done.
 * Events are plain JSON-serialisable objects: the json reporter prints them as NDJSON unchanged.
 */
export type RunEvent =
  | {
      readonly type: 'run-start';
      readonly command: 'simulate' | 'replay';
      readonly sources: readonly string[];
      readonly hardware: HardwareSummary;
      /** Every layer the run will visit, known up front so a UI can lay out its table. */
      readonly layers: readonly { readonly name: string; readonly op: string; readonly macs: number }[];
      /** Steps (frames / tokens) in the source, 1 for a topology. */
      readonly steps: number;
      /** The model the trace was recorded from (trace manifest), when there is one. */
      readonly model?: string;
      /** What computed the figures, e.g. `dense (SCALE-Sim parity)` or `sparse replay`. */
      readonly backend?: string;
    }
  | { readonly type: 'layer-start'; readonly index: number; readonly name: string }
  | {
      readonly type: 'layer-progress';
      readonly index: number;
      readonly done: number;
      readonly total: number;
      readonly unit: 'steps' | 'folds';
      /** Per finished step: fraction of the layer's MACs executed at that step (for sparklines). */
      readonly executedFraction?: number;
    }
  | { readonly type: 'layer-done'; readonly index: number; readonly layer: LayerReport }
  | { readonly type: 'run-done'; readonly report: Report };

export type RunEventType = RunEvent['type'];

/**
 * The one emitter of a run's layer and step events: `simulate` (one step per layer) and `replay`
 * (one per trace step) build them here, so every front end sees the same shapes from both.
 */
export const runEvents = {
  layerStart(index: number, name: string): RunEvent {
    return { type: 'layer-start', index, name };
  },
  /** Step `done` of `total` of layer `index` is finished; its executed fraction feeds sparklines. */
  stepDone(
    index: number,
    done: number,
    total: number,
    step: { readonly macs: number; readonly executedMacs: number },
  ): RunEvent {
    return {
      type: 'layer-progress',
      index,
      done,
      total,
      unit: 'steps',
      executedFraction: step.macs > 0 ? step.executedMacs / step.macs : 0,
    };
  },
  layerDone(index: number, layer: LayerReport): RunEvent {
    return { type: 'layer-done', index, layer };
  },
  runDone(report: Report): RunEvent {
    return { type: 'run-done', report };
  },
};
