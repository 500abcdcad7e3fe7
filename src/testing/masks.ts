/**
 * Zero patterns with a chosen density and structure, and their bit-packed masks (the trace's
 * `#mask` layout: numpy packbits, little bit order). A pattern is one 0/1 byte per element
 * (1 = non-zero). Every structure is a pure function of uniform draws in [0, 1), so fast-check
 * shrinks the draws toward 0 — toward dense patterns — and a PRNG can drive the same functions.
 */
import fc from 'fast-check';
import { packMask } from '../trace/mask.js';

/**
 * - `random`: each element non-zero with probability `density`;
 * - `n:m`: in every group of `m` consecutive elements exactly `n` are non-zero (weight pruning);
 * - `block`: runs of `blockSize` elements are zero or non-zero together;
 * - `channel`: element i belongs to channel i mod `channels`, each channel with its own density
 *   (dead and busy channels, as after ReLU).
 */
export type MaskStructure =
  | { readonly kind: 'random' }
  | { readonly kind: 'n:m'; readonly n: number; readonly m: number }
  | { readonly kind: 'block'; readonly blockSize: number }
  | { readonly kind: 'channel'; readonly channels: number };

export interface PatternOptions {
  /** Fraction of non-zero elements, in [0, 1] (ignored by `n:m`, whose density is n/m). */
  readonly density: number;
  readonly structure: MaskStructure;
}

/**
 * The zero pattern `uniform` (one draw per element, in [0, 1)) gives under `options`.
 * `channel` reads per-channel densities from the first `channels` draws.
 */
export function zeroPattern(uniform: ArrayLike<number>, options: PatternOptions): Uint8Array {
  const length = uniform.length;
  const out = new Uint8Array(length);
  const { density, structure } = options;
  switch (structure.kind) {
    case 'random':
      for (let i = 0; i < length; i++) out[i] = uniform[i]! < density ? 1 : 0;
      return out;
    case 'n:m': {
      const { n, m } = structure;
      for (let start = 0; start < length; start += m) {
        const end = Math.min(start + m, length);
        // The n smallest draws of the group are its non-zeros (ties by position).
        const order = Array.from({ length: end - start }, (_, j) => start + j).sort(
          (a, b) => uniform[a]! - uniform[b]! || a - b,
        );
        for (const index of order.slice(0, n)) out[index] = 1;
      }
      return out;
    }
    case 'block': {
      const size = structure.blockSize;
      for (let start = 0; start < length; start += size) {
        const on = uniform[start]! < density ? 1 : 0;
        for (let i = start; i < Math.min(start + size, length); i++) out[i] = on;
      }
      return out;
    }
    case 'channel': {
      const channels = Math.max(1, structure.channels);
      // A channel's density is 2·density·u: mean `density`, some channels dead, some saturated.
      const channelDensity = Array.from({ length: channels }, (_, c) =>
        Math.min(1, 2 * density * (uniform[c % Math.max(1, length)] ?? 0)),
      );
      for (let i = 0; i < length; i++) {
        // Re-use the draw for the element test, mixed so channel and element draws differ.
        const u = (uniform[i]! * 7.31 + i * 0.618) % 1;
        out[i] = u < channelDensity[i % channels]! ? 1 : 0;
      }
      return out;
    }
  }
}

/**
 * Uniform in [0, 1), shrinking toward 0. Not fc.double: it draws uniformly over representable
 * doubles (mostly tiny ones) and biases toward bounds, which would skew every density.
 */
export const unitInterval: fc.Arbitrary<number> = fc
  .noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 }))
  .map((i) => i / 2 ** 30);
const unit = unitInterval;

/** Any of the structures, with small parameters (`channels` up to `maxChannels`). */
export function arbitraryStructure(maxChannels = 8): fc.Arbitrary<MaskStructure> {
  return fc.oneof(
    fc.constant<MaskStructure>({ kind: 'random' }),
    fc
      .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 8 }))
      .map(([m, n]): MaskStructure => ({ kind: 'n:m', n: Math.min(n, m), m })),
    fc.integer({ min: 1, max: 16 }).map((blockSize): MaskStructure => ({ kind: 'block', blockSize })),
    fc
      .integer({ min: 1, max: maxChannels })
      .map((channels): MaskStructure => ({ kind: 'channel', channels })),
  );
}

export interface MaskOptions {
  /** A fixed density, or drawn in [0, 1] when absent. */
  readonly density?: number;
  /** A fixed structure, or any (arbitraryStructure) when absent. */
  readonly structure?: MaskStructure;
}

function densityArb(options: MaskOptions): fc.Arbitrary<number> {
  return options.density !== undefined ? fc.constant(options.density) : unitInterval;
}

/** A 0/1 pattern of `length` elements with the given (or a drawn) density and structure. */
export function arbitraryPattern(length: number, options: MaskOptions = {}): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      density: densityArb(options),
      structure: options.structure ? fc.constant(options.structure) : arbitraryStructure(),
      uniform: fc.array(unit, { minLength: length, maxLength: length }),
    })
    .map(({ density, structure, uniform }) => zeroPattern(uniform, { density, structure }));
}

/** A bit-packed mask of `length` elements (see arbitraryPattern). */
export function arbitraryMask(length: number, options: MaskOptions = {}): fc.Arbitrary<Uint8Array> {
  return arbitraryPattern(length, options).map((pattern) => packMask(pattern));
}

/**
 * Temporally correlated patterns over `steps` steps: step 0 is drawn as arbitraryPattern, and each
 * later step changes every element with probability `changeRate` (drawn when absent), redrawing
 * the changed elements under the same structure — a video frame or a token stream whose deltas are
 * sparse.
 */
export function arbitraryPatternSequence(
  length: number,
  steps: number,
  options: MaskOptions & { readonly changeRate?: number } = {},
): fc.Arbitrary<readonly Uint8Array[]> {
  return fc
    .record({
      density: densityArb(options),
      structure: options.structure ? fc.constant(options.structure) : arbitraryStructure(),
      changeRate: options.changeRate !== undefined ? fc.constant(options.changeRate) : unitInterval,
      uniform: fc.array(fc.array(unit, { minLength: length, maxLength: length }), {
        minLength: 2 * steps,
        maxLength: 2 * steps,
      }),
    })
    .map(({ density, structure, changeRate, uniform }) =>
      temporalPatterns(steps, (t) => uniform[t]!, { density, structure, changeRate }),
    );
}

/** Step t's pattern from draws `uniformOf(2t)` (redraw) and `uniformOf(2t + 1)` (which elements change). */
export function temporalPatterns(
  steps: number,
  uniformOf: (index: number) => ArrayLike<number>,
  options: PatternOptions & { readonly changeRate: number },
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let t = 0; t < steps; t++) {
    const fresh = zeroPattern(uniformOf(2 * t), options);
    const previous = out[t - 1];
    if (!previous) {
      out.push(fresh);
      continue;
    }
    const change = uniformOf(2 * t + 1);
    out.push(fresh.map((bit, i) => (change[i]! < options.changeRate ? bit : previous[i]!)));
  }
  return out;
}

/** Bit-packs a 0/1 (or any numeric) array: element i non-zero → bit i set. */
export function packBits(bits: ArrayLike<number>): Uint8Array {
  return packMask(Uint8Array.from(bits, (b) => (b ? 1 : 0)));
}
