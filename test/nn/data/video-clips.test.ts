import { describe, expect, it } from 'vitest';
import { loadDigitPool } from '../../../src/nn/data/mnist-digits.js';
import { generateVideoClips, NUM_MOTION_CLASSES } from '../../../src/nn/data/video-clips.js';

describe('generateVideoClips', () => {
  it('is deterministic: same seed, same bytes', () => {
    const a = generateVideoClips({ seed: 7, count: 12 });
    const b = generateVideoClips({ seed: 7, count: 12 });
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  });

  it('gives different clips for different seeds, and a clip does not depend on the set size', () => {
    const a = generateVideoClips({ seed: 7, count: 10 });
    const b = generateVideoClips({ seed: 8, count: 10 });
    const clip = a.frames * a.size * a.size;
    for (let i = 0; i < 10; i++) {
      const x = a.pixels.subarray(i * clip, (i + 1) * clip);
      const y = b.pixels.subarray(i * clip, (i + 1) * clip);
      expect(Buffer.from(x.slice().buffer).equals(Buffer.from(y.slice().buffer))).toBe(false);
    }
    const small = generateVideoClips({ seed: 7, count: 3 });
    expect(Array.from(small.pixels)).toEqual(Array.from(a.pixels.subarray(0, 3 * clip)));
  });

  it('has balanced classes, ≥ 8 of them, T ≥ 8 frames of 32×32 values in [0, 1]', () => {
    const set = generateVideoClips({ seed: 3, count: 40 });
    expect(NUM_MOTION_CLASSES).toBeGreaterThanOrEqual(8);
    expect(set.frames).toBeGreaterThanOrEqual(8);
    expect(set.size).toBe(32);
    const counts = new Array<number>(NUM_MOTION_CLASSES).fill(0);
    for (const l of set.labels) counts[l]! += 1;
    expect(counts.every((c) => c === 40 / NUM_MOTION_CLASSES)).toBe(true);
    expect(set.pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('carries sensor noise: naive frame deltas are not sparse', () => {
    const set = generateVideoClips({ seed: 4, count: 4 });
    const frame = set.size * set.size;
    let changed = 0;
    let total = 0;
    for (let c = 0; c < set.count; c++) {
      for (let t = 1; t < set.frames; t++) {
        const base = (c * set.frames + t) * frame;
        for (let i = 0; i < frame; i++) {
          total += 1;
          if (Math.abs(set.pixels[base + i]! - set.pixels[base - frame + i]!) > 1e-3) changed += 1;
        }
      }
    }
    expect(changed / total).toBeGreaterThan(0.9);
  });

  it('draws train and held-out objects from disjoint MNIST digit pools', () => {
    const train = loadDigitPool('train');
    const heldout = loadDigitPool('heldout');
    const key = (d: Float32Array): string => Buffer.from(d.slice().buffer).toString('base64');
    const trainKeys = new Set<string>();
    for (let i = 0; i < train.count; i++) trainKeys.add(key(train.digit(i)));
    let shared = 0;
    for (let i = 0; i < heldout.count; i++) if (trainKeys.has(key(heldout.digit(i)))) shared += 1;
    expect(shared).toBe(0);
    expect(heldout.count).toBeGreaterThan(1000);
  });
});
