import { beforeAll, describe, expect, it } from 'vitest';
import { generateVideoClips, type VideoClipSet } from '../../../src/nn/data/video-clips.js';
import { iformerDalDensity } from '../../../src/nn/eval/iformer-dal-density.js';
import { buildIFormer, iformerDeltaActivations } from '../../../src/nn/models/iformer.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

const frames = 3;
const model = () =>
  buildIFormer({
    classes: 10,
    seed: 3,
    activation: 'relu',
    video: { frames, inputThresholdInit: 0.1, thresholdInit: 0.05, spRate: 0, frameDifference: true },
  });

/** The clips with every frame replaced by the first: nothing changes after t = 0. */
function frozen(set: VideoClipSet): VideoClipSet {
  const per = set.size * set.size;
  const pixels = new Float32Array(set.pixels.length);
  for (let c = 0; c < set.count; c++)
    for (let t = 0; t < set.frames; t++)
      pixels.set(
        set.pixels.subarray(c * set.frames * per, (c * set.frames + 1) * per),
        (c * set.frames + t) * per,
      );
  return { ...set, pixels };
}

describe('iformerDalDensity', () => {
  it('counts temporal deltas: none after the first frame of a still clip, some on a moving one', () => {
    const m = model();
    const moving = generateVideoClips({ seed: 4, count: 2, split: 'heldout', frames });
    const still = iformerDalDensity(runtime.tf, m, frozen(moving));
    expect(still.deltaFrameDensity).toBe(0);
    expect(still.keyFrameDensity).toBeGreaterThan(0.05);
    const moved = iformerDalDensity(runtime.tf, m, moving);
    expect(moved.keyFrameDensity).toBeCloseTo(still.keyFrameDensity, 10);
    expect(moved.deltaFrameDensity).toBeGreaterThan(0);
    expect(moved.deltaFrameDensity).toBeLessThan(moved.keyFrameDensity);
    expect(Object.keys(moved.perDal).sort()).toEqual(
      iformerDeltaActivations(m)
        .map((d) => d.name)
        .sort(),
    );
    // The hooks are removed afterwards.
    expect(iformerDeltaActivations(m).every((d) => d.observeOutput === undefined)).toBe(true);
    m.dispose();
  });
});
