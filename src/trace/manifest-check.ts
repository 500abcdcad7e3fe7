/**
 * Structural checks of a manifest (docs/trace-format.md, "Manifest"): every field's type and range,
 * unique layer names usable inside tensor names, contiguous steps. Shared by the writer (before any
 * byte is written) and the reader (before any tensor is trusted). `checkReplayable` adds what replay
 * relies on; the reader runs it at open, so validate, inspect, replay and export apply one rule set.
 */
import type { LayerOperands } from '../core/layer-plan.js';
import { isMacOp, LoweringError, lowerSparseLayer } from '../core/sparse/layer-lowering.js';
import { checkChunkwise } from './chunk-schedule.js';
import {
  LAYER_OPS,
  type LayerOp,
  PER_STEP_ROLES,
  TENSOR_ROLES,
  type TensorRole,
  TRACE_FORMAT,
  TRACE_FORMAT_VERSION,
  type TraceLayer,
  type TraceManifest,
  type TraceStep,
  tensorName,
} from './manifest.js';
import { TraceError } from './trace-error.js';

type Json = Record<string, unknown>;

/** Layer names appear inside tensor names and export paths: no `/`, no `#`, no control characters. */
function isLayerName(name: string): boolean {
  if (name === '.' || name === '..' || name.includes('/') || name.includes('#')) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

export function checkManifest(source: string, value: unknown): TraceManifest {
  const m = object(source, 'manifest', value);
  if (m.format !== TRACE_FORMAT) {
    throw new TraceError(
      source,
      'manifest.format',
      `must be "${TRACE_FORMAT}", got ${JSON.stringify(m.format)}`,
    );
  }
  if (m.version !== TRACE_FORMAT_VERSION) {
    throw new TraceError(
      source,
      'manifest.version',
      `version ${JSON.stringify(m.version)} is not known (this reader knows ${TRACE_FORMAT_VERSION})`,
    );
  }
  string(source, 'manifest.producer', m.producer);
  const model = object(source, 'manifest.model', m.model);
  string(source, 'manifest.model.name', model.name);
  string(source, 'manifest.model.family', model.family);
  if (model.card !== undefined) string(source, 'manifest.model.card', model.card);
  if (typeof m.seed !== 'number' || !Number.isSafeInteger(m.seed)) {
    throw new TraceError(source, 'manifest.seed', 'must be an integer');
  }
  const layers = array(source, 'manifest.layers', m.layers);
  const names = new Set<string>();
  layers.forEach((raw, i) => {
    const layer = checkLayer(source, `manifest.layers[${i}]`, raw);
    if (names.has(layer.name)) {
      throw new TraceError(source, `manifest.layers[${i}].name`, `duplicate layer name "${layer.name}"`);
    }
    names.add(layer.name);
  });
  const steps = array(source, 'manifest.steps', m.steps);
  for (const [i, raw] of steps.entries()) checkStep(source, `manifest.steps[${i}]`, raw, i);
  if (m.chunkwise !== undefined) {
    const stateLayers = (layers as TraceLayer[]).filter((l) => l.op === 'delta-rule').map((l) => l.name);
    checkChunkwise(source, m.chunkwise, new Set(stateLayers));
  }
  return value as TraceManifest;
}

/** Checks one step record, which must sit at position `expectedIndex`. */
export function checkStep(source: string, where: string, value: unknown, expectedIndex: number): TraceStep {
  const s = object(source, where, value);
  if (s.index !== expectedIndex) {
    throw new TraceError(
      source,
      `${where}.index`,
      `steps must be contiguous from 0: expected ${expectedIndex}, got ${JSON.stringify(s.index)}`,
    );
  }
  count(source, `${where}.sequence`, s.sequence, 0);
  count(source, `${where}.position`, s.position, 0);
  if (typeof s.keyFrame !== 'boolean')
    throw new TraceError(source, `${where}.keyFrame`, 'must be true or false');
  return value as TraceStep;
}

function checkLayer(source: string, where: string, value: unknown): TraceLayer {
  const l = object(source, where, value);
  const name = string(source, `${where}.name`, l.name);
  if (!isLayerName(name)) {
    throw new TraceError(
      source,
      `${where}.name`,
      `"${name}" must not contain "/", "#" or control characters`,
    );
  }
  if (typeof l.op !== 'string' || !(LAYER_OPS as readonly string[]).includes(l.op)) {
    throw new TraceError(
      source,
      `${where}.op`,
      `${JSON.stringify(l.op)} is not one of ${LAYER_OPS.join(', ')}`,
    );
  }
  const op = l.op as LayerOp;
  shape(source, `${where}.inputShape`, l.inputShape);
  shape(source, `${where}.outputShape`, l.outputShape);
  if (l.operandShape !== undefined) shape(source, `${where}.operandShape`, l.operandShape);
  const convLike = op === 'conv2d' || op === 'depthwise';
  for (const key of ['kernel', 'stride', 'dilation'] as const) {
    if (l[key] !== undefined) tuple(source, `${where}.${key}`, l[key], 2, 1);
  }
  if (l.padding !== undefined) tuple(source, `${where}.padding`, l.padding, 4, 0);
  if (convLike && l.kernel === undefined)
    throw new TraceError(source, `${where}.kernel`, `required for ${op}`);
  const gemm = object(source, `${where}.gemm`, l.gemm);
  for (const dim of ['m', 'n', 'k'] as const) count(source, `${where}.gemm.${dim}`, gemm[dim], 1);
  count(source, `${where}.gemmCount`, l.gemmCount, op === 'elementwise' ? 0 : 1);
  if (l.structural !== undefined && l.structural !== 'none' && l.structural !== 'causal') {
    throw new TraceError(source, `${where}.structural`, 'must be "none" or "causal"');
  }
  const roles = array(source, `${where}.roles`, l.roles);
  const seen = new Set<string>();
  for (const role of roles) {
    if (typeof role !== 'string' || !(TENSOR_ROLES as readonly string[]).includes(role)) {
      throw new TraceError(
        source,
        `${where}.roles`,
        `${JSON.stringify(role)} is not one of ${TENSOR_ROLES.join(', ')}`,
      );
    }
    if (seen.has(role)) throw new TraceError(source, `${where}.roles`, `role "${role}" listed twice`);
    seen.add(role as TensorRole);
  }
  if (l.elementwiseOps !== undefined) count(source, `${where}.elementwiseOps`, l.elementwiseOps, 0);
  if (l.deltaThreshold !== undefined) {
    const thresholds = array(source, `${where}.deltaThreshold`, l.deltaThreshold);
    if (!thresholds.every((t) => typeof t === 'number' && Number.isFinite(t) && t >= 0)) {
      throw new TraceError(source, `${where}.deltaThreshold`, 'must be finite non-negative numbers');
    }
  }
  return value as TraceLayer;
}

/**
 * What replay relies on, for every MAC-bearing layer: it names a B operand (`weight` or `rhs`) and an
 * A operand (`input` or `delta`); its GEMM follows from its shapes, kernel, stride, padding, dilation
 * and gemmCount by the core's lowering rules (src/core/sparse/layer-lowering.ts); and each tensor it
 * names holds the elements the lowering reads. `elementsOf(name)` gives a stored tensor's element
 * count; the caller has checked that every named tensor exists with the shape `expectedShape` implies,
 * so the lowering's index tables are bounded by the file's size.
 */
export function checkReplayable(
  source: string,
  manifest: TraceManifest,
  elementsOf: (tensor: string) => number,
): void {
  for (const [i, layer] of manifest.layers.entries()) {
    if (!isMacOp(layer.op)) continue;
    const where = `manifest.layers[${i}]`;
    const { bOperand } = replayOperands(source, where, layer);
    let low: ReturnType<typeof lowerSparseLayer>;
    try {
      low = lowerSparseLayer(layer, bOperand);
    } catch (error) {
      if (error instanceof LoweringError)
        throw new TraceError(source, `${where}.${error.field}`, error.message);
      throw error;
    }
    for (const role of layer.roles) {
      const wanted = role === 'input' || role === 'delta' ? low.inputElements : low.bElements;
      const names = PER_STEP_ROLES.includes(role)
        ? manifest.steps.map((step) => tensorName(layer.name, role, step.index))
        : [tensorName(layer.name, role)];
      for (const name of names) {
        const elements = elementsOf(name);
        if (elements !== wanted) {
          throw new TraceError(
            source,
            `tensor "${name}"`,
            `holds ${elements} elements but ${where} (${layer.op}, gemm ${low.gemm.m}×${low.gemm.n}×${low.gemm.k} × ${low.instances}) reads ${wanted}`,
          );
        }
      }
    }
  }
}

/**
 * The role rules of a MAC-bearing layer, in one place (replay's planning trusts what this returns):
 * it needs a B operand — its static `weight`, else its per-step `rhs` — and an A operand stored as
 * `input`, `delta` or both. `where` is the layer's manifest path, for the error.
 */
export function replayOperands(source: string, where: string, layer: TraceLayer): LayerOperands {
  const bOperand = layer.roles.includes('weight')
    ? 'weight'
    : layer.roles.includes('rhs')
      ? 'rhs'
      : undefined;
  if (!bOperand)
    throw new TraceError(source, `${where}.roles`, 'a MAC-bearing layer needs a weight or rhs tensor');
  const input = layer.roles.includes('input');
  const delta = layer.roles.includes('delta');
  if (!input && !delta)
    throw new TraceError(source, `${where}.roles`, 'a MAC-bearing layer needs an input or delta tensor');
  return { bOperand, aStored: input && delta ? 'both' : input ? 'input' : 'delta' };
}

/**
 * The shape the manifest implies for a layer's tensor, when it implies one: `input` and `delta`
 * have `inputShape`; `weight` and `rhs` have `operandShape` when the layer gives it.
 */
export function expectedShape(layer: TraceLayer, role: TensorRole): readonly number[] | undefined {
  if (role === 'input' || role === 'delta') return layer.inputShape;
  return layer.operandShape;
}

function object(source: string, where: string, value: unknown): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TraceError(source, where, 'must be an object');
  }
  return value as Json;
}

function array(source: string, where: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new TraceError(source, where, 'must be an array');
  return value;
}

function string(source: string, where: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TraceError(source, where, 'must be a non-empty string');
  return value;
}

function count(source: string, where: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TraceError(source, where, `must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function shape(source: string, where: string, value: unknown): void {
  const dims = array(source, where, value);
  if (!dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new TraceError(source, where, 'must be an array of non-negative integers');
  }
}

function tuple(source: string, where: string, value: unknown, length: number, min: number): void {
  const items = array(source, where, value);
  if (
    items.length !== length ||
    !items.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= min)
  ) {
    throw new TraceError(source, where, `must be ${length} integers ≥ ${min}`);
  }
}
