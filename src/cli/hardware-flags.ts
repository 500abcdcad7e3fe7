import { UsageError } from '../common/input-error.js';
import { type ArrayShape, DATAFLOWS, type Dataflow, isDataflow } from '../core/array.js';
import { PRECISIONS, type Precision } from '../core/energy-table.js';
import { parseArraySpec } from './array-spec.js';

/** The hardware flags `simulate` and `replay` share, as typed on the command line. */
export interface HardwareFlagText {
  readonly array?: string | undefined;
  readonly dataflow?: string | undefined;
  readonly precision?: string | undefined;
}

/** The flags parsed; a flag not given is absent, so spreading the result overrides only what was given. */
export interface HardwareFlags {
  array?: ArrayShape;
  dataflow?: Dataflow;
  precision?: Precision;
}

/** Parses `--array`, `--dataflow`, `--precision` (case-insensitive); a bad value is a usage error naming the flag. */
export function parseHardwareFlags(options: HardwareFlagText): HardwareFlags {
  const out: HardwareFlags = {};
  if (options.array !== undefined) out.array = parseArraySpec(options.array);
  if (options.dataflow !== undefined) {
    const d = options.dataflow.toLowerCase();
    if (!isDataflow(d)) {
      throw new UsageError(
        '--dataflow',
        '',
        `unknown dataflow "${options.dataflow}" (use ${DATAFLOWS.join(', ')})`,
      );
    }
    out.dataflow = d;
  }
  if (options.precision !== undefined) {
    const p = options.precision.toLowerCase();
    if (!(PRECISIONS as readonly string[]).includes(p)) {
      throw new UsageError(
        '--precision',
        '',
        `unknown precision "${options.precision}" (use ${PRECISIONS.join(', ')})`,
      );
    }
    out.precision = p as Precision;
  }
  return out;
}
