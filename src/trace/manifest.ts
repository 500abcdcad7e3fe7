/**
 * The trace manifest: the JSON stored under `__metadata__["deltasim.manifest"]` of a trace's
 * safetensors file. It is the contract between the model half (src/nn, which writes traces) and the
 * simulator half (src/core via the replay edge, which reads them). Spec: docs/trace-format.md.
 * Pure types and naming rules only; reading, writing and validation live beside it in src/trace.
 *
 * These types are the file format's own, written out field by field and imported from nowhere:
 * a change to a core type cannot change what a trace file holds. Replay hands a `TraceLayer` to the
 * core's lowering, so the compiler still checks that the core can read every field it needs.
 * Changing anything here is a format change: bump TRACE_FORMAT_VERSION and keep a reader for the
 * old version.
 */

import type { ChunkwiseSchedule } from './chunk-schedule.js';

export const TRACE_FORMAT = 'deltasim-trace';
export const TRACE_FORMAT_VERSION = 1;
/** Key of the manifest inside the safetensors `__metadata__` string map. */
export const MANIFEST_METADATA_KEY = 'deltasim.manifest';

/**
 * What a layer computes. Everything but `elementwise` is MAC-bearing and lowers to GEMMs
 * (docs/trace-format.md lists how each op's shapes map onto its GEMM).
 */
export const LAYER_OPS = [
  'conv2d',
  'depthwise',
  'dense',
  'matmul',
  'attention-scores',
  'attention-values',
  'delta-rule',
  'elementwise',
] as const;

export type LayerOp = (typeof LAYER_OPS)[number];

/**
 * The tensors a layer can name. `input` is the activation operand the layer's GEMM consumes at a
 * step (after any quantisation, i.e. q_t for a DAL model); `delta` is Δ_t = q_t − q_{t−1} of that
 * same tensor (equal to `input` on a key step); `weight` is the static operand; `rhs` is a second
 * per-step activation operand for activation × activation products (attention: K or V).
 */
export type TensorRole = 'input' | 'delta' | 'weight' | 'rhs';

export const TENSOR_ROLES: readonly TensorRole[] = ['input', 'delta', 'weight', 'rhs'];

/** Roles that change every step; the others are stored once per trace. */
export const PER_STEP_ROLES: readonly TensorRole[] = ['input', 'delta', 'rhs'];

/** The GEMM `[M×K]·[K×N]` one instance of a layer lowers to. */
export interface ManifestGemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** A layer of the manifest (docs/trace-format.md, "Manifest"). */
export interface TraceLayer {
  /** Unique in the trace; part of its tensors' names. */
  readonly name: string;
  readonly op: LayerOp;
  /**
   * Shape of one step's `input` tensor, without batch: conv2d / depthwise `[H, W, C]` (NHWC);
   * dense / matmul / attention `[M, K]`; delta-rule `[heads, d_k]`.
   */
  readonly inputShape: readonly number[];
  /**
   * Shape of `weight` (conv2d `[Fh, Fw, C_in, N]`, depthwise `[Fh, Fw, C, 1]`, dense `[K, N]`) or of
   * `rhs` for activation × activation ops (`[K, N]` per instance, instances stacked first).
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
  readonly gemm: ManifestGemm;
  /** How many such GEMMs per step (depthwise: channels; attention: heads). */
  readonly gemmCount: number;
  /** Zeros known by construction: `causal` = lower-triangular mask on the [M×N] outputs. */
  readonly structural?: 'none' | 'causal';
  /** Shape of one step's output, without batch. */
  readonly outputShape: readonly number[];
  /** Which roles this layer stores (the names follow from `tensorName`). */
  readonly roles: readonly TensorRole[];
  /** Elementwise work per step that does not run on the array (adds, activations, thresholds). */
  readonly elementwiseOps?: number;
  /** The DAL quantisation step θ per channel, when the layer's input passed through a DAL. */
  readonly deltaThreshold?: readonly number[];
}

export interface TraceStep {
  /** Position in the trace, 0-based, contiguous. */
  readonly index: number;
  /** Which clip / sequence this step belongs to. */
  readonly sequence: number;
  /** Position within its sequence (frame or token number). */
  readonly position: number;
  /** A key step is processed densely: its delta is the input itself (Δ = q_t). */
  readonly keyFrame: boolean;
}

export interface TraceManifest {
  readonly format: typeof TRACE_FORMAT;
  readonly version: number;
  /** e.g. "deltasim 0.1.0" or "numpy-example". */
  readonly producer: string;
  readonly model: {
    readonly name: string;
    readonly family: string;
    /** Path of the model card (card.json) relative to the repository, if any. */
    readonly card?: string;
  };
  readonly seed: number;
  readonly layers: readonly TraceLayer[];
  readonly steps: readonly TraceStep[];
  /** Optional: the chunked schedule of the trace's delta-rule layers (src/trace/chunk-schedule.ts). */
  readonly chunkwise?: ChunkwiseSchedule;
}

/**
 * Tensor naming scheme: static tensors `L/<layer>/<role>`; per-step tensors `S<step>/<layer>/<role>`
 * (step as a plain decimal integer); the zero mask of any tensor is its name + `#mask`.
 */
export function tensorName(layer: string, role: TensorRole, step?: number): string {
  if ((PER_STEP_ROLES as readonly string[]).includes(role)) {
    if (step === undefined) throw new RangeError(`role ${role} is per step: a step is required`);
    return `S${step}/${layer}/${role}`;
  }
  return `L/${layer}/${role}`;
}

export function maskName(tensor: string): string {
  return `${tensor}#mask`;
}
