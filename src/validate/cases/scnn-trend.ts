import { createPrng } from '../../common/prng.js';
import type { SparseLayerSpec } from '../../core/sparse/layer-lowering.js';
import { syntheticLayers } from '../../trace/synthesize.js';
import type { ValidationCase } from '../case-context.js';
import { SCNN_TREND } from '../published.js';
import { infoRow, ruleRow, type ValidationRow } from '../row.js';
import { exactMask, replayLayer } from '../workload.js';

/** Densities of the sweep (weights and activations alike), densest first. */
const DENSITIES = [1, 0.9, 0.85, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1] as const;
/**
 * ResNet-18 3×3 convolutions whose output plane gives each of SCNN's 8×8 PEs a planar tile of
 * several positions (28×28, 14×14): the sweep's workload (quick: the 14×14 one only).
 */
const LAYERS = ['layer2.1.conv1', 'layer3.1.conv1'];
/**
 * A 7×7 plane leaves 49 of the 64 PEs one output position each (a quarter of each 4×4 array busy):
 * SCNN's planar tiling at its worst. Reported beside the sweep (info rows), not part of it.
 */
const SMALL_PLANE = 'layer4.1.conv1';
const SMALL_PLANE_DENSITIES = [1, 0.5, 0.1] as const;

/**
 * The highest density at which the speedup reaches 1, interpolated linearly between sweep points
 * (1 when the densest point already reaches it, 0 when none does).
 */
export function breakEvenDensity(curve: readonly { density: number; speedup: number }[]): number {
  if (curve[0]!.speedup >= 1) return curve[0]!.density;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    if (b.speedup >= 1)
      return a.density + ((1 - a.speedup) / (b.speedup - a.speedup)) * (b.density - a.density);
  }
  return 0;
}

/**
 * SCNN-like trend: speedup of a 1024-MAC two-sided skipping array over the same array dense (same
 * memory), with weights and activations at the same density, swept. A trend anchor, not a
 * reproduction: SCNN's published curve comes from pruned networks on its own simulator.
 */
export const scnnTrendCase: ValidationCase = {
  name: 'scnn-trend',
  title: 'SCNN-like density sweep (dW = dA): speedup over the same array dense',
  async run({ quick, seed, hardware }) {
    const hw = await hardware('scnn-like');
    const prng = createPrng(seed);
    const all = syntheticLayers('resnet18', false);
    const byName = (name: string): SparseLayerSpec => all.find((l) => l.name === name)!;
    const layers = (quick ? LAYERS.slice(-1) : LAYERS).map(byName);
    /** Dense baseline cycles / sparse cycles over `specs`, with A and B at `density`. */
    const speedup = (specs: readonly SparseLayerSpec[], density: number): number => {
      let cycles = 0;
      let baseline = 0;
      for (const layer of specs) {
        const inputs = layer.inputShape.reduce((a, b) => a * b, 1);
        const weights = layer.operandShape!.reduce((a, b) => a * b, 1);
        const run = replayLayer(layer, hw, [
          {
            keyFrame: true,
            aMask: exactMask(prng, inputs, density),
            bMask: exactMask(prng, weights, density),
          },
        ]);
        cycles += run.report.cycles;
        baseline += run.report.baselineCycles;
      }
      return baseline / cycles;
    };
    const curve = DENSITIES.map((density) => ({ density, speedup: speedup(layers, density) }));
    const smallPlane = quick
      ? []
      : SMALL_PLANE_DENSITIES.map((d) =>
          infoRow(
            this.name,
            `7×7 plane (${SMALL_PLANE}) speedup at density ${d}`,
            null,
            speedup([byName(SMALL_PLANE)], d),
          ),
        );
    const at = (d: number): number => curve.find((p) => p.density === d)!.speedup;
    const breakEven = breakEvenDensity(curve);
    const rows: ValidationRow[] = [
      ruleRow(this.name, 'speedup at density 1.0', SCNN_TREND.speedupAtDense, at(1), '< 1', at(1) < 1, true),
      ruleRow(
        this.name,
        'break-even density',
        SCNN_TREND.breakEvenDensity,
        breakEven,
        'within 0.75–0.95',
        breakEven >= 0.75 && breakEven <= 0.95,
        true,
      ),
      ruleRow(
        this.name,
        'speedup at density 0.1',
        SCNN_TREND.speedupAtTenth,
        at(0.1),
        '≥ 10',
        at(0.1) >= 10,
        true,
      ),
      ...curve
        .filter((p) => p.density !== 1 && p.density !== 0.1)
        .map((p) => infoRow(this.name, `speedup at density ${p.density}`, null, p.speedup)),
      ...smallPlane,
    ];
    return { name: this.name, rows };
  },
};
