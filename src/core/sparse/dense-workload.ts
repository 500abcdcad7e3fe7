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

function allOnes(elements: number): Uint8Array {
  const mask = new Uint8Array(Math.ceil(elements / 8)).fill(0xff);
  const rest = elements & 7;
  if (rest > 0) mask[mask.length - 1] = (1 << rest) - 1;
  return mask;
}

/**
 * One dense layer through the replay model with implicit all-ones masks: compute cycles equal the
 * dense engine's (SCALE-Sim parity); memory traffic, stalls and energy components are added.
 * Cost O(M·K + K·N) bits, no mask data needed from the caller.
 */
export function modelDenseLayer(lowered: LoweredLayer, hw: HardwareModel): LayerReport {
  const spec = topologyLayerSpec(lowered);
  const replay = createLayerReplay(spec, hw, { bOperand: 'weight', delta: false });
  const low = replay.lowered;
  replay.step({ aMask: allOnes(low.inputElements), bMask: allOnes(low.bElements), keyFrame: true });
  return { ...replay.report(), op: lowered.op };
}
