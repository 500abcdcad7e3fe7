import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildIFormer,
  iformerBlocks,
  iformerDeltaActivations,
  resolvedVariant,
} from '../../../src/nn/models/iformer.js';
import {
  attentionShares,
  channelSplit,
  IFORMER_VARIANTS,
  iformerMacs,
  iformerParams,
  iformerVideoParams,
  MATCH_TOLERANCE,
  MIXER_KINDS,
  matchedVariant,
} from '../../../src/nn/models/iformer-config.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

describe('iFormer stage table', () => {
  for (const [name, variant] of Object.entries(IFORMER_VARIANTS)) {
    it(`${name}: the attention share C_l/C grows stage by stage, from about a third to over 0.7`, () => {
      const shares = attentionShares(variant);
      for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThan(shares[i - 1]!);
      expect(shares[0]!).toBeLessThanOrEqual(0.34);
      expect(shares[shares.length - 1]!).toBeGreaterThanOrEqual(0.7);
    });
  }

  it('the ablation mixers give every channel to one side', () => {
    const stage = IFORMER_VARIANTS.mini.stages[1];
    expect(channelSplit(stage, 8, 'conv')).toMatchObject({ high: 48, low: 0, heads: 0 });
    expect(channelSplit(stage, 8, 'attention')).toMatchObject({ high: 0, low: 48, heads: 6 });
    expect(() => channelSplit({ ...stage, width: 50 }, 8, 'attention')).toThrow(/cannot be split/);
  });

  it('counts MACs op by op (hand count of a one-block model on 8×8 images)', () => {
    const tiny = {
      headDim: 4,
      stemWidth: 4,
      stages: [{ depth: 1, width: 8, heads: 1, pool: 2, layerScale: false }],
    } as const;
    // stem 4·4·9·1·4 + 2·2·9·4·8; block on 2×2 tokens: paths 4·(2·2·4 + 9·4), qkv on the one
    // pooled token 4·12, QKᵀ + AV 2·1·1·4, fusion 4·(9·12 + 12·8), MLP 4·2·8·32; head 8·3.
    expect(iformerMacs(tiny, 'inception', 3, 8)).toBe(576 + 1152 + 208 + 48 + 8 + 816 + 2048 + 24);
  });

  it('ablation models match the inception model within the tolerance', () => {
    const target = iformerParams(IFORMER_VARIANTS.mini, 'inception', 10);
    for (const mixer of MIXER_KINDS) {
      const v = matchedVariant(IFORMER_VARIANTS.mini, mixer, 10);
      expect(Math.abs(iformerParams(v, mixer, 10) - target) / target).toBeLessThanOrEqual(MATCH_TOLERANCE);
    }
  });
});

describe('buildIFormer', () => {
  for (const mixer of MIXER_KINDS) {
    it(`${mixer}: tfjs counts the weights the table predicts, logits [B, classes]`, () => {
      const { tf } = runtime;
      const model = buildIFormer({ mixer, classes: 9, seed: 4 });
      const variant = resolvedVariant({ mixer, classes: 9 });
      expect(model.countParams()).toBe(iformerParams(variant, mixer, 9));
      expect(iformerMacs(variant, mixer, 9)).toBeGreaterThan(0);
      expect(iformerBlocks(model)).toHaveLength(variant.stages.reduce((s, st) => s + st.depth, 0));
      tf.tidy(() => {
        const out = model.predict(tf.zeros([3, 32, 32, 1])) as Tensor;
        expect(out.shape).toEqual([3, 9]);
      });
      model.dispose();
    });
  }

  it('video mode: the temporal head reads every last-stage position and its change; weights as predicted', () => {
    const { tf } = runtime;
    const frames = 3;
    const model = buildIFormer({
      classes: 10,
      seed: 4,
      activation: 'relu',
      video: { frames, inputThresholdInit: 0.1, thresholdInit: 0.05, spRate: 0, frameDifference: true },
    });
    const thresholds = iformerDeltaActivations(model).reduce((n, d) => n + d.thetaValues().length, 0);
    expect(model.countParams() - thresholds).toBe(iformerVideoParams(IFORMER_VARIANTS.mini, 'inception', 10));
    // 2×2 positions × 64 channels, twice (features and their temporal difference).
    expect(model.getLayer('head').getWeights()[0]!.shape).toEqual([512, 10]);
    tf.tidy(() => {
      const clip = tf.randomUniform([2, frames, 32, 32, 1], 0, 1, 'float32', 3);
      const out = model.predict(clip) as Tensor;
      expect(out.shape).toEqual([2, 10]);
      // Time order matters to the clip's logits (a time average of per-frame logits of single
      // frames would not see it; the head and the input pairs do).
      const reversed = model.predict(tf.reverse(clip, 1)) as Tensor;
      expect(tf.max(tf.abs(tf.sub(out, reversed))).dataSync()[0]).toBeGreaterThan(1e-4);
    });
    model.dispose();
  });

  it('the same seed gives the same weights, another seed others', () => {
    const weights = (seed: number) => {
      const model = buildIFormer({ classes: 10, seed });
      const values = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      model.dispose();
      return values;
    };
    const a = weights(1);
    expect(weights(1)).toEqual(a);
    expect(weights(2)).not.toEqual(a);
  });
});
