/**
 * What the laws run: deltasim's own replay of a trace file, or a user's extension of it. Laws talk
 * to the model only through this interface and the report JSON (src/core/report.ts), so they hold
 * for any engine that produces a report — a fork, a wrapper adding a feature, a new preset.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardwareModel } from '../core/hardware.js';
import type { Report } from '../core/report.js';
import { replayTrace } from '../replay/replay-trace.js';
import { openTrace } from '../trace/reader.js';
import { type InMemoryTrace, type WriteTraceOptions, writeTrace } from './trace.js';

export interface Engine {
  readonly name: string;
  /** The report of replaying the trace file at `tracePath` on `hardware` (what `replay --json` prints last). */
  replay(tracePath: string, hardware: HardwareModel): Promise<Report>;
}

/** deltasim's replay: the same code path as `deltasim replay`, without verification. */
export const deltasimEngine: Engine = {
  name: 'deltasim',
  async replay(tracePath, hardware) {
    const reader = await openTrace(tracePath);
    try {
      const result = await replayTrace(reader, {
        hardware,
        toolVersion: 'deltasim-testing',
        verify: false,
        onEvent: () => {},
      });
      return result.report;
    } finally {
      await reader.close();
    }
  },
};

/**
 * A user's extension: a function of deltasim's engine returning the extended one (the default
 * export of a module `deltasim check --engine FILE` loads).
 */
export type EngineExtension = (base: Engine) => Engine;

/** Writes `trace` into a fresh temporary directory, runs `use` on its path, removes the directory. */
export async function withTraceFile<T>(
  trace: InMemoryTrace,
  use: (path: string) => Promise<T>,
  options: WriteTraceOptions = {},
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'deltasim-check-'));
  try {
    const path = join(dir, 'trace.safetensors');
    await writeTrace(path, trace, options);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
