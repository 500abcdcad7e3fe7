/**
 * ⌈a / b⌉ for a non-negative safe integer a and a positive integer b, exact. Not `Math.ceil(a / b)`
 * (the same value): while a function has only met divisions of small integers that come out whole,
 * V8 compiles its `/` as an integer division that gives up ("lost precision") on the first
 * fractional quotient — a deoptimization, and a recompile, in every function that inlined it. The
 * division here is always whole (a − a mod b by b), so that speculation holds, and for values past
 * 2^31 the double operations are exact (a mod b is, and the difference is a multiple of b ≤ a).
 */
export function ceilDiv(a: number, b: number): number {
  const rest = a % b;
  return (a - rest) / b + (rest > 0 ? 1 : 0);
}
