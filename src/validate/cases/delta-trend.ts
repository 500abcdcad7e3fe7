import { createPrng } from '../../common/prng.js';
import type { HardwareModel } from '../../core/hardware.js';
import type { ReplayStepInput } from '../../core/replay-engine.js';
import { wordBits } from '../../core/sparse/energy.js';
import { packMask } from '../../trace/mask.js';
import { convLayer, exactTensor, temporalStep } from '../../trace/synthesize.js';
import type { ValidationCase } from '../case-context.js';
import { DELTA_TREND } from '../published.js';
import { type CaseName, infoRow, toleranceRow, type ValidationRow } from '../row.js';
import { gemmSpec, replayLayer } from '../workload.js';

/**
 * Delta mode on a synthetic input whose temporal sparsity is s: step 0 is a key frame, every later
 * step changes the fraction 1 − s of the input (non-zero Δ). Returns the replay's step inputs with
 * Δ masks (key frame: q itself).
 */
function deltaSteps(seed: number, inputs: number, sparsity: number, steps: number): ReplayStepInput[] {
  const prng = createPrng(seed);
  let q = exactTensor(prng, inputs, 0.5);
  const out: ReplayStepInput[] = [{ keyFrame: true, newSequence: true, aMask: packMask(q) }];
  for (let t = 1; t < steps; t++) {
    const next = temporalStep(prng, q, sparsity);
    out.push({ keyFrame: false, aMask: packMask(Float32Array.from(next, (v, i) => v - q[i]!)) });
    q = next;
  }
  return out;
}

/**
 * DRAM weight bytes per non-key step over the whole weight's, on the memory-bound `edgedrnn-like`
 * design (weights streamed from DRAM, only the columns of non-zero Δ fetched), against 1 − s; and,
 * as information, the same with 4 tokens per step, where a weight column is fetched when any of the
 * 4 Δ that meet it is non-zero (1 − s⁴ for independent tokens: the ceiling of the saving).
 * The layer is a GRU's matrix-vector product, [x; h] (2 × 1024) → 3 gates × 1024, int8: 6 MiB of
 * weights, no weight memory on chip. Δ and y stay on chip, so every DRAM byte read is a weight byte.
 */
function weightTrafficRows(name: CaseName, hw: HardwareModel, seed: number, steps: number): ValidationRow[] {
  const inputs = 2 * 1024;
  const outputs = 3 * 1024;
  const weightBits = inputs * outputs * wordBits(hw.precision);
  const rows: ValidationRow[] = [];
  const share = (tokens: number, s: number, stepSeed: number): number => {
    const run = replayLayer(
      gemmSpec('gru', tokens, inputs, outputs),
      hw,
      deltaSteps(stepSeed, tokens * inputs, s, steps),
      { delta: true },
    );
    const later = run.outcomes.slice(1);
    return (
      later.reduce((a, o) => a + o.levels.find((l) => l.name === 'dram')!.readBits, 0) /
      later.length /
      weightBits
    );
  };
  for (const [i, s] of DELTA_TREND.sparsities.entries()) {
    rows.push(
      toleranceRow(
        name,
        `DRAM weight bytes / dense at s ${s}`,
        Math.round((1 - s) * 1e9) / 1e9,
        share(1, s, seed + 10 + i),
        DELTA_TREND.tolerancePct,
      ),
    );
  }
  const s = DELTA_TREND.sparsities[DELTA_TREND.sparsities.length - 1]!;
  rows.push(
    infoRow(name, `DRAM weight bytes / dense at s ${s}, 4 tokens per step`, null, share(4, s, seed + 20)),
  );
  return rows;
}

/**
 * Temporal-delta trend: compute-bound speedup of delta mode over the same-memory dense baseline
 * against 1 / (1 − s) on the event-driven `neuronflow-like` design (a DAL-CNN-sized convolution),
 * and the DRAM weight traffic of the memory-bound `edgedrnn-like` design against 1 − s.
 */
export const deltaTrendCase: ValidationCase = {
  name: 'delta-trend',
  title: 'Temporal sparsity s: compute speedup vs 1/(1−s), DRAM weight traffic vs 1−s',
  async run({ quick, seed, hardware }) {
    const hw = await hardware('neuronflow-like');
    const steps = quick ? 2 : 4;
    const conv = convLayer({ name: 'conv', h: 32, w: 32, c: 32, n: 32, f: 3, s: 1, p: 1 }, [
      'input',
      'delta',
      'weight',
    ]);
    const rows: ValidationRow[] = [];
    for (const [i, s] of DELTA_TREND.sparsities.entries()) {
      const run = replayLayer(conv, hw, deltaSteps(seed + i, 32 * 32 * 32, s, steps), { delta: true });
      // Non-key steps only: a key frame is processed densely by construction.
      const later = run.outcomes.slice(1);
      const speedup =
        later.reduce((a, o) => a + o.denseCycles, 0) / later.reduce((a, o) => a + o.computeCycles, 0);
      rows.push(
        toleranceRow(
          this.name,
          `compute speedup at s ${s}`,
          Math.round(1e9 / (1 - s)) / 1e9,
          speedup,
          DELTA_TREND.tolerancePct,
        ),
      );
    }
    rows.push(...weightTrafficRows(this.name, await hardware('edgedrnn-like'), seed, steps));
    return { name: this.name, rows };
  },
};
