import { createPrng } from '../../common/prng.js';
import { IGNORE_LABEL, type SequenceBatch, sampleDistinct } from './sequence-task.js';

export interface MqarOptions {
  /** Vocabulary size V: keys come from [1, V/2), values from [V/2, V). */
  readonly vocab: number;
  readonly seqLen: number;
  /** Key–value pairs in the context (each key is queried once). */
  readonly pairs: number;
  readonly count: number;
  readonly seed: number;
  /** Exponent of the query-gap power law p(g) ∝ a·g^(a−1) (Zoology: 0.01). */
  readonly powerA?: number;
  /** Fill the positions between queries with random tokens (Zoology's default) instead of 0. */
  readonly randomNonQueries?: boolean;
}

export const MQAR_POWER_A = 0.01;

/** Checks the generator's preconditions (Zoology asserts the same); returns the reason or undefined. */
export function mqarProblem(o: Pick<MqarOptions, 'vocab' | 'seqLen' | 'pairs'>): string | undefined {
  if (o.seqLen % 2 !== 0) return `sequence length ${o.seqLen} must be even`;
  if (o.vocab <= o.seqLen) return `vocabulary ${o.vocab} must exceed the sequence length ${o.seqLen}`;
  if (o.pairs * 4 > o.seqLen) return `${o.pairs} pairs need a sequence of at least ${o.pairs * 4}`;
  if (o.pairs < 1) return 'needs at least one pair';
  if (o.pairs > Math.floor(o.vocab / 2) - 1)
    return `${o.pairs} distinct keys do not fit in [1, ${o.vocab / 2})`;
  return undefined;
}

/**
 * Multi-query associative recall as the Zoology generator builds it (Arora et al., "Zoology:
 * Measuring and Improving Recall in Efficient Language Models"): the context is k₁ v₁ … k_N v_N
 * with N distinct keys from [1, V/2) and N distinct values from [V/2, V); after it, every key
 * appears once more at an even offset 2g of the query region, g drawn without replacement with
 * p(g) ∝ a·g^(a−1) (a = 0.01 favours short gaps), and the label at that position is its value.
 * Other labels are ignored; the other query-region tokens are random. Inputs are positions
 * [0, T) of the T+1-token example and labels positions [1, T], i.e. next-token targets.
 */
export function generateMqar(o: MqarOptions): SequenceBatch {
  const problem = mqarProblem(o);
  if (problem) throw new Error(`MQAR: ${problem}`);
  const prng = createPrng(o.seed);
  const next = () => prng.next();
  const { vocab, seqLen, pairs, count } = o;
  const powerA = o.powerA ?? MQAR_POWER_A;
  const half = Math.floor(vocab / 2);
  const context = pairs * 2;
  const space = Math.floor((seqLen - context) / 2);
  const weights = Array.from({ length: space }, (_, i) => powerA * (i + 1) ** (powerA - 1));
  const inputs = new Int32Array(count * seqLen);
  const labels = new Int32Array(count * seqLen).fill(IGNORE_LABEL);
  const example = new Int32Array(seqLen + 1);
  for (let e = 0; e < count; e++) {
    example.fill(0);
    const keys = sampleDistinct(next, 1, half, pairs);
    const values = sampleDistinct(next, half, vocab, pairs);
    for (let p = 0; p < pairs; p++) {
      example[2 * p] = keys[p]!;
      example[2 * p + 1] = values[p]!;
    }
    const gaps = weightedWithoutReplacement(next, weights, pairs);
    const base = e * seqLen;
    gaps.forEach((gap, p) => {
      const at = context + 2 * gap;
      example[at] = keys[p]!;
      // Label of input position `at` is example[at + 1]'s slot, i.e. labels[at] after the shift.
      labels[base + at] = values[p]!;
    });
    for (let t = 0; t < seqLen; t++) {
      const token = example[t]!;
      inputs[base + t] = token === 0 && o.randomNonQueries !== false ? Math.floor(next() * vocab) : token;
    }
  }
  return { count, seqLen, vocab, inputs, labels };
}

/** Successive weighted draws without replacement (numpy's `choice(replace=False, p=…)`). */
function weightedWithoutReplacement(next: () => number, weights: readonly number[], count: number): number[] {
  const left = [...weights];
  const chosen: number[] = [];
  for (let c = 0; c < count; c++) {
    const total = left.reduce((a, b) => a + b, 0);
    let r = next() * total;
    let pick = left.length - 1;
    for (let i = 0; i < left.length; i++) {
      if (left[i] === 0) continue;
      r -= left[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    while (left[pick] === 0) pick -= 1; // rounding left r ≥ 0 past the end: last non-zero weight
    chosen.push(pick);
    left[pick] = 0;
  }
  return chosen;
}
