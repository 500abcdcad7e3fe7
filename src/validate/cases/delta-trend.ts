import { createPrng } from '../../common/prng.js';
import type { ReplayStepInput } from '../../core/replay-engine.js';
import { packMask } from '../../trace/mask.js';
import { convLayer, exactTensor, temporalStep } from '../../trace/synthesize.js';
import type { ValidationCase } from '../case-context.js';
import { DELTA_TREND } from '../published.js';
import { ruleRow, toleranceRow, type ValidationRow } from '../row.js';
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
 * Temporal-delta trend: compute-bound speedup of delta mode over the same-memory dense baseline
 * against 1 / (1 − s) on the event-driven `neuronflow-like` design (a DAL-CNN-sized convolution),
 * and the DRAM weight traffic of a layer whose weights do not fit on chip against 1 − s (weights
 * streamed per non-zero Δ, as EdgeDRNN does).
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
    // A GRU-sized matrix-vector layer, 1024 × 1024 fp16 weights (2 MiB), larger than the 1 MiB on chip.
    const s = DELTA_TREND.sparsities[DELTA_TREND.sparsities.length - 1]!;
    const fc = gemmSpec('gru', 1, 1024, 1024);
    const run = replayLayer(fc, hw, deltaSteps(seed, 1024, s, steps), { delta: true });
    const weightBytes = 1024 * 1024 * 2;
    const later = run.outcomes.slice(1);
    const dramPerStep =
      later.reduce((a, o) => a + o.levels.find((l) => l.name === 'dram')!.readBits / 8, 0) / later.length;
    const ratio = dramPerStep / weightBytes;
    const published = Math.round((1 - s) * 1e9) / 1e9;
    rows.push(
      ruleRow(
        this.name,
        `DRAM weight bytes per step / dense at s ${s}`,
        published,
        ratio,
        `±${DELTA_TREND.tolerancePct} %`,
        Math.abs(ratio - published) <= (DELTA_TREND.tolerancePct / 100) * published,
        true,
      ),
    );
    return { name: this.name, rows };
  },
};
