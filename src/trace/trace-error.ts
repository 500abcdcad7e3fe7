import { InputError } from '../common/input-error.js';

/**
 * A trace that breaks a rule of docs/trace-format.md (or a writer asked to break one).
 * `source` is the file, `location` the tensor or header field, `rule` what was broken.
 */
export class TraceError extends InputError {}

/**
 * The trace could not be read at all (missing file, a directory, no permission): `trace validate`
 * exits 2 for these and 1 for a readable but invalid trace.
 */
export class TraceUnreadableError extends TraceError {}
