import type { RunEvent } from '../core/events.js';
import type { HardwareModel } from '../core/hardware.js';
import { openTrace, type TraceReader } from '../trace/reader.js';
// Types only: the synthesizer (and its writer) loads when a plan has a synthetic trace, so a pool
// thread that only replays does not load it.
import type { parseSyntheticSpec, SynthesizeOptions } from '../trace/synthesize.js';
import { replayTrace, type VerifyFailure, yieldTurn } from './replay-trace.js';

/** A trace to replay, and the name reports show for it (what the user typed). */
export interface ReplaySource {
  readonly path: string;
  readonly label: string;
}

/**
 * Everything `replay` computes, as plain data: it crosses into a worker thread unchanged (structured
 * clone), so the dashboard's process and the plain one run the very same work.
 */
export interface ReplayPlan {
  readonly traces: readonly ReplaySource[];
  /** `--synthetic NAME[:DENSITY[:STEPS]]`: written to `path` first (a temporary directory the caller owns). */
  readonly synthetic?: { readonly spec: string; readonly seed: number; readonly path: string };
  readonly hardware: readonly HardwareModel[];
  readonly verify: boolean;
  readonly toolVersion: string;
  readonly histogramBins: number;
  /** `--schedule chunkwise`: delta-rule blocks replay their chunked schedule (./chunk-replay.ts). */
  readonly schedule?: 'recurrent' | 'chunkwise';
}

export interface ReplayDriverHooks {
  /** Every run's events; runs are numbered trace-major (each trace on every hardware, in order). */
  onEvent(event: RunEvent, runIndex: number): void;
  /** What happens before a run has started (synthesis, opening a trace), as a short line. */
  onPhase?(text: string): void;
  /** Stops the work at the next step; with it the work also yields to the event loop after every step. */
  readonly signal?: AbortSignal;
}

export interface RunVerifyFailure {
  /** The run it belongs to (trace-major order), so failures from several workers sort as one run would. */
  readonly runIndex: number;
  readonly label: string;
  readonly hardware: string;
  readonly failure: VerifyFailure;
}

/** The `--synthetic` trace's label in reports. */
export const syntheticLabel = (spec: string): string => `synthetic:${spec}`;

/**
 * The options `--synthetic` synthesizes with, shared with `trace synth` so both write the same bytes.
 * F16 holds the synthetic values (multiples of 0.25) exactly, so Σ Δ = q and --verify holds.
 */
export function syntheticTraceOptions(
  spec: ReturnType<typeof parseSyntheticSpec>,
  seed: number,
): SynthesizeOptions {
  return { ...spec, seed, dtype: 'F16' };
}

/** Writes the plan's `--synthetic` trace; resolves to it as a source to replay. */
export async function synthesizePlanTrace(
  synthetic: NonNullable<ReplayPlan['synthetic']>,
  hooks: ReplayDriverHooks,
): Promise<ReplaySource> {
  const { signal } = hooks;
  const { spec, seed, path } = synthetic;
  const label = syntheticLabel(spec);
  hooks.onPhase?.(`synthesizing trace ${label}…`);
  const { parseSyntheticSpec, synthesizeTrace } = await import('../trace/synthesize.js');
  await synthesizeTrace(path, {
    ...syntheticTraceOptions(parseSyntheticSpec(spec), seed),
    onStep: async (done, total) => {
      hooks.onPhase?.(`synthesizing trace ${label}: step ${done}/${total}`);
      if (signal) {
        await yieldTurn();
        signal.throwIfAborted();
      }
    },
  });
  return { path, label };
}

/**
 * Synthesizes (if asked), then replays every trace on every hardware model, in plan order. `opened`:
 * readers the caller opened already, by path (used instead of opening again, and left open).
 */
export async function driveReplays(
  plan: ReplayPlan,
  hooks: ReplayDriverHooks,
  opened?: ReadonlyMap<string, TraceReader>,
): Promise<readonly RunVerifyFailure[]> {
  const { signal } = hooks;
  const sources = [...plan.traces];
  if (plan.synthetic) sources.push(await synthesizePlanTrace(plan.synthetic, hooks));
  const failures: RunVerifyFailure[] = [];
  const replay =
    plan.schedule === 'chunkwise' ? (await import('./chunk-replay.js')).replayTraceChunkwise : replayTrace;
  const count = plan.hardware.length;
  for (const [sourceIndex, source] of sources.entries()) {
    signal?.throwIfAborted();
    hooks.onPhase?.(`reading trace ${source.label}…`);
    const reader = opened?.get(source.path) ?? (await openTrace(source.path));
    try {
      for (const [h, hardware] of plan.hardware.entries()) {
        const index = sourceIndex * count + h;
        const result = await replay(labelled(reader, source.label), {
          hardware,
          toolVersion: plan.toolVersion,
          verify: plan.verify,
          histogramBins: plan.histogramBins,
          onEvent: (event) => hooks.onEvent(event, index),
          ...(signal ? { signal } : {}),
        });
        for (const failure of result.verifyFailures)
          failures.push({ runIndex: index, label: source.label, hardware: hardware.name, failure });
      }
    } finally {
      if (!opened?.has(source.path)) await reader.close();
    }
  }
  return failures;
}

/** The reader with the path shown in reports replaced by what the user typed. */
export function labelled<T extends { readonly path: string }>(reader: T, label: string): T {
  return new Proxy(reader, {
    get: (target, key, receiver) => (key === 'path' ? label : Reflect.get(target, key, receiver)),
  });
}
