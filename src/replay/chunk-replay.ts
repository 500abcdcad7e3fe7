import {
  type ChunkBlockShape,
  type ChunkCheck,
  type ChunkInput,
  type ChunkLayer,
  chunkLayers,
  chunkOperands,
  chunkValues,
  compareChunk,
} from '../core/chunk-layers.js';
import { runEvents } from '../core/events.js';
import { planLayer, reconstructedOperands, weightResidency } from '../core/layer-plan.js';
import { createLayerReplay, replayReport, replayRunStart } from '../core/replay-engine.js';
import type { LayerReport } from '../core/report.js';
import { inexactReport } from '../core/report-total.js';
import { isMacOp, type SparseLayerSpec } from '../core/sparse/layer-lowering.js';
import { F16_MIN_ULP } from '../core/sparse/verify.js';
import type { ChunkwiseBlock } from '../trace/chunk-schedule.js';
import { type TraceLayer, type TraceStep, tensorName } from '../trace/manifest.js';
import { replayOperands } from '../trace/manifest-check.js';
import { packMask } from '../trace/mask.js';
import type { TraceReader } from '../trace/reader.js';
import { TraceError } from '../trace/trace-error.js';
import { checkTensorData } from '../trace/validate.js';
import {
  type ReplayTraceOptions,
  type ReplayTraceResult,
  recordVerifyFailure,
  replayLayer,
  type VerifyFailure,
  yieldTurn,
} from './replay-trace.js';

/** The trace layers one block's chunked schedule reads (manifest.chunkwise.blocks[i].replaces). */
interface BlockSources {
  readonly prefix: string;
  readonly shape: ChunkBlockShape;
  readonly update: string;
  readonly readout: string;
  /**
   * The β projection (`<prefix>wbeta`: β = scale·σ(x·W_β + b), b per head, zero if not recorded;
   * scale 2 with `allowNegEigval`, else 1); absent: β = 1.
   */
  readonly beta?: {
    readonly layer: string;
    readonly dModel: number;
    readonly bias: readonly number[];
    readonly scale: number;
  };
}

/** What the chunk checks compare against: the recorded token-by-token values. */
interface ChunkReference {
  /** Recorded u_t = β_t(v_t − S_{t−1}ᵀk_t) [H, C, d_v] and its scale. */
  readonly u: Float64Array;
  readonly uScale: Float64Array;
  /** Recorded readouts S_tᵀq_t [H, C, d_v] and their scale. */
  readonly o: Float64Array;
  readonly oScale: Float64Array;
  /** Recorded state after the chunk's last token [H, d_k, d_v]. */
  readonly sEnd: Float64Array;
}

interface Chunk {
  readonly input: ChunkInput;
  readonly reference: ChunkReference;
  readonly newSequence: boolean;
}

/** The longest common prefix of the replaced layers' names, cut after its last `_` (`block0_`). */
function namePrefix(names: readonly string[]): string {
  let prefix = names[0]!;
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.slice(0, prefix.lastIndexOf('_') + 1);
}

function blockSources(reader: TraceReader, block: ChunkwiseBlock, at: string, chunk: number): BlockSources {
  const layers = new Map(reader.manifest.layers.map((l) => [l.name, l]));
  const { replaces } = block;
  const expected = block.rule === 'delta' ? 3 : 2;
  // The recorder lists retrieve (delta only), update, readout: the update is the K = 1 product.
  const update = replaces[expected - 2];
  const readout = replaces[expected - 1];
  const updateLayer = update === undefined ? undefined : layers.get(update);
  if (
    replaces.length !== expected ||
    update === undefined ||
    updateLayer?.gemm.k !== 1 ||
    readout === undefined
  ) {
    throw new TraceError(
      reader.path,
      `${at}.replaces`,
      `the chunked schedule needs ${block.rule === 'delta' ? 'retrieve, ' : ''}update (K = 1) and readout, in that order`,
    );
  }
  const prefix = namePrefix(replaces);
  const betaLayer = layers.get(`${prefix}wbeta`);
  const beta =
    block.rule === 'delta' && betaLayer && betaLayer.gemm.n === block.heads
      ? {
          layer: betaLayer.name,
          dModel: betaLayer.gemm.k,
          bias: block.betaBias ?? new Array<number>(block.heads).fill(0),
          scale: block.allowNegEigval ? 2 : 1,
        }
      : undefined;
  return {
    prefix,
    shape: { rule: block.rule, heads: block.heads, dk: block.dk, dv: block.dv, chunk },
    update,
    readout,
    ...(beta ? { beta } : {}),
  };
}

