import {
  TRACE_FORMAT,
  TRACE_FORMAT_VERSION,
  type TraceLayer,
  type TraceManifest,
} from '../../trace/manifest.js';
import { createTraceWriter, type TraceWriter, type ValueDtype } from '../../trace/writer.js';

/** What every recorder is told about the trace it writes: where, by whom, of which model. */
export interface RecordingOptions {
  readonly out: string;
  readonly seed: number;
  readonly modelName: string;
  /** Path of the model's card.json relative to the repository, for the manifest. */
  readonly cardPath?: string;
  readonly producer: string;
  readonly dtype?: ValueDtype;
  /** Replace an existing trace at `out` (the user's `--force`); otherwise an existing file is refused. */
  readonly overwrite?: boolean;
}

/** Opens the trace writer with the manifest header every recorder shares (steps follow as written). */
export function openRecording(
  family: string,
  layers: readonly TraceLayer[],
  options: RecordingOptions,
  /** Optional manifest sections a family adds (the chunked schedule of delta-rule layers). */
  extra: Pick<TraceManifest, 'chunkwise'> = {},
): Promise<TraceWriter> {
  return createTraceWriter(options.out, {
    manifest: {
      format: TRACE_FORMAT,
      version: TRACE_FORMAT_VERSION,
      producer: options.producer,
      model: {
        name: options.modelName,
        family,
        ...(options.cardPath ? { card: options.cardPath } : {}),
      },
      seed: options.seed,
      layers,
      ...extra,
    },
    overwrite: options.overwrite === true,
    ...(options.dtype ? { dtype: options.dtype } : {}),
  });
}
