import { createPrng } from '../../common/prng.js';
import type { ValidationCase } from '../case-context.js';
import { DSTC_GEMM_SIZE, DSTC_POINTS, DSTC_SPARSELOOP } from '../published.js';
import { ruleRow, toleranceRow, type ValidationRow } from '../row.js';
import { exactMask, gemmSpec, replayLayer } from '../workload.js';

/** ±10 % where A is at least half dense, ±25 % at dA = 0.3. */
const tolerancePct = (dA: number): number => (dA >= 0.5 ? 10 : 25);

/**
 * DSTC: normalised latency of a GEMM with K = 4096 at each published (dA, dB): compute cycles over
 * the same hardware's at dA = dB = 1, as the paper normalises (its dense point is DSTC on dense
 * operands, paying what its datapath pays at full density). Every output tile is a fold streaming
 * K, so the ratio depends on K and the per-fold statistics, not on how many tiles there are:
 * M = N = 512 (quick: 64) stand in for 4096, i.e. 256 (4) of the 16,384 tiles of 32 × 32.
 */
export const dstcCase: ValidationCase = {
  name: 'dstc',
  title: 'Dual-side sparse tensor core, GEMM with K = 4096: latency normalised to dense',
  async run({ quick, seed, hardware }) {
    const hw = await hardware('dstc');
    const prng = createPrng(seed);
    const side = quick ? 64 : 512;
    const k = DSTC_GEMM_SIZE;
    const spec = gemmSpec('gemm', side, k, side);
    const cyclesAt = (dA: number, dB: number): number =>
      replayLayer(spec, hw, [
        { keyFrame: true, aMask: exactMask(prng, side * k, dA), bMask: exactMask(prng, k * side, dB) },
      ]).report.computeCycles;
    const sparseCycles = DSTC_POINTS.map((point) => cyclesAt(point.dA, point.dB));
    const denseCycles = cyclesAt(1, 1);
    const rows: ValidationRow[] = [];
    const latency = new Map<string, number>();
    for (const [i, point] of DSTC_POINTS.entries()) {
      const measured = sparseCycles[i]! / denseCycles;
      latency.set(`${point.dA}/${point.dB}`, measured);
      rows.push(
        toleranceRow(
          this.name,
          `latency dA ${point.dA} dB ${point.dB}`,
          point.latency,
          measured,
          tolerancePct(point.dA),
        ),
      );
    }
    // Monotone in dA at each dB, and dB = 0.4 faster than dB = 1 at every dA both were run at.
    let monotone = true;
    let lowerAtSparseB = true;
    for (const dB of [1, 0.4]) {
      const curve = DSTC_POINTS.filter((p) => p.dB === dB).sort((a, b) => a.dA - b.dA);
      for (let i = 1; i < curve.length; i++)
        if (latency.get(`${curve[i]!.dA}/${dB}`)! < latency.get(`${curve[i - 1]!.dA}/${dB}`)!)
          monotone = false;
    }
    for (const p of DSTC_POINTS.filter((q) => q.dB === 1)) {
      const sparse = latency.get(`${p.dA}/0.4`);
      if (sparse !== undefined && !(sparse < latency.get(`${p.dA}/1`)!)) lowerAtSparseB = false;
    }
    rows.push(ruleRow(this.name, 'latency monotone in dA', 1, monotone ? 1 : 0, 'holds', monotone));
    rows.push(
      ruleRow(this.name, 'dB 0.4 below dB 1 at every dA', 1, lowerAtSparseB ? 1 : 0, 'holds', lowerAtSparseB),
    );
    return { name: this.name, rows, sparseloopMeanErrorPct: DSTC_SPARSELOOP.meanErrorPct };
  },
};
