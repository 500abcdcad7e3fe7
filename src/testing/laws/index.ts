import { executedEqualsBruteForce, executedPlusSkippedEqualsMacs } from './counting.js';
import { denseParity, speedupSameMemoryBaseline } from './dense.js';
import { replayDeterministic, traceWriteReadIdentity } from './determinism.js';
import type { AnyLaw } from './law.js';
import { energyNonNegativeAdditive, residencyNeverAddsDram } from './memory-energy.js';
import { sweepShardsMerged } from './sweep.js';
import { gatingKeepsCycles, monotoneInZeros, overlapOrder } from './timing.js';

export { bruteForceTrace, executedEqualsBruteForce, executedPlusSkippedEqualsMacs } from './counting.js';
export { denseParity, densified, speedupSameMemoryBaseline } from './dense.js';
export { replayDeterministic, traceWriteReadIdentity } from './determinism.js';
export { type AnyLaw, close, defineLaw, expectLaw, type Law, LawViolation, type Subject } from './law.js';
export { energyNonNegativeAdditive, residencyNeverAddsDram } from './memory-energy.js';
export { mapSupport, replayVariants } from './replay-variants.js';
export { type CheckOptions, checkLaw, checkLaws, type LawResult } from './run-laws.js';
export { type SweepShardCase, sweepShardsMerged } from './sweep.js';
export { gatingKeepsCycles, monotoneInZeros, overlapOrder, withMoreZeros } from './timing.js';

/** Every law, in the order `deltasim check` runs and prints them. */
export const LAWS: readonly AnyLaw[] = [
  executedEqualsBruteForce,
  executedPlusSkippedEqualsMacs,
  denseParity,
  monotoneInZeros,
  gatingKeepsCycles,
  overlapOrder,
  residencyNeverAddsDram,
  energyNonNegativeAdditive,
  speedupSameMemoryBaseline,
  replayDeterministic,
  traceWriteReadIdentity,
  sweepShardsMerged,
];
