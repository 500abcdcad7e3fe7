import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Side length of an MNIST digit image. */
export const DIGIT_SIZE = 28;
const DIGIT_PIXELS = DIGIT_SIZE * DIGIT_SIZE;

/** Which part of every digit file a split draws from: the pools never overlap. */
export type DigitSplit = 'train' | 'heldout';

/** Fraction of each class file that belongs to the training pool; the rest is held out. */
const TRAIN_FRACTION = 0.8;

export interface DigitPool {
  /** Number of digits in the pool. */
  readonly count: number;
  /** The i-th digit as 28×28 floats in [0, 1], row-major. */
  digit(index: number): Float32Array;
}

const fileCache = new Map<number, Float32Array>();

/**
 * The digits of one class, read straight from the `mnist` package's JSON files. Its `set()` helper
 * draws with Math.random, so we never call it: pools are fixed slices and the clip PRNG picks.
 */
function classDigits(digitClass: number): Float32Array {
  const cached = fileCache.get(digitClass);
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const path = require.resolve(`mnist/src/digits/${digitClass}.json`);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { data: number[] };
  const values = Float32Array.from(parsed.data);
  fileCache.set(digitClass, values);
  return values;
}

/** All ten classes' digits of one split, interleaved by class so any prefix is balanced. */
export function loadDigitPool(split: DigitSplit): DigitPool {
  const slices: Float32Array[][] = [];
  let perClass = Number.POSITIVE_INFINITY;
  for (let c = 0; c < 10; c++) {
    const all = classDigits(c);
    const n = Math.floor(all.length / DIGIT_PIXELS);
    const cut = Math.floor(n * TRAIN_FRACTION);
    const [from, to] = split === 'train' ? [0, cut] : [cut, n];
    const list: Float32Array[] = [];
    for (let i = from; i < to; i++) list.push(all.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS));
    slices.push(list);
    perClass = Math.min(perClass, list.length);
  }
  const count = perClass * 10;
  return {
    count,
    digit(index) {
      const i = ((index % count) + count) % count;
      return slices[i % 10]![Math.floor(i / 10)]!;
    },
  };
}
