import { describe, expect, it } from 'vitest';
import { hardwareFromDocument } from '../../src/config/hardware-file.js';
import { createComputeStage } from '../../src/core/compute-stage.js';
import { denseBaselineOf } from '../../src/core/hardware.js';
import { lowerSparseLayer } from '../../src/core/sparse/layer-lowering.js';

const load = (doc: unknown) => hardwareFromDocument(doc, 'hw.yaml', '.', 'hw');
const condensed = { unit: { rows: 4, cols: 4 }, tile: { rows: 'unbounded', cols: 8 } };

describe('hardware file: condensed outer-product datapath', () => {
  it('reads unit and tile sizes ("unbounded" = Infinity); the dense baseline has no condensing', async () => {
    const hw = await load({ array: { rows: 8, cols: 8 }, dataflow: 'os', condensed });
    expect(hw.condensed).toEqual({
      unit: { rows: 4, cols: 4 },
      tileRows: Number.POSITIVE_INFINITY,
      tileCols: 8,
    });
    expect(denseBaselineOf(hw).condensed).toBeUndefined();
    // A file without the block (every preset) has none.
    expect((await load({ preset: 'sparten-like' })).condensed).toBeUndefined();
  });

  it('reads the accumulation rate (absent: unbounded, no field); alone it names the missing sizes', async () => {
    const hw = await load({
      array: { rows: 8, cols: 8 },
      dataflow: 'os',
      condensed: { ...condensed, accumulate: 12 },
    });
    expect(hw.condensed?.accumulatePerCycle).toBe(12);
    const free = await load({
      array: { rows: 8, cols: 8 },
      dataflow: 'os',
      condensed: { ...condensed, accumulate: 'unbounded' },
    });
    expect(free.condensed?.accumulatePerCycle).toBe(Number.POSITIVE_INFINITY);
    expect(
      (await load({ array: { rows: 8, cols: 8 }, dataflow: 'os', condensed })).condensed,
    ).not.toHaveProperty('accumulatePerCycle');
    await expect(load({ dataflow: 'os', condensed: { accumulate: 12 } })).rejects.toThrow(
      /hw\.yaml.*condensed\.unit\.rows.*missing/,
    );
    await expect(
      load({ array: { rows: 8, cols: 8 }, dataflow: 'os', condensed: { ...condensed, accumulate: 0 } }),
    ).rejects.toThrow(/hw\.yaml.*condensed\.accumulate/);
  });

  it('names the file and field when the block is incomplete or does not fit the array', async () => {
    await expect(
      load({ dataflow: 'os', condensed: { unit: { rows: 4, cols: 4 }, tile: { rows: 8 } } }),
    ).rejects.toThrow(/hw\.yaml.*condensed\.tile\.cols/);
    await expect(load({ array: { rows: 6, cols: 6 }, dataflow: 'os', condensed })).rejects.toThrow(
      /condensed\.unit.*whole number/,
    );
    await expect(load({ array: { rows: 8, cols: 8 }, dataflow: 'ws', condensed })).rejects.toThrow(
      /condensed: needs dataflow os/,
    );
    await expect(
      load({ array: { rows: 8, cols: 8 }, dataflow: 'os', overlap: 'pipelined', condensed }),
    ).rejects.toThrow(/overlap must be none/);
  });

  it('the compute stage times a skipping layer on it: one dense 8×8 × 8 GEMM in whole 4×4 passes', async () => {
    // M = N = K = 8 dense on 4 units of 4×4, rows dealt 2 per unit (8 / 4), one column group of 8:
    // each unit runs 8 steps of ⌈2/4⌉·⌈8/4⌉ = 2 passes = 16, plus its fill 4 + 4 − 2.
    const hw = await load({
      array: { rows: 8, cols: 8 },
      dataflow: 'os',
      support: { activations: 'skip', weights: 'skip', deltas: 'skip' },
      condensed,
    });
    const low = lowerSparseLayer(
      {
        name: 'g',
        op: 'dense',
        inputShape: [8, 8],
        operandShape: [8, 8],
        gemm: { m: 8, n: 8, k: 8 },
        gemmCount: 1,
      },
      'weight',
    );
    const r = createComputeStage(low, hw, { delta: false }).run({}, []);
    expect(r.computeCycles).toBe(16 + 6);
    expect(r.executedMacs).toBe(512);
  });
});
