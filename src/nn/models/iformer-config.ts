import { largest } from '../../common/extremes.js';
/**
 * Shapes of the mini iFormer (Si et al., "Inception Transformer", NeurIPS 2022) scaled to 32×32
 * inputs: pure numbers, no tfjs, so the CLI can check flags and the tests can check the frequency
 * ramp, parameter and MAC counts without loading a backend.
 */

/** Token mixer of every block: the inception mixer, or one of its two halves alone (ablation). */
export type MixerKind = 'inception' | 'attention' | 'conv';
export const MIXER_KINDS: readonly MixerKind[] = ['inception', 'attention', 'conv'];

/** Non-linearity of the stem, the high-frequency paths and the MLP (ReLU gives exact zeros). */
export type ActivationKind = 'gelu' | 'relu';
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['gelu', 'relu'];

export interface IFormerStage {
  /** Blocks in the stage. */
  readonly depth: number;
  /** Channels C of the stage's blocks. */
  readonly width: number;
  /** Attention heads of the inception mixer: C_l = heads · headDim. */
  readonly heads: number;
  /** Average-pool factor in front of attention (the paper pools in the early, high-resolution stages). */
  readonly pool: 1 | 2;
  /** Whether the residual branches are scaled by a learned per-channel LayerScale. */
  readonly layerScale: boolean;
}

export interface IFormerVariant {
  readonly headDim: number;
  /** Output channels of the two stride-2 stem convs; the second equals the first stage's width. */
  readonly stemWidth: number;
  readonly stages: readonly IFormerStage[];
}

/** MLP hidden width = MLP_RATIO · C. */
export const MLP_RATIO = 4;
/** Initial LayerScale value (CaiT's choice for shallow networks). */
export const LAYER_SCALE_INIT = 0.1;
export const IMAGE_SIZE = 32;

/**
 * The variants; a larger one is one more line. The attention share C_l/C ramps up stage by stage
 * (mini: 0.33 → 0.5 → 0.75, as iFormer-S's 0.33 → 0.5 → 0.7+): early layers see local, high-frequency
 * detail, late layers global context.
 */
export const IFORMER_VARIANTS = {
  mini: {
    headDim: 8,
    stemWidth: 16,
    stages: [
      { depth: 2, width: 24, heads: 1, pool: 2, layerScale: false },
      { depth: 2, width: 48, heads: 3, pool: 2, layerScale: true },
      { depth: 2, width: 64, heads: 6, pool: 1, layerScale: true },
    ],
  },
  small: {
    headDim: 16,
    stemWidth: 32,
    stages: [
      { depth: 2, width: 96, heads: 2, pool: 2, layerScale: false },
      { depth: 3, width: 128, heads: 4, pool: 2, layerScale: true },
      { depth: 4, width: 160, heads: 8, pool: 1, layerScale: true },
    ],
  },
} as const satisfies Record<string, IFormerVariant>;
export type IFormerVariantName = keyof typeof IFORMER_VARIANTS;

/** How one block's channels are split: C = C_h + C_l, C_h in two halves for paths A and B. */
export interface ChannelSplit {
  readonly channels: number;
  /** C_h: the high-frequency (convolution / max-pool) share. */
  readonly high: number;
  /** C_l = heads · headDim: the low-frequency (attention) share. */
  readonly low: number;
  readonly heads: number;
}

/** The split of a stage for a mixer kind: the ablation mixers give all channels to one side. */
export function channelSplit(stage: IFormerStage, headDim: number, mixer: MixerKind): ChannelSplit {
  const c = stage.width;
  const heads = mixer === 'conv' ? 0 : mixer === 'attention' ? c / headDim : stage.heads;
  const low = heads * headDim;
  const high = c - low;
  if (!Number.isInteger(heads) || low > c || high % 2 !== 0) {
    throw new RangeError(
      `stage width ${c} cannot be split for the ${mixer} mixer (head dim ${headDim}, ${stage.heads} heads)`,
    );
  }
  return { channels: c, high, low, heads };
}

