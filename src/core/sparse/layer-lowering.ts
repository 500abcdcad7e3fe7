import type { Gemm } from '../gemm.js';

/**
 * A MAC-bearing layer of a trace as the core sees it (a plain subset of the trace manifest's layer:
 * the replay edge passes manifest layers straight in). Shapes are per step, without batch.
 */
export interface SparseLayerSpec {
  readonly name: string;
  /** conv2d, depthwise, dense, matmul, attention-scores, attention-values, delta-rule. */
  readonly op: string;
  /**
   * Shape of one step's `input` tensor, without batch:
   * conv2d / depthwise `[H, W, C]` (NHWC); dense / matmul / attention `[M, K]` (rows are tokens or
   * pixels, K the reduction); delta-rule `[d_k]` per head stacked as `[heads, d_k]`.
   */
  readonly inputShape: readonly number[];
  /**
   * Shape of `weight` (conv2d `[Fh, Fw, C_in, N]`, depthwise `[Fh, Fw, C, 1]`, dense `[K, N]`)
   * or of `rhs` for activation × activation ops (`[K, N]` per instance, instances stacked first).
   */
  readonly operandShape?: readonly number[];
  /** conv2d / depthwise only: [Fh, Fw]. */
  readonly kernel?: readonly [number, number];
  /** conv2d / depthwise only: [sh, sw]. */
  readonly stride?: readonly [number, number];
  /** conv2d / depthwise only: zero padding [top, bottom, left, right] the model applied. */
  readonly padding?: readonly [number, number, number, number];
  /** conv2d / depthwise only: [dh, dw]. */
  readonly dilation?: readonly [number, number];
  /** The GEMM one instance lowers to. */
  readonly gemm: Gemm;
  /** How many such GEMMs per step (depthwise: channels; attention: heads). */
  readonly gemmCount: number;
  /** Zeros known by construction, without data: `causal` = lower-triangular mask on [M×N] outputs. */
  readonly structural?: 'none' | 'causal';
}

/** Which tensor is the GEMM's B operand: the static weight or a per-step activation (`rhs`). */
export type BOperand = 'weight' | 'rhs';

/**
 * A layer lowered to GEMM operand addressing. A[m,k] of instance i is input element
 * `aIndex[m·K + k] + i·aInstanceStride` (−1 in aIndex: a padding position, a structural zero);
 * B[k,n] of instance i is element `k·bRowStride + n·bColStride + i·bInstanceStride` of the B tensor.
 */
export interface LoweredSparseLayer {
  readonly spec: SparseLayerSpec;
  readonly gemm: Gemm;
  readonly instances: number;
  readonly bOperand: BOperand;
  readonly aIndex: Int32Array;
  readonly aInstanceStride: number;
  readonly bRowStride: number;
  readonly bColStride: number;
  readonly bInstanceStride: number;
  /** Outputs (m, n) with n > m are structural zeros (causal QKᵀ). */
  readonly outputCausal: boolean;
  /** Operand entries A(m, k) with k > m are structural zeros (causal attention weights in AV). */
  readonly operandCausal: boolean;
  /** Some A entry falls on padding (aIndex has a −1). */
  readonly hasPadding: boolean;
  readonly inputElements: number;
  readonly bElements: number;
  readonly outputElements: number;
}