/** Token steps grouped into chunks of C per sequence (a sequence's last chunk may be shorter). */
function chunkSteps(steps: readonly TraceStep[], chunk: number): TraceStep[][] {
  const out: TraceStep[][] = [];
  let current: TraceStep[] = [];
  for (const [t, step] of steps.entries()) {
    const newSequence = t === 0 || steps[t - 1]!.sequence !== step.sequence;
    if (current.length === chunk || (newSequence && current.length > 0)) {
      out.push(current);
      current = [];
    }
    current.push(step);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Reads one chunk's operands from the recorded token steps: k and u from the update layer, q and
 * S_t from the readout layer, S before the chunk from the previous token's readout (zero at a
 * sequence start), β from the β projection. The trace holds u = β(v − S_{t−1}ᵀk) with β folded
 * in, so diag(β)V = u + β·S_{t−1}ᵀk.
 */
async function* readChunks(
  reader: TraceReader,
  src: BlockSources,
  groups: readonly TraceStep[][],
  validate: boolean,
): AsyncGenerator<Chunk> {
  const { heads: h, dk, dv, chunk: c, rule } = src.shape;
  const read = async (name: string) => {
    if (validate) await checkTensorData(reader, name);
    return reader.readValues(name);
  };
  const betaWeight = src.beta ? await read(tensorName(src.beta.layer, 'weight')) : undefined;
  let previous: Float32Array | undefined;
  for (const [g, group] of groups.entries()) {
    const first = group[0]!;
    const newSequence = g === 0 || groups[g - 1]![0]!.sequence !== first.sequence;
    if (newSequence) previous = undefined;
    const s0 = new Float64Array(h * dk * dv);
    if (previous) s0.set(previous);
    const input = {
      rows: group.length,
      k: new Float64Array(h * c * dk),
      q: new Float64Array(h * c * dk),
      betaV: new Float64Array(h * c * dv),
      beta: new Float64Array(h * c),
      s0,
    };
    const reference = {
      u: new Float64Array(h * c * dv),
      uScale: new Float64Array(h * c * dv),
      o: new Float64Array(h * c * dv),
      oScale: new Float64Array(h * c * dv),
      sEnd: new Float64Array(h * dk * dv),
    };
    for (const [j, step] of group.entries()) {
      const t = step.index;
      const k = await read(tensorName(src.update, 'input', t));
      const u = await read(tensorName(src.update, 'rhs', t));
      const q = await read(tensorName(src.readout, 'input', t));
      const s = await read(tensorName(src.readout, 'rhs', t));
      let betas: Float64Array | undefined;
      if (betaWeight && src.beta) {
        const x = await read(tensorName(src.beta.layer, 'input', t));
        betas = new Float64Array(h);
        for (let hd = 0; hd < h; hd++) {
          let logit = src.beta.bias[hd]!;
          for (let i = 0; i < src.beta.dModel; i++) logit += x[i]! * betaWeight[i * h + hd]!;
          betas[hd] = src.beta.scale / (1 + Math.exp(-logit));
        }
      }
      for (let hd = 0; hd < h; hd++) {
        const row = (hd * c + j) * dk;
        const vrow = (hd * c + j) * dv;
        const beta = betas ? betas[hd]! : 1;
        input.beta[hd * c + j] = rule === 'delta' ? beta : 0;
        for (let i = 0; i < dk; i++) {
          input.k[row + i] = k[hd * dk + i]!;
          input.q[row + i] = q[hd * dk + i]!;
        }
        for (let e = 0; e < dv; e++) {
          let retrieved = 0;
          let retrievedScale = 0;
          let readout = 0;
          let readoutScale = 0;
          for (let i = 0; i < dk; i++) {
            const before = previous ? previous[(hd * dk + i) * dv + e]! : 0;
            retrieved += before * k[hd * dk + i]!;
            retrievedScale += Math.abs(before * k[hd * dk + i]!);
            const after = s[(hd * dk + i) * dv + e]!;
            readout += after * q[hd * dk + i]!;
            readoutScale += Math.abs(after * q[hd * dk + i]!);
          }
          const ue = u[hd * dv + e]!;
          input.betaV[vrow + e] = rule === 'delta' ? ue + beta * retrieved : ue;
          reference.u[vrow + e] = ue;
          reference.uScale[vrow + e] = Math.abs(ue) + beta * retrievedScale;
          reference.o[vrow + e] = readout;
          reference.oScale[vrow + e] = readoutScale;
        }
      }
      previous = s;
    }
    reference.sEnd.set(previous!);
    yield { input, reference, newSequence };
  }
}

/** The chunk checks of `--verify`: U' = the recorded u, O = the recorded readouts, S = the recorded state. */
function checkChunk(src: BlockSources, chunk: Chunk): { what: string; check: ChunkCheck }[] {
  const { heads: h, dk, dv, chunk: c, rule } = src.shape;
  const values = chunkValues(src.shape, chunk.input);
  const rows = chunk.input.rows;
  // Only the chunk's real tokens: padding rows are not recorded.
  const realRows = (x: Float64Array) => {
    const out = new Float64Array(h * rows * dv);
    for (let hd = 0; hd < h; hd++) out.set(x.subarray(hd * c * dv, (hd * c + rows) * dv), hd * rows * dv);
    return out;
  };
  const { reference: r } = chunk;
  // A term's scale carries its own operands' scale: U'_j is itself a sum (u = β(v − Sᵀk)) whose
  // rounding grows with its terms, not with its value, and the chunk adds KᵀU' over all its rows
  // (with repeated keys the forward substitution cancels large terms, so |U'| alone understates it).
  const sScale = new Float64Array(h * dk * dv);
  for (let hd = 0; hd < h; hd++)
    for (let i = 0; i < dk; i++)
      for (let e = 0; e < dv; e++) {
        let s = Math.abs(chunk.input.s0[(hd * dk + i) * dv + e]!);
        for (let j = 0; j < rows; j++) {
          const v = (hd * c + j) * dv + e;
          const uScale = rule === 'delta' ? Math.max(Math.abs(values.corrected[v]!), r.uScale[v]!) : 0;
          s +=
            Math.abs(chunk.input.k[(hd * c + j) * dk + i]!) *
            Math.max(Math.abs(values.corrected[v]!), uScale);
        }
        sScale[(hd * dk + i) * dv + e] = s;
      }
  const oScale = r.oScale.map((s, i) => s + Math.abs(values.o[i]!));
  // Values near zero are stored as F16 subnormals, whose step does not shrink with them: each of a
  // dot product's d_k stored terms (|k|, |q| ≤ 1) may carry that step on either side.
  const floor = F16_MIN_ULP * dk;
  return [
    ...(rule === 'delta'
      ? [
          {
            what: "U' = U − WS vs the recorded u",
            check: compareChunk(
              realRows(values.corrected),
              realRows(r.u),
              realRows(r.uScale),
              undefined,
              floor,
            ),
          },
        ]
      : []),
    {
      what: "O = QS + (QKᵀ⊙M)U' vs the recorded readouts",
      check: compareChunk(realRows(values.o), realRows(r.o), realRows(oScale), undefined, floor),
    },
    {
      what: "S + KᵀU' vs the recorded state",
      check: compareChunk(values.sEnd, r.sEnd, sScale, undefined, floor),
    },
  ];
}

/**
 * The chunk checks over a whole trace, per block and check: the largest relative error and the
 * mismatches (what `--verify` reports per chunk; also what the documented tolerance is judged by).
 */
export async function chunkCheckSummary(
  reader: TraceReader,
): Promise<
  { block: string; what: string; compared: number; mismatches: number; maxRelativeError: number }[]
> {
  const schedule = reader.manifest.chunkwise;
  if (!schedule) throw new TraceError(reader.path, 'manifest.chunkwise', 'is absent');
  const groups = chunkSteps(reader.manifest.steps, schedule.chunk);
  const out = new Map<
    string,
    { block: string; what: string; compared: number; mismatches: number; maxRelativeError: number }
  >();
  for (const [i, block] of schedule.blocks.entries()) {
    const src = blockSources(reader, block, `manifest.chunkwise.blocks[${i}]`, schedule.chunk);
    for await (const chunk of readChunks(reader, src, groups, false)) {
      for (const { what, check } of checkChunk(src, chunk)) {
        const key = `${src.prefix}|${what}`;
        const t = out.get(key) ?? {
          block: src.prefix,
          what,
          compared: 0,
          mismatches: 0,
          maxRelativeError: 0,
        };
        t.compared += check.compared;
        t.mismatches += check.mismatches;
        t.maxRelativeError = Math.max(t.maxRelativeError, check.maxRelativeError);
        out.set(key, t);
      }
    }
  }
  return [...out.values()];
}

/**
 * Every chunk of one block with its layers' operands as the replay feeds them (`a`, `b`; zero values
 * are the zero mask bits): for tests that count MACs by brute force on a recorded trace.
 */
export async function* traceChunkOperands(
  reader: TraceReader,
  blockIndex: number,
): AsyncGenerator<{ layer: ChunkLayer; a: Float32Array; b: Float32Array }[]> {
  const schedule = reader.manifest.chunkwise;
  const block = schedule?.blocks[blockIndex];
  if (!schedule || !block)
    throw new TraceError(reader.path, 'manifest.chunkwise.blocks', `has no block ${blockIndex}`);
  const src = blockSources(reader, block, `manifest.chunkwise.blocks[${blockIndex}]`, schedule.chunk);
  for await (const chunk of readChunks(
    reader,
    src,
    chunkSteps(reader.manifest.steps, schedule.chunk),
    false,
  )) {
    const values = chunkValues(src.shape, chunk.input);
    yield chunkLayers(src.prefix, src.shape).map((layer) => ({
      layer,
      ...chunkOperands(layer.product, src.shape, chunk.input, values),
    }));
  }
}

/** One step (chunk) of a chunk layer: its operands, masks from the values (structural zeros are zero). */
function chunkStep(layer: ChunkLayer, src: BlockSources, chunk: Chunk, verify: boolean) {
  const values = chunkValues(src.shape, chunk.input);
  const { a, b } = chunkOperands(layer.product, src.shape, chunk.input, values);
  return {
    aMask: packMask(a),
    bMask: packMask(b),
    keyFrame: true,
    newSequence: chunk.newSequence,
    ...(verify ? { values: { a, b } } : {}),
  };
}

type Unit =
  | { readonly kind: 'layer'; readonly layer: TraceLayer; readonly manifestIndex: number }
  | {
      readonly kind: 'chunk';
      readonly layer: ChunkLayer;
      readonly src: BlockSources;
      readonly first: boolean;
    };

/**
 * `replay --schedule chunkwise`: the trace's layers in order, with each block's token-by-token state
 * products (`replaces`) swapped for the chunked schedule's layers (src/core/chunk-layers.ts), one step
 * per chunk. Every other layer replays exactly as in `replayTrace`. With `verify`, besides each
 * layer's scheduled-vs-dense check, the chunk values must reproduce the recorded u, readouts and states.
 */
export async function replayTraceChunkwise(
  reader: TraceReader,
  options: ReplayTraceOptions,
): Promise<ReplayTraceResult> {
  const { manifest } = reader;
  const schedule = manifest.chunkwise;
  if (!schedule) {
    throw new TraceError(
      reader.path,
      'manifest.chunkwise',
      'is absent: this trace has no chunked schedule to replay',
    );
  }
  const hw = options.hardware;
  const steps = manifest.steps;
  const groups = chunkSteps(steps, schedule.chunk);
  const owner = new Map<string, number>();
  schedule.blocks.forEach((b, i) => {
    for (const name of b.replaces) owner.set(name, i);
  });
  const sources = schedule.blocks.map((b, i) =>
    blockSources(reader, b, `manifest.chunkwise.blocks[${i}]`, schedule.chunk),
  );
  const units: Unit[] = [];
  const emitted = new Set<number>();
  manifest.layers.forEach((layer, manifestIndex) => {
    if (!isMacOp(layer.op)) return;
    const block = owner.get(layer.name);
    if (block === undefined) {
      units.push({ kind: 'layer', layer, manifestIndex });
      return;
    }
    if (emitted.has(block)) return;
    emitted.add(block);
    const src = sources[block]!;
    chunkLayers(src.prefix, src.shape).forEach((l, i) => {
      units.push({ kind: 'chunk', layer: l, src, first: i === 0 });
    });
  });
  const specOf = (u: Unit): SparseLayerSpec => (u.kind === 'layer' ? u.layer : u.layer.spec);
  const stepsOf = (u: Unit) => (u.kind === 'layer' ? steps.length : groups.length);
  const config = {
    hardware: hw,
    sources: [reader.path],
    toolVersion: options.toolVersion,
    steps: steps.length,
    model: manifest.model.name,
  };
  const start = replayRunStart(units.map(specOf), config);
  if (start.type === 'run-start') {
    // A chunk layer's step is a chunk: its MACs over the run are per chunk × chunks.
    const layers = start.layers.map((l, i) => ({ ...l, macs: (l.macs / steps.length) * stepsOf(units[i]!) }));
    options.onEvent({ ...start, layers, backend: `${start.backend ?? 'sparse replay'}, chunkwise schedule` });
  }
  const plans = units.map((u) =>
    u.kind === 'layer'
      ? planLayer(
          replayOperands(reader.path, `manifest.layers[${u.manifestIndex}]`, u.layer),
          hw,
          steps.length,
        )
      : { bOperand: 'rhs' as const, delta: false, aSource: 'input' as const },
  );
  const residency = weightResidency(
    units.map((u, i) => (plans[i]!.bOperand === 'weight' ? specOf(u) : null)),
    hw,
  );
  const reconstructed = reconstructedOperands(units.map((u, i) => ({ spec: specOf(u), plan: plans[i]! })));
  const reports: LayerReport[] = [];
  const failures: VerifyFailure[] = [];
  const deltaLayers: string[] = [];
  for (const [index, unit] of units.entries()) {
    options.signal?.throwIfAborted();
    const spec = specOf(unit);
    options.onEvent(runEvents.layerStart(index, spec.name));
    const placement = { weightResidency: residency[index]!, reconstructed: reconstructed[index]! };
    let report: LayerReport;
    if (unit.kind === 'layer') {
      const plan = plans[index]!;
      if (plan.delta) deltaLayers.push(spec.name);
      report = await replayLayer(reader, unit.layer, index, plan, placement, options, failures);
    } else {
      const replay = createLayerReplay(spec, hw, {
        bOperand: 'rhs',
        delta: false,
        ...placement,
        ...(options.histogramBins ? { histogramBins: options.histogramBins } : {}),
      });
      let done = 0;
      for await (const chunk of readChunks(reader, unit.src, groups, unit.first)) {
        if (options.verify && unit.first) {
          for (const { what, check } of checkChunk(unit.src, chunk)) {
            if (check.mismatches === 0) continue;
            failures.push({
              layer: `${unit.src.prefix}chunkwise`,
              step: done,
              mismatches: check.mismatches,
              maxRelativeError: check.maxRelativeError,
              detail: `${what}: value ${check.first!.index} is ${check.first!.got}, recorded ${check.first!.expected}`,
            });
          }
        }
        const outcome = replay.step(chunkStep(unit.layer, unit.src, chunk, options.verify));
        recordVerifyFailure(failures, spec.name, done, outcome);
        done++;
        options.onEvent(runEvents.stepDone(index, done, groups.length, outcome));
        if (options.signal) {
          await yieldTurn();
          options.signal.throwIfAborted();
        }
      }
      report = replay.report();
    }
    reports.push(report);
    options.onEvent(runEvents.layerDone(index, report));
  }
  const report = replayReport(reports, config);
  const inexact = inexactReport(report.layers, report.total);
  if (inexact) throw new TraceError(reader.path, ...inexact);
  options.onEvent(runEvents.runDone(report));
  return { report, verifyFailures: failures, deltaLayers };
}
