import type { HardwareModel } from '../hardware.js';
import type { LoweredLayer } from '../lowering.js';
import { createLayerReplay } from '../replay-engine.js';
import type { LayerReport } from '../report.js';
import type { SparseLayerSpec } from './layer-lowering.js';

/**
 * A topology layer (SCALE-Sim lowering, no padding) as a replay layer: lets `simulate` charge dense
 * workloads through the same memory, stall and energy model as `replay`. GEMM rows are convs of
 * one channel swept by a 1 × K filter (SCALE-Sim's convention), so they lower to [M×K]·[K×N] too.
 */
export function topologyLayerSpec(lowered: LoweredLayer): SparseLayerSpec {
  const l = lowered.layer;
  // SCALE-Sim's E = ceil((H − Fh + s) / s) counts a last window hanging over the edge when s does
  // not divide H − Fh: that overhang becomes bottom/right padding (structural zeros).
  const padBottom = Math.max(0, (lowered.ofmapHeight - 1) * l.strideHeight + l.filterHeight - l.ifmapHeight);
  const padRight = Math.max(0, (lowered.ofmapWidth - 1) * l.strideWidth + l.filterWidth - l.ifmapWidth);
  return {
    name: lowered.name,
    op: 'conv2d',
    inputShape: [l.ifmapHeight, l.ifmapWidth, l.channels],
    operandShape: [l.filterHeight, l.filterWidth, l.channels, l.numFilters],
    kernel: [l.filterHeight, l.filterWidth],
    stride: [l.strideHeight, l.strideWidth],
    padding: [0, padBottom, 0, padRight],
    dilation: [1, 1],
    gemm: lowered.gemm,
    gemmCount: 1,
  };
}

/**
 * One dense layer through the replay model: compute cycles equal the dense engine's (SCALE-Sim
 * parity); memory traffic, stalls and energy components are added. The operands have no masks
 * (dense), so counts, lane timing and tensor stats take the closed form: O(1) per layer, no M·K or
 * K·N pass.
 */
export function modelDenseLayer(lowered: LoweredLayer, hw: HardwareModel): LayerReport {
  const spec = topologyLayerSpec(lowered);
  const replay = createLayerReplay(spec, hw, { bOperand: 'weight', delta: false });
  replay.step({ keyFrame: true });
  return { ...replay.report(), op: lowered.op };
}