/** C_l/C per stage, first to last. */
export function attentionShares(variant: IFormerVariant, mixer: MixerKind = 'inception'): number[] {
  return variant.stages.map((s) => channelSplit(s, variant.headDim, mixer).low / s.width);
}

/** Weight count of one inception mixer of width C (biases included), as the layer builds it. */
export function mixerParams(split: ChannelSplit): number {
  const { channels: c, high, low } = split;
  const half = high / 2;
  const fused = 2 * high + low;
  const pathA = half * high + 9 * high; // 1×1 conv (no bias) + depthwise 3×3
  const pathB = half * high + high; // 1×1 conv + bias
  const attention = low * 3 * low + 3 * low; // qkv + bias
  const fusion = 9 * fused + fused * c + c; // depthwise 3×3 + projection + bias
  return (high > 0 ? pathA + pathB : 0) + (low > 0 ? attention : 0) + fusion;
}

/** Weight count of one block: two LayerNorms, mixer, MLP, LayerScale. */
export function blockParams(split: ChannelSplit, layerScale: boolean): number {
  const c = split.channels;
  const hidden = MLP_RATIO * c;
  return 4 * c + mixerParams(split) + (c * hidden + hidden) + (hidden * c + c) + (layerScale ? 2 * c : 0);
}

/** Resolution of each stage for a square input (stem stride 4, then stride 2 per stage). */
export function stageSides(variant: IFormerVariant, size: number = IMAGE_SIZE): number[] {
  const sides: number[] = [];
  let side = Math.ceil(Math.ceil(size / 2) / 2);
  for (let i = 0; i < variant.stages.length; i++) {
    if (i > 0) side = Math.ceil(side / 2);
    sides.push(side);
  }
  return sides;
}

/** Total trainable weights of the model (the tests check it against tfjs' own count). */
export function iformerParams(
  variant: IFormerVariant,
  mixer: MixerKind,
  classes: number,
  size: number = IMAGE_SIZE,
): number {
  const sides = stageSides(variant, size);
  const first = variant.stages[0]!.width;
  let total = 9 * 1 * variant.stemWidth + variant.stemWidth + 9 * variant.stemWidth * first + first;
  variant.stages.forEach((stage, i) => {
    if (i > 0) {
      const prev = variant.stages[i - 1]!.width;
      total += 9 * prev * stage.width + stage.width;
    }
    total += sides[i]! * sides[i]! * stage.width; // positional embedding
    total += stage.depth * blockParams(channelSplit(stage, variant.headDim, mixer), stage.layerScale);
  });
  const last = variant.stages[variant.stages.length - 1]!.width;
  return total + 2 * last + last * classes + classes;
}

/**
 * Video mode's head reads, per frame, every position of the last stage and its change since the
 * previous frame (2·side²·C values) instead of the pooled C channels; the stem reads frame pairs.
 */
function videoHeadInputs(variant: IFormerVariant, size: number): number {
  const sides = stageSides(variant, size);
  const side = sides[sides.length - 1]!;
  return 2 * side * side * variant.stages[variant.stages.length - 1]!.width;
}

/** Trainable weights of a video-mode model, DAL thresholds excluded. */
export function iformerVideoParams(
  variant: IFormerVariant,
  mixer: MixerKind,
  classes: number,
  size: number = IMAGE_SIZE,
): number {
  const last = variant.stages[variant.stages.length - 1]!.width;
  const head = videoHeadInputs(variant, size);
  const imageHead = 2 * last + last * classes;
  const videoHead = head + head * classes; // LN over side²·C (γ, β), then the classifier
  return iformerParams(variant, mixer, classes, size) + 9 * variant.stemWidth - imageHead + videoHead;
}

