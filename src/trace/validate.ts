/**
 * Full validation of a trace (docs/trace-format.md, "Validation"): the structural rules `openTrace`
 * checks before use, then every tensor's data — checksum, no NaN/Inf, mask equal to the mask of the
 * values. Reads one tensor at a time, so memory stays O(largest tensor).
 */
import { maskMatches } from './mask.js';
import { openTrace, type TraceReader } from './reader.js';
import { TraceError } from './trace-error.js';

/** Past this many problems in one trace the rest are summarised: the first ones say what is wrong. */
export const MAX_REPORTED_ERRORS = 50;

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
        // Values in recycled memory (valid until the next transient read), the small mask in its own.
        const values = await reader.readValues(info.name, { transient: true });
        const mask = await reader.readMask(info.name);
        if (!maskMatches(mask, values)) {
          errors.push(new TraceError(path, `tensor "${info.name}#mask"`, 'mask disagrees with the values'));
        }
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
