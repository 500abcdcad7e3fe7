import { createPrng } from '../../common/prng.js';
import type { ReplayStepInput } from '../../core/replay-engine.js';
import { convLayer } from '../../trace/synthesize.js';
import type { ValidationCase } from '../case-context.js';
import { EYERISS_V1_BATCH, EYERISS_V1_LAYERS, EYERISS_V1_RATIO_TOLERANCE } from '../published.js';
import { ruleRow, toleranceRow, type ValidationRow } from '../row.js';
import { exactMask, replayLayer } from '../workload.js';

/**
 * Gated MACs must match MACs · (1 − dI) within sampling noise: the masks hold the published count of
 * zeros exactly, but which inputs they hit decides how many MACs each gates (edge inputs of a
 * window meet fewer filters). Three standard errors of a count of Z zeros, at least 1 %.
 */
function gatedTolerancePct(zeros: number): number {
  return Math.max(1, 300 / Math.sqrt(Math.max(1, zeros)));
}

/**
 * Eyeriss v1 on AlexNet conv1–5: the DRAM traffic of the dense design over that of the same
 * design with RLC feature maps (inputs at their density, outputs at theirs), and zero-input gating
 * (cycles unchanged, gated MACs = MACs · (1 − dI)). Layers as Timeloop states them: a valid
 * convolution over an input of (P − 1)·stride + R rows, padding included in the input's density.
 */
export const eyerissV1DramCase: ValidationCase = {
  name: 'eyeriss-v1-dram',
  title: 'Eyeriss v1, AlexNet conv1–5: DRAM traffic dense / RLC, gating',
  async run({ quick, seed, hardware }) {
    const hw = await hardware('eyeriss-v1');
    const prng = createPrng(seed);
    const rows: ValidationRow[] = [];
    const batch = quick ? 1 : EYERISS_V1_BATCH;
    for (const layer of EYERISS_V1_LAYERS) {
      const h = (layer.p - 1) * layer.stride + layer.r;
      const spec = convLayer(
        { name: layer.name, h, w: h, c: layer.c, n: layer.m, f: layer.r, s: layer.stride, p: 0 },
        ['input', 'weight'],
      );
      const inputs = h * h * layer.c;
      const outputs = layer.p * layer.p * layer.m;
      const steps: ReplayStepInput[] = [];
      for (let image = 0; image < batch; image++) {
        steps.push({
          keyFrame: true,
          newSequence: image === 0,
          aMask: exactMask(prng, inputs, layer.dI),
          outputMask: exactMask(prng, outputs, layer.dO),
        });
      }
      // The first layer reads the raw image, which the chip does not compress.
      const run = replayLayer(spec, hw, steps, layer.name === 'conv1' ? { inputFormat: 'dense' } : {});
      const r = run.report;
      const ratio = r.baselineDramBytes / r.dramBytes;
      const row = toleranceRow(
        this.name,
        `${layer.name} DRAM dense/RLC`,
        layer.dramRatio,
        ratio,
        (EYERISS_V1_RATIO_TOLERANCE / layer.dramRatio) * 100,
      );
      rows.push({
        ...row,
        pass: Math.abs(ratio - layer.dramRatio) <= EYERISS_V1_RATIO_TOLERANCE,
        rule: `±${EYERISS_V1_RATIO_TOLERANCE}`,
      });
      rows.push(
        ruleRow(
          this.name,
          `${layer.name} cycles gated / dense`,
          1,
          r.computeCycles / r.baselineComputeCycles,
          '= 1',
          r.computeCycles === r.baselineComputeCycles,
        ),
      );
      rows.push(
        toleranceRow(
          this.name,
          `${layer.name} gated MACs / (MACs·(1−dI))`,
          1,
          r.gatedMacs / (r.macs * (1 - layer.dI)),
          gatedTolerancePct(Math.round((1 - layer.dI) * inputs) * batch),
          false,
        ),
      );
    }
    return { name: this.name, rows };
  },
};
