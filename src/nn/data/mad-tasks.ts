import { createPrng } from '../../common/prng.js';
import { IGNORE_LABEL, type SequenceBatch, sampleDistinct } from './sequence-task.js';

export interface MadRecallOptions {
  readonly vocab: number;
  readonly seqLen: number;
  readonly count: number;
  readonly seed: number;
  /** Fraction of key–value slots replaced by two noise tokens (MAD's noisy recall: 0.2; plain: 0). */
  readonly noiseFraction: number;
}

/**
 * MAD's in-context recall and noisy recall (Poli et al., "Mechanistic Design and Scaling of Hybrid
 * Architectures"), multi-query: a sequence of key–value pairs k v k v …, keys drawn with repetition
 * from the key half of the (non-noise) vocabulary, each key bound to one value for the whole
 * sequence. Whenever a key reappears, its value is the label at the key's position; first
 * occurrences and values are not scored. Noisy recall replaces a fraction of the pairs by two tokens
 * from a separate noise vocabulary (the upper half of `vocab`), never scored.
 */
export function generateMadRecall(o: MadRecallOptions): SequenceBatch {
  const prng = createPrng(o.seed);
  const next = () => prng.next();
  const signal = o.noiseFraction > 0 ? Math.floor(o.vocab / 2) : o.vocab;
  const keyCount = Math.floor(signal / 2);
  if (keyCount < 1 || signal - keyCount < 1)
    throw new Error(`MAD recall: vocabulary ${o.vocab} is too small`);
  const inputs = new Int32Array(o.count * o.seqLen);
  const labels = new Int32Array(o.count * o.seqLen).fill(IGNORE_LABEL);
  for (let e = 0; e < o.count; e++) {
    const base = e * o.seqLen;
    const bound = new Map<number, number>();
    // One guaranteed real pair, so no sequence is all noise.
    const forcedPair = Math.floor(next() * Math.floor(o.seqLen / 2));
    for (let p = 0; 2 * p < o.seqLen; p++) {
      const at = base + 2 * p;
      const last = 2 * p + 1 >= o.seqLen;
      if (p !== forcedPair && o.noiseFraction > 0 && next() < o.noiseFraction) {
        inputs[at] = signal + Math.floor(next() * (o.vocab - signal));
        if (!last) inputs[at + 1] = signal + Math.floor(next() * (o.vocab - signal));
        continue;
      }
      const key = Math.floor(next() * keyCount);
      let value = bound.get(key);
      if (value === undefined) {
        value = keyCount + Math.floor(next() * (signal - keyCount));
        bound.set(key, value);
      } else {
        labels[at] = value;
      }
      inputs[at] = key;
      if (!last) inputs[at + 1] = value;
    }
  }
  return { count: o.count, seqLen: o.seqLen, vocab: o.vocab, inputs, labels };
}

export interface MadCopyOptions {
  readonly vocab: number;
  readonly seqLen: number;
  /** Data tokens to copy. */
  readonly tokens: number;
  readonly count: number;
  readonly seed: number;
}

/** Selective copying's special tokens: blank filler and the copy marker; data tokens are [2, V). */
export const COPY_BLANK = 0;
export const COPY_MARKER = 1;

/**
 * MAD's selective copying: `tokens` data tokens scattered in order among blanks over the first
 * T − tokens positions, then the copy marker, then the data tokens again (teacher forcing). The
 * label at the marker is the first data token and at each copied token the next one, so the model
 * must emit the scattered tokens in order, skipping the blanks.
 */
export function generateMadCopy(o: MadCopyOptions): SequenceBatch {
  const region = o.seqLen - o.tokens;
  if (o.tokens < 1 || region < o.tokens) {
    throw new Error(`MAD copy: ${o.tokens} tokens do not fit a sequence of ${o.seqLen}`);
  }
  if (o.vocab < 3) throw new Error(`MAD copy: vocabulary ${o.vocab} leaves no data tokens`);
  const prng = createPrng(o.seed);
  const next = () => prng.next();
  const inputs = new Int32Array(o.count * o.seqLen);
  const labels = new Int32Array(o.count * o.seqLen).fill(IGNORE_LABEL);
  for (let e = 0; e < o.count; e++) {
    const base = e * o.seqLen;
    const data = Array.from({ length: o.tokens }, () => 2 + Math.floor(next() * (o.vocab - 2)));
    const positions = sampleDistinct(next, 0, region, o.tokens).sort((a, b) => a - b);
    positions.forEach((at, i) => {
      inputs[base + at] = data[i]!;
    });
    inputs[base + region] = COPY_MARKER;
    labels[base + region] = data[0]!;
    for (let i = 0; i + 1 < o.tokens; i++) {
      inputs[base + region + 1 + i] = data[i]!;
      labels[base + region + 1 + i] = data[i + 1]!;
    }
  }
  return { count: o.count, seqLen: o.seqLen, vocab: o.vocab, inputs, labels };
}
