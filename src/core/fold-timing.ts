import type { ArrayShape, Dataflow } from './array.js';

/**
 * Cycles one fold occupies the array when `streamCycles` operand steps are streamed through it
 * (SCALE-Sim v2): OS `T + R + C − 2` (skew in, stream, drain), WS/IS `2R + C + T − 2` (R extra
 * cycles to preload the stationary operand). Dense timing passes T itself; the sparse engine
 * passes the slowest lane's effective stream length instead, and nothing else changes.
 */
export function cyclesPerFold(streamCycles: number, array: ArrayShape, dataflow: Dataflow): number {
  const { rows, cols } = array;
  // One expression for every dataflow: a design of the other dataflow that comes later does not meet
  // arithmetic without type feedback in the optimized callers (a deopt of each, then a recompile).
  return streamCycles + rows + cols - 2 + (dataflow === 'os' ? 0 : rows);
}
