import { describe, expect, it } from 'vitest';
import { imageDataset, VALIDATION_EXAMPLES } from '../../../src/nn/data/image-datasets.js';
import { DIGIT_SIZE, mnistImages } from '../../../src/nn/data/mnist-digits.js';
import {
  generateShapeTextures,
  NUM_SHAPE_TEXTURE_CLASSES,
  shapeTextureClass,
} from '../../../src/nn/data/shape-textures.js';

/** Each image's pixels as a string key (for set membership). */
function keys(pixels: Float32Array, size: number, count: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < count; i++) out.add(pixels.subarray(i * size * size, (i + 1) * size * size).join(','));
  return out;
}

/** Byte equality (vitest's deep equality is far too slow on megapixel arrays). */
function sameBytes(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('MNIST images', () => {
  const train = mnistImages({ split: 'train', splitSeed: 1 });
  const heldOut = mnistImages({ split: 'heldout', splitSeed: 1 });

  it('holds out a fifth of the 10,000 digits, never sharing one with training', () => {
    expect(train.count + heldOut.count).toBe(10_000);
    expect(heldOut.count).toBeGreaterThanOrEqual(1990);
    const trainKeys = keys(train.pixels, 32, train.count);
    const shared = [...keys(heldOut.pixels, 32, heldOut.count)].filter((k) => trainKeys.has(k));
    expect(shared).toHaveLength(0);
  });

  it('centres each 28×28 digit on a zero 32×32 canvas, labels 0–9 balanced', () => {
    expect(train.size).toBe(32);
    const border = (32 - DIGIT_SIZE) / 2;
    for (let i = 0; i < 50; i++) {
      const img = train.pixels.subarray(i * 1024, (i + 1) * 1024);
      for (let x = 0; x < 32; x++) {
        expect(img[x]).toBe(0);
        expect(img[(32 - border) * 32 + x]).toBe(0);
      }
      expect(Math.max(...img)).toBeGreaterThan(0.5);
    }
    const counts = new Array<number>(10).fill(0);
    for (const l of heldOut.labels) counts[l]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(150);
  });

  it('the split seed decides the partition; the same seed gives the same bytes', () => {
    expect(sameBytes(mnistImages({ split: 'heldout', splitSeed: 1 }).pixels, heldOut.pixels)).toBe(true);
    const other = mnistImages({ split: 'heldout', splitSeed: 2 });
    expect(other.count).toBe(heldOut.count);
    expect(sameBytes(other.pixels, heldOut.pixels)).toBe(false);
  });

  it('validation is the tail of the training split, disjoint from what is fitted', () => {
    const fit = imageDataset({ name: 'mnist', role: 'train', seed: 1 });
    const validation = imageDataset({ name: 'mnist', role: 'validation', seed: 1 });
    expect(validation.count).toBe(VALIDATION_EXAMPLES);
    expect(fit.count + validation.count).toBe(train.count);
    expect(sameBytes(validation.labels, train.labels.subarray(fit.count))).toBe(true);
  });
});

describe('shape × texture images', () => {
  it('are a function of (seed, index): a longer set starts with the shorter one', () => {
    const a = generateShapeTextures({ seed: 5, count: 20 });
    const b = generateShapeTextures({ seed: 5, count: 30 });
    expect(sameBytes(b.pixels.subarray(0, a.pixels.length), a.pixels)).toBe(true);
    expect(sameBytes(generateShapeTextures({ seed: 6, count: 20 }).pixels, a.pixels)).toBe(false);
  });

  it('labels cycle through every (shape, texture) pair; pixels stay in [0, 1]', () => {
    const set = generateShapeTextures({ seed: 1, count: 2 * NUM_SHAPE_TEXTURE_CLASSES });
    expect(Array.from(set.labels.subarray(0, NUM_SHAPE_TEXTURE_CLASSES))).toEqual(
      Array.from({ length: NUM_SHAPE_TEXTURE_CLASSES }, (_, i) => i),
    );
    expect(shapeTextureClass(2, 1)).toBe(7);
    expect(Math.min(...set.pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...set.pixels)).toBeLessThanOrEqual(1);
  });

  it('stripes run the way the texture says', () => {
    // Noise-free images: horizontal stripes vary down a column, not along a row, inside the shape.
    const set = generateShapeTextures({ seed: 3, count: 2, noiseStd: 0 });
    const img = (i: number) => set.pixels.subarray(i * 1024, (i + 1) * 1024);
    const variation = (i: number, alongRow: boolean) => {
      let total = 0;
      for (let a = 8; a < 24; a++)
        for (let b = 8; b < 23; b++) {
          const [y0, x0, y1, x1] = alongRow ? [a, b, a, b + 1] : [b, a, b + 1, a];
          total += Math.abs(img(i)[y0 * 32 + x0]! - img(i)[y1 * 32 + x1]!);
        }
      return total;
    };
    // Image 0: disk, horizontal stripes; image 1: disk, vertical stripes.
    expect(variation(0, false)).toBeGreaterThan(2 * variation(0, true));
    expect(variation(1, true)).toBeGreaterThan(2 * variation(1, false));
  });

  it('held-out and validation images are generated from seeds apart from the training ones', () => {
    const train = imageDataset({ name: 'shapes', role: 'train', seed: 1, trainExamples: 50 });
    const heldOut = imageDataset({ name: 'shapes', role: 'heldout', seed: 1 });
    const trainKeys = keys(train.pixels, 32, train.count);
    expect([...keys(heldOut.pixels, 32, 50)].some((k) => trainKeys.has(k))).toBe(false);
  });
});