export class LoweringError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** MAC-bearing ops the replay lowers; `elementwise` (the trace manifest's other op) is not run on the array. */
export const MAC_OPS = [
  'conv2d',
  'depthwise',
  'dense',
  'matmul',
  'attention-scores',
  'attention-values',
  'delta-rule',
] as const;

export type MacOp = (typeof MAC_OPS)[number];

export function isMacOp(op: string): op is MacOp {
  return (MAC_OPS as readonly string[]).includes(op);
}

/**
 * Lowers a layer to operand addressing. Convs use im2col over the input with the layer's own
 * padding / stride / dilation (K ordered (fh, fw, c) to match a [Fh, Fw, C, N] weight flattened);
 * depthwise is one GEMM per channel; everything else is [M×K]·[K×N] per instance, instances stacked
 * first. Throws LoweringError naming the manifest field that does not add up.
 */
export function lowerSparseLayer(spec: SparseLayerSpec, bOperand: BOperand): LoweredSparseLayer {
  const { m, n, k } = spec.gemm;
  const count = spec.gemmCount;
  for (const [key, v] of [
    ['gemm.m', m],
    ['gemm.n', n],
    ['gemm.k', k],
    ['gemmCount', count],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LoweringError(key, 'must be an integer ≥ 1');
  }
  const causal = spec.structural === 'causal';
  const outputCausal = causal && spec.op !== 'attention-values';
  const operandCausal = causal && spec.op === 'attention-values';
  const inputElements = product(spec.inputShape);
  if (spec.op === 'conv2d' || spec.op === 'depthwise') {
    const depthwise = spec.op === 'depthwise';
    const [h, w, c] = spec.inputShape;
    if (spec.inputShape.length !== 3 || h === undefined || w === undefined || c === undefined) {
      throw new LoweringError('inputShape', 'a conv input is [H, W, C]');
    }
    const [fh, fw] = spec.kernel ?? [1, 1];
    const [sh, sw] = spec.stride ?? [1, 1];
    const [pt, pb, pl, pr] = spec.padding ?? [0, 0, 0, 0];
    const [dh, dw] = spec.dilation ?? [1, 1];
    const ho = Math.floor((h + pt + pb - dh * (fh - 1) - 1) / sh) + 1;
    const wo = Math.floor((w + pl + pr - dw * (fw - 1) - 1) / sw) + 1;
    if (ho < 1 || wo < 1) throw new LoweringError('kernel', 'the kernel does not fit the padded input');
    if (m !== ho * wo) throw new LoweringError('gemm.m', `expected ${ho}×${wo} = ${ho * wo} output pixels`);
    const window = depthwise ? fh * fw : fh * fw * c;
    if (k !== window) throw new LoweringError('gemm.k', `expected the window ${window}`);
    if (depthwise && count !== c)
      throw new LoweringError('gemmCount', `a depthwise conv has one GEMM per channel (${c})`);
    if (!depthwise && count !== 1) throw new LoweringError('gemmCount', 'a conv2d is one GEMM');
    const channelsInK = depthwise ? 1 : c;
    const buildIndex = (): Int32Array => {
      const aIndex = new Int32Array(m * k);
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          const row = (oh * wo + ow) * k;
          for (let y = 0; y < fh; y++) {
            const ih = oh * sh - pt + y * dh;
            for (let x = 0; x < fw; x++) {
              const iw = ow * sw - pl + x * dw;
              const inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
              const col = (y * fw + x) * channelsInK;
              const pixel = (ih * w + iw) * c;
              for (let ch = 0; ch < channelsInK; ch++) aIndex[row + col + ch] = inside ? pixel + ch : -1;
            }
          }
        }
      }
      return aIndex;
    };
    // The extreme window positions (first and last output row/column, first and last tap) bound
    // every input coordinate the windows read, so padding is touched iff they leave the input.
    const hasPadding =
      pt > 0 || pl > 0 || (ho - 1) * sh - pt + (fh - 1) * dh >= h || (wo - 1) * sw - pl + (fw - 1) * dw >= w;
    const bElements = depthwise ? fh * fw * c * n : k * n;
    // Built on first use: M·K entries a dense (closed-form) replay never reads.
    return new Lowered(spec, bOperand, buildIndex, {
      hasPadding,
      outputCausal,
      operandCausal,
      inputElements,
      aInstanceStride: depthwise ? 1 : 0,
      // [Fh, Fw, C, N] flattened: depthwise instance c reads channel c with its N multipliers.
      bRowStride: depthwise ? c * n : n,
      bInstanceStride: depthwise ? n : 0,
      bElements,
      outputElements: m * n * count,
    });
  }
  if (!isMacOp(spec.op)) throw new LoweringError('op', `"${spec.op}" is not a MAC-bearing op`);
  if (inputElements !== count * m * k) {
    throw new LoweringError('inputShape', `expected ${count}×${m}×${k} = ${count * m * k} elements`);
  }
  const shared =
    bOperand === 'weight' && spec.operandShape !== undefined && product(spec.operandShape) === k * n;
  const bElements = shared ? k * n : count * k * n;
  if (spec.operandShape !== undefined && product(spec.operandShape) !== bElements) {
    throw new LoweringError('operandShape', `expected ${k}×${n} or ${count}×${k}×${n} elements`);
  }
  const identity = (): Int32Array => {
    const aIndex = new Int32Array(m * k);
    for (let i = 0; i < m * k; i++) aIndex[i] = i;
    return aIndex;
  };
  return new Lowered(spec, bOperand, identity, {
    hasPadding: false,
    outputCausal,
    operandCausal,
    inputElements,
    aInstanceStride: m * k,
    bRowStride: n,
    bInstanceStride: shared ? 0 : k * n,
    bElements,
    outputElements: m * n * count,
  });
}

/** The figures of a lowering besides its spec, operand and index (Lowered's constructor). */
type LoweredFigures = Pick<
  LoweredSparseLayer,
  | 'hasPadding'
  | 'outputCausal'
  | 'operandCausal'
  | 'inputElements'
  | 'aInstanceStride'
  | 'bRowStride'
  | 'bInstanceStride'
  | 'bElements'
  | 'outputElements'
>;

/**
 * Every lowering is an instance of one class, its index built on first read by a getter on the
 * prototype: the object literals with a getter of their own that this replaced got a new hidden
 * class per layer and turned into dictionary-mode objects from the third, so every `low.x` read on
 * the replay path was a dictionary lookup and each new layer deoptimized the code reading it.
 */
class Lowered implements LoweredSparseLayer {
  readonly gemm: Gemm;
  readonly instances: number;
  readonly hasPadding: boolean;
  readonly outputCausal: boolean;
  readonly operandCausal: boolean;
  readonly inputElements: number;
  readonly aInstanceStride: number;
  readonly bRowStride: number;
  readonly bColStride = 1;
  readonly bInstanceStride: number;
  readonly bElements: number;
  readonly outputElements: number;
  private index: Int32Array | undefined = undefined;

  constructor(
    readonly spec: SparseLayerSpec,
    readonly bOperand: BOperand,
    private readonly buildIndex: () => Int32Array,
    figures: LoweredFigures,
  ) {
    this.gemm = spec.gemm;
    this.instances = spec.gemmCount;
    this.hasPadding = figures.hasPadding;
    this.outputCausal = figures.outputCausal;
    this.operandCausal = figures.operandCausal;
    this.inputElements = figures.inputElements;
    this.aInstanceStride = figures.aInstanceStride;
    this.bRowStride = figures.bRowStride;
    this.bInstanceStride = figures.bInstanceStride;
    this.bElements = figures.bElements;
    this.outputElements = figures.outputElements;
  }

  get aIndex(): Int32Array {
    this.index ??= this.buildIndex();
    return this.index;
  }
}
