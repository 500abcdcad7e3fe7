import { describe, expect, it } from 'vitest';
import { createComputeStage } from '../../src/core/compute-stage.js';
import { mapGemm } from '../../src/core/dataflow-mapping.js';
import { collectRun, simulateDense } from '../../src/core/dense-engine.js';
import { energyStage } from '../../src/core/energy-stage.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import type { RunEvent } from '../../src/core/events.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { levelStage } from '../../src/core/level-stage.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';
import { replayRun } from '../../src/core/replay-engine.js';
import { modelDenseLayer, topologyLayerSpec } from '../../src/core/sparse/dense-workload.js';
import { lowerSparseLayer } from '../../src/core/sparse/layer-lowering.js';
import { createTrafficStage, type StepTraffic } from '../../src/core/traffic-stage.js';
import { denseLayerSpec, packBits } from '../../src/testing/index.js';

// 2 tokens × 4 int8 inputs, 4 × 3 weights → 6 outputs: one fold on a 4×4 OS array (T = K = 4).
const LAYER = lowerSparseLayer(denseLayerSpec(2, 4, 3), 'weight');
const HW: HardwareModel = { ...SCALESIM_DEFAULT, array: { rows: 4, cols: 4 } };
const SKIP_HW: HardwareModel = { ...HW, support: { activations: 'skip', weights: 'none', deltas: 'skip' } };
const ONE_EVENT = packBits([0, 1, 0, 0, 0, 0, 0, 0]);
const WEIGHTS = packBits(new Array<number>(12).fill(1));
const NO_ACCESS = { readBits: 0, writeBits: 0, metadataBits: 0 };
/** Traffic that reads `dramReadBits` from DRAM and nothing else, plus what `extra` adds. */
function dramOnly(dramReadBits: number, extra: Partial<StepTraffic> = {}): StepTraffic {
  return {
    dram: { readBits: dramReadBits, writeBits: 0, metadataBits: 0 },
    ifmap: NO_ACCESS,
    filter: NO_ACCESS,
    ofmap: NO_ACCESS,
    residentSavedBits: 0,
    ...extra,
  };
}

describe('compute stage', () => {
  it('dense: one fold of 4 + 4 + 4 − 2 = 10 cycles, all 24 MACs executed', () => {
    const r = createComputeStage(LAYER, HW, { delta: false }).run({}, []);
    expect(r).toMatchObject({ macs: 24, executedMacs: 24, folds: 1, computeCycles: 10, events: 8 });
  });

  it('one non-zero input under A skipping: 3 MACs, the busiest lane streams 1 step → 1 + 6 cycles', () => {
    const r = createComputeStage(LAYER, SKIP_HW, { delta: false }).run(
      { aMask: ONE_EVENT, bMask: WEIGHTS },
      [],
    );
    expect(r).toMatchObject({ executedMacs: 3, zeroA: 21, computeCycles: 7, aNonzeros: 1, events: 1 });
  });

  it('the closed form and the bit-level path agree on all-ones masks', () => {
    const ones = packBits(new Array<number>(8).fill(1));
    const fast = createComputeStage(LAYER, SKIP_HW, { delta: false }).run({}, []);
    const slow = createComputeStage(LAYER, SKIP_HW, { delta: false, bitLevel: true }).run(
      { aMask: ones, bMask: WEIGHTS },
      [],
    );
    expect(slow).toEqual(fast);
  });
});

