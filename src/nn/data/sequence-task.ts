/**
 * A batch of token sequences for next-token training: `inputs[b·T + t]` is the token at position t,
 * `labels[b·T + t]` what the model must predict there (IGNORE_LABEL: not scored). Tasks whose
 * correctness is a set of tokens rather than one (RegBench: any continuation the automaton accepts)
 * also give `validNext`, a bitmask of the acceptable tokens per position (vocab ≤ 32).
 */
export interface SequenceBatch {
  readonly count: number;
  readonly seqLen: number;
  readonly vocab: number;
  readonly inputs: Int32Array;
  readonly labels: Int32Array;
  readonly validNext?: Uint32Array;
}

/** The label of positions the loss and the accuracy skip (PyTorch's cross-entropy default). */
export const IGNORE_LABEL = -100;

/** The tasks `deltasim train deltanet --task` knows. */
export type SequenceTaskName = 'mqar' | 'mad-recall' | 'mad-noisy' | 'mad-copy' | 'regbench';
export const SEQUENCE_TASKS: readonly SequenceTaskName[] = [
  'mqar',
  'mad-recall',
  'mad-noisy',
  'mad-copy',
  'regbench',
];

/** Whether prediction `token` at flat position `i` counts as correct. */
export function isCorrect(batch: SequenceBatch, i: number, token: number): boolean {
  if (batch.validNext) return token < 32 && ((batch.validNext[i]! >>> token) & 1) === 1;
  return token === batch.labels[i];
}

/** Distinct integers drawn uniformly from [from, to) (a partial Fisher–Yates shuffle). */
export function sampleDistinct(next: () => number, from: number, to: number, count: number): number[] {
  const pool = Array.from({ length: to - from }, (_, i) => from + i);
  if (count > pool.length) throw new Error(`cannot draw ${count} distinct values from [${from}, ${to})`);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
