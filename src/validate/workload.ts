import type { Prng } from '../common/prng.js';
import type { HardwareModel, StorageFormat } from '../core/hardware.js';
import { createLayerReplay, type ReplayStepInput, type StepOutcome } from '../core/replay-engine.js';
import type { LayerReport } from '../core/report.js';
import type { SparseLayerSpec } from '../core/sparse/layer-lowering.js';
import { packMask } from '../trace/mask.js';
import { exactTensor, randomTensor } from '../trace/synthesize.js';

/** A packed zero mask from the synthetic generator (same draws as a synthetic trace's values). */
export function randomMask(
  prng: Prng,
  length: number,
  density: number,
  channels?: { readonly densities: Float64Array; readonly stride: number },
): Uint8Array {
  return packMask(randomTensor(prng, length, density, channels));
}

/** A packed mask with exactly round(density · length) non-zeros (Sparseloop's uniform model). */
export function exactMask(prng: Prng, length: number, density: number): Uint8Array {
  return packMask(exactTensor(prng, length, density));
}

/** A dense (fully connected) layer [M×K]·[K×N]: the GEMM cases' workload. */
export function gemmSpec(name: string, m: number, k: number, n: number): SparseLayerSpec {
  return { name, op: 'dense', inputShape: [m, k], operandShape: [k, n], gemm: { m, n, k }, gemmCount: 1 };
}

export interface LayerRun {
  readonly report: LayerReport;
  readonly outcomes: readonly StepOutcome[];
}

/**
 * Replays one layer through the core's layer replay (the engine `deltasim replay` runs), its static
 * weight the B operand, one step per input, with the dense baseline beside it.
 */
export function replayLayer(
  spec: SparseLayerSpec,
  hw: HardwareModel,
  steps: Iterable<ReplayStepInput>,
  options: { readonly delta?: boolean; readonly inputFormat?: StorageFormat } = {},
): LayerRun {
  const replay = createLayerReplay(spec, hw, {
    bOperand: 'weight',
    delta: options.delta ?? false,
    ...(options.inputFormat ? { inputFormat: options.inputFormat } : {}),
  });
  const outcomes: StepOutcome[] = [];
  for (const input of steps) outcomes.push(replay.step(input));
  return { report: replay.report(), outcomes };
}