/** MACs per frame of a video-mode model: the image MACs plus the frame pair's channel and the wider head. */
export function iformerVideoMacs(
  variant: IFormerVariant,
  mixer: MixerKind,
  classes: number,
  size: number = IMAGE_SIZE,
): number {
  const half = Math.ceil(size / 2);
  const last = variant.stages[variant.stages.length - 1]!.width;
  return (
    iformerMacs(variant, mixer, classes, size) +
    half * half * 9 * variant.stemWidth +
    (videoHeadInputs(variant, size) - last) * classes
  );
}

/**
 * MACs of one inference on one image: convolutions, depthwise convolutions, the 1×1 (matmul)
 * layers, QKᵀ and AV of every head. Pooling, norms and activations are element-wise, not MACs.
 */
export function iformerMacs(
  variant: IFormerVariant,
  mixer: MixerKind,
  classes: number,
  size: number = IMAGE_SIZE,
): number {
  const sides = stageSides(variant, size);
  const half = Math.ceil(size / 2);
  const first = variant.stages[0]!.width;
  let total = half * half * 9 * variant.stemWidth + sides[0]! ** 2 * 9 * variant.stemWidth * first;
  variant.stages.forEach((stage, i) => {
    const tokens = sides[i]! ** 2;
    if (i > 0) total += tokens * 9 * variant.stages[i - 1]!.width * stage.width;
    const split = channelSplit(stage, variant.headDim, mixer);
    const c = stage.width;
    const fused = 2 * split.high + split.low;
    const pooled = Math.ceil(sides[i]! / stage.pool) ** 2;
    const block =
      tokens * ((split.high / 2) * split.high * 2 + 9 * split.high) + // paths A and B
      pooled * split.low * 3 * split.low + // qkv
      2 * pooled * pooled * split.low + // QKᵀ and AV over all heads
      tokens * (9 * fused + fused * c) + // fusion depthwise + projection
      tokens * 2 * c * MLP_RATIO * c; // MLP
    total += stage.depth * block;
  });
  return total + variant.stages[variant.stages.length - 1]!.width * classes;
}

/**
 * The variant with its widths rescaled so that the `mixer` model has about as many weights as the
 * inception model (the ablation compares at matched size). Widths stay multiples of the head size
 * (attention needs whole heads; the convolution halves need even widths). Among the width choices
 * within 2 % of the target, the most uniform rescaling of the stage table wins, so the ablation
 * models keep the inception model's shape (narrow early stages, wide late ones).
 */
export function matchedVariant(variant: IFormerVariant, mixer: MixerKind, classes: number): IFormerVariant {
  if (mixer === 'inception') return variant;
  const target = iformerParams(variant, 'inception', classes);
  const quantum = mixer === 'attention' ? variant.headDim : 8;
  const choices = variant.stages.map((s) => {
    const widths: number[] = [];
    for (let w = quantum; w <= 2 * s.width; w += quantum) if (w >= s.width / 2) widths.push(w);
    return widths;
  });
  let best: { variant: IFormerVariant; gap: number; distortion: number } | undefined;
  const visit = (stage: number, widths: number[]): void => {
    if (stage === choices.length) {
      const candidate: IFormerVariant = {
        ...variant,
        stages: variant.stages.map((s, i) => ({ ...s, width: widths[i]! })),
      };
      const gap = Math.abs(iformerParams(candidate, mixer, classes) - target) / target;
      const logs = widths.map((w, i) => Math.log(w / variant.stages[i]!.width));
      const centre = logs.reduce((a, b) => a + b, 0) / logs.length;
      const distortion = largest(logs.map((l) => Math.abs(l - centre)));
      const better =
        !best ||
        (gap <= MATCH_TOLERANCE
          ? best.gap > MATCH_TOLERANCE || distortion < best.distortion
          : best.gap > MATCH_TOLERANCE && gap < best.gap);
      if (better) best = { variant: candidate, gap, distortion };
      return;
    }
    for (const w of choices[stage]!) visit(stage + 1, [...widths, w]);
  };
  visit(0, []);
  return best!.variant;
}

/** Relative parameter gap within which ablation models count as matched. */
export const MATCH_TOLERANCE = 0.02;