describe('traffic stage', () => {
  const mapping = mapGemm(LAYER.gemm, HW.array, HW.dataflow);
  const input = { keyFrame: true, executedMacs: 24, aNonzeros: 8, events: 8 };

  it('reads A (8 × 8 bits) and B (12 × 8 bits) from DRAM and writes the 6 outputs', () => {
    const t = createTrafficStage(LAYER, HW, mapping, { delta: false }).run({ ...input, reloadWeight: true });
    expect(t.dram).toEqual({ readBits: 64 + 96, writeBits: 48, metadataBits: 0 });
    expect(t.residentSavedBits).toBe(0);
  });

  it('a weight resident from an earlier step is not read again: 96 bits saved', () => {
    const t = createTrafficStage(LAYER, HW, mapping, { delta: false }).run({ ...input, reloadWeight: false });
    expect(t.dram.readBits).toBe(64);
    expect(t.residentSavedBits).toBe(96);
  });

  it('bitmask weights: payload of the non-zeros plus one bit per element', () => {
    const hw = { ...HW, formats: { activations: 'dense', weights: 'bitmask' } } as const;
    const half = packBits([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    const t = createTrafficStage(LAYER, hw, mapping, { delta: false }).run({
      ...input,
      bMask: half,
      reloadWeight: true,
    });
    expect(t.dram).toEqual({ readBits: 64 + 6 * 8 + 12, writeBits: 48, metadataBits: 12 });
  });
});

describe('levels stage', () => {
  const traffic = dramOnly(8000);

  it('1000 B at 16 B/cycle need 63 cycles: with 50 compute cycles DRAM bounds the step', () => {
    const hw = { ...HW, dram: { bandwidthBytesPerCycle: 16 } };
    const r = levelStage(hw, { computeCycles: 50, executedMacs: 10, gatedMacs: 2, traffic });
    expect(r).toMatchObject({ cycles: 63, bound: 'dram' });
    // Registers: 2 operand reads (8 bits) and one 32-bit psum write per ungated MAC.
    expect(r.levels.find((l) => l.name === 'registers')).toMatchObject({
      readBits: 2 * 8 * 8,
      writeBits: 8 * 32,
    });
    expect(r.levels.some((l) => l.name === 'state')).toBe(false);
  });

  it('state that does not fit the state memory is charged to DRAM; the state level shows none', () => {
    const spilled = {
      ...traffic,
      stateAccess: { access: { readBits: 800, writeBits: 0, metadataBits: 0 }, onChip: false },
    };
    const r = levelStage(HW, { computeCycles: 1, executedMacs: 0, gatedMacs: 0, traffic: spilled });
    expect(r.levels[0]).toMatchObject({ name: 'dram', readBits: 8800 });
    expect(r.levels.find((l) => l.name === 'state')).toMatchObject({ readBits: 0, writeBits: 0 });
  });
});

describe('energy stage', () => {
  it('MACs, gated MACs, registers, DRAM per bit and on-chip state at the state memory size', () => {
    const hw = { ...HW, stateMemory: { bytes: 8 * 1024, bandwidthBytesPerCycle: 8 } };
    const traffic = dramOnly(640, {
      stateAccess: { access: { readBits: 128, writeBits: 0, metadataBits: 0 }, onChip: true },
    });
    const e = energyStage(hw, { executedMacs: 10, gatedMacs: 2, traffic, cycles: 5 });
    expect(e.mac).toBeCloseTo(8 * 0.3, 12);
    expect(e.gatedMac).toBeCloseTo(2 * 0.3 * 0.02, 12);
    expect(e.register).toBeCloseTo(8 * 3 * 0.14, 12);
    expect(e.dram).toBeCloseTo(640 * HOROWITZ_45NM.dramPjPerBit, 9);
    // 128 bits of the 8 KiB state memory: 2 × 10 pJ per 64 bits.
    expect(e.sram).toBeCloseTo(20, 12);
    expect(e.leakage).toBe(0);
  });
});

describe('one event emitter for simulate and replay', () => {
  it('a dense layer gives the same layer events and report through both engines', () => {
    const [lowered] = lowerTopology(
      [
        {
          name: 'conv',
          ifmapHeight: 6,
          ifmapWidth: 6,
          filterHeight: 3,
          filterWidth: 3,
          channels: 2,
          numFilters: 5,
          strideHeight: 1,
          strideWidth: 1,
        },
      ],
      'conv',
    );
    const simulated = collectRun(
      simulateDense([lowered!], {
        array: HW.array,
        dataflow: HW.dataflow,
        precision: HW.precision,
        energyTable: HW.energy,
        hardwareName: HW.name,
        toolVersion: '0',
        sources: ['t'],
        layerModel: (l) => modelDenseLayer(l, HW),
      }),
    );
    const replayed = collectRun(
      replayRun(
        [
          {
            spec: topologyLayerSpec(lowered!),
            options: { bOperand: 'weight', delta: false },
            steps: [{ keyFrame: true }],
          },
        ],
        { hardware: HW, sources: ['t'], toolVersion: '0', steps: 1 },
      ),
    );
    const layerEvents = (events: readonly RunEvent[]) =>
      events.filter((e) => e.type !== 'run-start' && e.type !== 'run-done');
    const strip = (events: readonly RunEvent[]) =>
      layerEvents(events).map((e) => (e.type === 'layer-done' ? { ...e, layer: { ...e.layer, op: '' } } : e));
    expect(layerEvents(simulated.events).map((e) => e.type)).toEqual([
      'layer-start',
      'layer-progress',
      'layer-done',
    ]);
    expect(strip(simulated.events)).toEqual(strip(replayed.events));
  });
});
