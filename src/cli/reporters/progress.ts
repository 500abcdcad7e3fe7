import type { RunEvent } from '../../core/events.js';
import type { Reporter } from './reporter.js';

export interface ProgressLineOptions {
  readonly stderr: { write(chunk: string): unknown };
  /** Milliseconds from any fixed origin (performance.now in the CLI, a fake in tests). */
  readonly now: () => number;
  /** At most one line per this many milliseconds, and none before the run has lasted that long. */
  readonly intervalMs?: number;
  /** Runs the command will make, for "run 2/3". */
  readonly expectedRuns?: number;
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 3000;

interface RunProgress {
  totalMacs: number;
  doneMacs: number;
  layerCount: number;
  layersDone: number;
  current?: { index: number; name: string; macs: number; fraction: number };
  macsByLayer: readonly number[];
}

/**
 * Wraps a reporter (the plain one) and writes "where are we" lines to stderr on long runs: short runs
 * print nothing extra, long ones a line every `intervalMs`. Time comes only from `now`, so tests drive
 * it with a fake clock and the line checks happen on events, not timers.
 */
export function withProgressLines(inner: Reporter, options: ProgressLineOptions): Reporter {
  const intervalMs = options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const expectedRuns = options.expectedRuns ?? 1;
  let startedMs: number | undefined;
  let lastLineMs = 0;
  const runs = new Map<number, RunProgress>();

  const update = (event: RunEvent, runIndex: number): void => {
    if (event.type === 'run-start') {
      runs.set(runIndex, {
        totalMacs: event.layers.reduce((sum, layer) => sum + layer.macs, 0),
        doneMacs: 0,
        layerCount: event.layers.length,
        layersDone: 0,
        macsByLayer: event.layers.map((layer) => layer.macs),
      });
      return;
    }
    const run = runs.get(runIndex);
    if (!run) return;
    if (event.type === 'layer-start') {
      run.current = {
        index: event.index,
        name: event.name,
        macs: run.macsByLayer[event.index] ?? 0,
        fraction: 0,
      };
    } else if (event.type === 'layer-progress' && run.current?.index === event.index && event.total > 0) {
      run.current.fraction = Math.min(1, event.done / event.total);
    } else if (event.type === 'layer-done') {
      run.doneMacs += event.layer.macs;
      run.layersDone++;
      if (run.current?.index === event.index) delete run.current;
    }
  };

  const line = (runIndex: number, elapsedMs: number): string | undefined => {
    const run = runs.get(runIndex);
    if (!run) return undefined;
    const doneMacs = run.doneMacs + (run.current ? run.current.macs * run.current.fraction : 0);
    const share = run.totalMacs > 0 ? doneMacs / run.totalMacs : run.layersDone / Math.max(1, run.layerCount);
    const parts = [
      ...(expectedRuns > 1 ? [`run ${runIndex + 1}/${expectedRuns}`] : []),
      run.current
        ? `layer ${run.current.index + 1}/${run.layerCount} ${run.current.name}`
        : `${run.layersDone}/${run.layerCount} layers`,
      `${(share * 100).toFixed(1)}% of MACs`,
      `${(elapsedMs / 1000).toFixed(1)} s`,
    ];
    return `deltasim: ${parts.join(' · ')}\n`;
  };

  return {
    onEvent(event, runIndex) {
      const nowMs = options.now();
      if (startedMs === undefined) {
        startedMs = nowMs;
        lastLineMs = nowMs;
      }
      update(event, runIndex);
      inner.onEvent(event, runIndex);
      if (event.type !== 'run-done' && nowMs - lastLineMs >= intervalMs) {
        const text = line(runIndex, nowMs - startedMs);
        if (text) {
          options.stderr.write(text);
          lastLineMs = nowMs;
        }
      }
    },
    onPhase(text) {
      const nowMs = options.now();
      if (startedMs === undefined) {
        startedMs = nowMs;
        lastLineMs = nowMs;
      }
      inner.onPhase?.(text);
      // A long synthesis says where it is, like a long run.
      if (nowMs - lastLineMs >= intervalMs) {
        options.stderr.write(`deltasim: ${text} · ${((nowMs - startedMs) / 1000).toFixed(1)} s\n`);
        lastLineMs = nowMs;
      }
    },
    finish: () => inner.finish(),
  };
}
