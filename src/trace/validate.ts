/**
 * Full validation of a trace (docs/trace-format.md, "Validation"): the structural rules `openTrace`
 * checks before use, then every tensor's data — checksum, no NaN/Inf, mask equal to the mask of the
 * values. Reads one tensor at a time, so memory stays O(largest tensor).
 */
import { maskMatches } from './mask.js';
import { openTrace, type TraceReader } from './reader.js';
import { LITTLE_ENDIAN, rawMaskMatches } from './tensor-scan.js';
import { TraceError } from './trace-error.js';

/** Past this many problems in one trace the rest are summarised: the first ones say what is wrong. */
export const MAX_REPORTED_ERRORS = 50;

/**
 * The data rules of one value tensor and its mask: checksums, no NaN/Inf, the mask equal to the mask
 * of the values; TraceError otherwise. Returns the mask (a buffer of the caller's own). `trace
 * validate`, `trace export` and `replay` (for every operand it uses) all apply it.
 */
export async function checkTensorData(reader: TraceReader, name: string): Promise<Uint8Array> {
  const { dtype } = reader.info(name);
  // The small mask in its own buffer first; then the values are judged during their read, in the
  // reader's recycled memory (a replay of several configurations reads other tensors of the same
  // reader concurrently, whose transient reads reuse that memory).
  const mask = await reader.readMask(name);
  const matches =
    !LITTLE_ENDIAN || dtype === 'U8'
      ? await reader.withValues(name, (values) => maskMatches(mask, values))
      : // The stored bits, checksum-verified and checked for NaN/Inf in one pass, judged without
        // decoding them (F16 decoding cost most of it).
        await reader.withBytes(name, (raw) => rawMaskMatches(mask, raw, dtype, reader.scaleOf(name) ?? 1), {
          finite: true,
        });
  if (!matches) throw maskMismatch(reader, name);
  return mask;
}

function maskMismatch(reader: TraceReader, name: string): TraceError {
  return new TraceError(reader.path, `tensor "${name}#mask"`, 'mask disagrees with the values');
}

/** Every rule the trace breaks, as TraceErrors (empty when valid). A structural error stops the scan. */
export async function validateTrace(path: string): Promise<readonly TraceError[]> {
  let reader: TraceReader;
  try {
    reader = await openTrace(path);
  } catch (error) {
    if (error instanceof TraceError) return [error];
    throw error;
  }
  const errors: TraceError[] = [];
  try {
    for (const info of reader.tensors()) {
      if (info.name.endsWith('#mask') || !reader.has(`${info.name}#mask`)) continue;
      if (errors.length >= MAX_REPORTED_ERRORS) {
        errors.push(
          new TraceError(path, '', `more problems not listed (stopped after ${MAX_REPORTED_ERRORS})`),
        );
        break;
      }
      try {
        await checkTensorData(reader, info.name);
      } catch (error) {
        if (!(error instanceof TraceError)) throw error;
        errors.push(error);
      }
    }
  } finally {
    await reader.close();
  }
  return errors;
}
