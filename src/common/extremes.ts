/**
 * Largest and smallest of a list of any length. `Math.max(...values)` passes every value as a call
 * argument and overflows the stack past ~10^5 of them (a 300,000-row topology's table did).
 */
export function largest(values: Iterable<number>, floor = Number.NEGATIVE_INFINITY): number {
  let out = floor;
  for (const value of values) if (value > out) out = value;
  return out;
}

export function smallest(values: Iterable<number>, ceiling = Number.POSITIVE_INFINITY): number {
  let out = ceiling;
  for (const value of values) if (value < out) out = value;
  return out;
}
