import type { Prng } from '../../common/prng.js';
import { createPrng } from '../../common/prng.js';
import { packMask } from '../../trace/mask.js';
import type { ValidationCase } from '../case-context.js';
import { STC_2OF4 } from '../published.js';
import { ruleRow, toleranceRow } from '../row.js';
import { gemmSpec, replayLayer } from '../workload.js';

/** A [K, N] weight mask with exactly N of every M consecutive k non-zero in each column, at random slots. */
function structuredWeightMask(prng: Prng, k: number, n: number, keep: number, group: number): Uint8Array {
  const bits = new Uint8Array(k * n);
  const slots = Array.from({ length: group }, (_, i) => i);
  for (let col = 0; col < n; col++) {
    for (let k0 = 0; k0 < k; k0 += group) {
      for (let i = 0; i < keep; i++) {
        const j = i + prng.int(group - i);
        [slots[i], slots[j]] = [slots[j]!, slots[i]!];
        bits[(k0 + slots[i]!) * n + col] = 1;
      }
    }
  }
  return packMask(bits);
}

/**
 * 2:4 structured weights on a sparse tensor core: a compute-bound GEMM (K a multiple of twice the
 * array's rows) takes exactly half the dense compute cycles, and the weight's metadata is the 2-bit
 * position of each kept value, read once from DRAM.
 */
export const stc2of4Case: ValidationCase = {
  name: 'stc-2of4',
  title: 'Sparse tensor core, 2:4 weights: compute cycles and metadata bytes',
  async run({ quick, seed, hardware }) {
    const hw = await hardware('stc-2of4');
    const prng = createPrng(seed);
    const size = quick ? 256 : 4096;
    const spec = gemmSpec('gemm', size, size, size);
    const bMask = structuredWeightMask(prng, size, size, STC_2OF4.n, STC_2OF4.m);
    const run = replayLayer(spec, hw, [{ keyFrame: true, bMask }]);
    const r = run.report;
    const dram = run.outcomes[0]!.levels.find((l) => l.name === 'dram')!;
    // Kept values per column: K · N/M, each with a log2(M)-bit position.
    // A and the outputs are dense fp16 in both runs (2 bytes per element each): the rest is the weight.
    const otherBytes = size * size * 4;
    const publishedMetadataBytes = (size * size * (STC_2OF4.n / STC_2OF4.m) * STC_2OF4.indexBits) / 8;
    return {
      name: this.name,
      rows: [
        toleranceRow(
          this.name,
          'compute cycles 2:4 / dense',
          STC_2OF4.computeRatio,
          r.computeCycles / r.baselineComputeCycles,
          0,
        ),
        toleranceRow(
          this.name,
          'executed MACs / dense MACs',
          STC_2OF4.computeRatio,
          r.executedMacs / r.macs,
          0,
        ),
        toleranceRow(
          this.name,
          `weight metadata bytes (${size}×${size})`,
          publishedMetadataBytes,
          dram.metadataBits / 8,
          0,
        ),
        ruleRow(
          this.name,
          'weight DRAM bytes 2:4 / dense (fp16)',
          // 2 values of 16 bits and 2 positions of 2 bits per 4 weights of 16 bits.
          (STC_2OF4.n * 16 + STC_2OF4.n * STC_2OF4.indexBits) / (STC_2OF4.m * 16),
          (r.dramBytes - otherBytes) / (r.baselineDramBytes - otherBytes),
          '= format arithmetic',
          (r.dramBytes - otherBytes) * STC_2OF4.m * 16 ===
            (r.baselineDramBytes - otherBytes) * (STC_2OF4.n * 16 + STC_2OF4.n * STC_2OF4.indexBits),
        ),
      ],
    };
  },
};
