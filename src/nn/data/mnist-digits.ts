import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { largest } from '../../common/extremes.js';
import { shuffled } from '../train/batch-schedule.js';

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

/** One image per example, labels alongside: what the image classifiers train and evaluate on. */
export interface ImageSet {
  /** [count, size, size] grey levels in [0, 1], row-major. */
  readonly pixels: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly size: number;
  readonly classes: number;
}

export interface MnistImageOptions {
  readonly split: DigitSplit;
  /** Decides which digits of every class are held out (the same seed, the same partition). */
  readonly splitSeed: number;
  /** Side of the zero-padded canvas the 28×28 digit is centred on (32 for the iFormer). */
  readonly size?: number;
}

/**
 * Real MNIST digits for image classification: every class file is permuted by `splitSeed` and cut
 * TRAIN_FRACTION / rest into train and held-out, so the two never share a digit; each digit is
 * centred on a zero `size`×`size` canvas. Examples are interleaved by class.
 */
export function mnistImages(options: MnistImageOptions): ImageSet {
  const size = options.size ?? 32;
  if (!Number.isInteger(size) || size < DIGIT_SIZE) throw new RangeError(`size must be ≥ ${DIGIT_SIZE}`);
  const perClass: Float32Array[][] = [];
  for (let c = 0; c < 10; c++) {
    const all = classDigits(c);
    const n = Math.floor(all.length / DIGIT_PIXELS);
    const order = shuffled(
      Array.from({ length: n }, (_, i) => i),
      (options.splitSeed ^ Math.imul(c + 1, 0x2545f491)) >>> 0,
    );
    const cut = Math.floor(n * TRAIN_FRACTION);
    const chosen = options.split === 'train' ? order.slice(0, cut) : order.slice(cut);
    perClass.push(chosen.map((i) => all.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)));
  }
  const count = perClass.reduce((sum, list) => sum + list.length, 0);
  const pixels = new Float32Array(count * size * size);
  const labels = new Int32Array(count);
  const offset = Math.floor((size - DIGIT_SIZE) / 2);
  const longest = largest(perClass.map((l) => l.length));
  let at = 0;
  for (let i = 0; i < longest; i++) {
    for (let c = 0; c < 10; c++) {
      const digit = perClass[c]![i];
      if (!digit) continue;
      for (let r = 0; r < DIGIT_SIZE; r++) {
        pixels.set(
          digit.subarray(r * DIGIT_SIZE, (r + 1) * DIGIT_SIZE),
          (at * size + r + offset) * size + offset,
        );
      }
      labels[at] = c;
      at += 1;
    }
  }
  return { pixels, labels, count, size, classes: 10 };
}
