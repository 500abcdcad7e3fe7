import { InputError } from '../common/input-error.js';

/** Longest location or rule an error quotes: a hostile tensor name must not become a huge line. */
const MAX_PART_CHARS = 240;

/**
 * What a trace file says, made safe to print on one line: control characters (a newline in a tensor
 * name) are escaped as in JSON, and an overlong part is cut with "…".
 */
function printable(text: string, maxChars = MAX_PART_CHARS): string {
  let escaped = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    const control = code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029;
    escaped += control ? `\\u${code.toString(16).padStart(4, '0')}` : c;
    if (escaped.length > maxChars) return `${escaped.slice(0, maxChars)}…`;
  }
  return escaped;
}

/**
 * A trace that breaks a rule of docs/trace-format.md (or a writer asked to break one).
 * `source` is the file, `location` the tensor or header field, `rule` what was broken.
 */
export class TraceError extends InputError {
  constructor(source: string, location: string, rule: string) {
    super(printable(source, Number.POSITIVE_INFINITY), printable(location), printable(rule));
  }
}

/**
 * The trace could not be read at all (missing file, a directory, no permission): `trace validate`
 * exits 2 for these and 1 for a readable but invalid trace.
 */
export class TraceUnreadableError extends TraceError {}
