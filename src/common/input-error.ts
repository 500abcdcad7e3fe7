/**
 * Bad input found at an edge (a file, a flag, a trace). Every edge has its own subclass so callers
 * can tell where it came from; the CLI prints `toLine()` as the single stderr line and exits 2.
 */
export class InputError extends Error {
  constructor(
    /** The file (or `--flag`) the bad input came from. */
    readonly source: string,
    /** Where inside it: `row 3, field "Strides"`, `tensor "l0.act"`, `architecture_presets.ArrayHeight`. */
    readonly location: string,
    /** What rule was broken, in a few words. */
    readonly rule: string,
  ) {
    super(location ? `${source}: ${location}: ${rule}` : `${source}: ${rule}`);
    this.name = new.target.name;
  }

  toLine(): string {
    return `${this.name}: ${this.message}`;
  }
}

/** Bad command-line usage (unknown option, malformed `--array`, …). */
export class UsageError extends InputError {}
