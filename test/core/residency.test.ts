import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { collectRun } from '../../src/core/dense-engine.js';
import type { HardwareModel } from '../../src/core/hardware.js';
import { weightResidency } from '../../src/core/layer-plan.js';
import { NEURONFLOW_LIKE, SPARTEN_LIKE } from '../../src/core/presets.js';
import { createLayerReplay, type ReplayStepInput, replayRun } from '../../src/core/replay-engine.js';
import { denseLayerSpec } from '../../src/testing/index.js';

const MIB = 1024 * 1024;

const fcLayer = (name: string, m: number, k: number, n: number) => denseLayerSpec(m, k, n, name);

// 4 × 256 inputs, 256 × 512 fp16 weights = 256 KiB: more than a 64 KiB filter buffer.
const LAYER = fcLayer('fc', 4, 256, 512);
const WEIGHT_BYTES = 256 * 512 * 2;

function dramReadsPerStep(hw: HardwareModel, steps: number): number[] {
  const [residency] = weightResidency([LAYER], hw);
  const replay = createLayerReplay(LAYER, hw, {
    bOperand: 'weight',
    delta: false,
    weightResidency: residency!,
  });
  const reads: number[] = [];
  for (let t = 0; t < steps; t++) reads.push(replay.step({ keyFrame: t === 0 }).levels[0]!.readBits / 8);
  return reads;
}

describe('weight residency', () => {
  const small: HardwareModel = {
    ...NEURONFLOW_LIKE,
    arrayKind: 'systolic',
    deltaMode: false,
    sram: { ...NEURONFLOW_LIKE.sram, filterBytes: 64 * 1024 },
  };
  const large: HardwareModel = { ...small, sram: { ...small.sram, filterBytes: 16 * MIB } };

  it('a filter buffer larger than the weights removes weight DRAM traffic after the first step', () => {
    const before = dramReadsPerStep(small, 4);
    const after = dramReadsPerStep(large, 4);
    // Without room, every step reads the weights again.
    expect(new Set(before).size).toBe(1);
    expect(after[0]).toBe(before[0]);
    for (const reads of after.slice(1)) expect(reads).toBe(before[0]! - WEIGHT_BYTES);
    const r = collectRun(
      replayRun(
        [
          {
            spec: LAYER,
            options: { bOperand: 'weight', delta: false },
            steps: Array.from({ length: 4 }, (_, t) => ({ keyFrame: t === 0 })),
          },
        ],
        { hardware: large, sources: [], toolVersion: 'test', steps: 4 },
      ),
    ).report;
    expect(r.total.residentSavedDramBytes).toBe(3 * WEIGHT_BYTES);
  });

  it('frame-major keeps weights only when the whole network fits; layer-major when the layer fits (per clip)', () => {
    const two = [fcLayer('a', 1, 128, 128), fcLayer('b', 1, 128, 128)]; // 32 KiB each in fp16
    const hw = (filterBytes: number, schedule: 'frame-major' | 'layer-major'): HardwareModel => ({
      ...SPARTEN_LIKE,
      precision: 'fp16',
      schedule,
      sram: { ...SPARTEN_LIKE.sram, filterBytes },
    });
    expect(weightResidency(two, hw(64 * 1024, 'frame-major'))).toEqual(['run', 'run']);
    expect(weightResidency(two, hw(48 * 1024, 'frame-major'))).toEqual(['step', 'step']);
    expect(weightResidency(two, hw(48 * 1024, 'layer-major'))).toEqual(['sequence', 'sequence']);
    expect(weightResidency(two, hw(16 * 1024, 'layer-major'))).toEqual(['step', 'step']);
    expect(weightResidency([two[0]!, null], hw(64 * 1024, 'frame-major'))).toEqual(['run', 'step']);
  });
});

describe('schedule', () => {
  const layerArb = fc.record({ k: fc.integer({ min: 1, max: 96 }), n: fc.integer({ min: 1, max: 96 }) });
  test.prop(
    [
      fc.array(layerArb, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 256, max: 40_000 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
    ],
    { numRuns: 60 },
  )('layer-major never moves more DRAM bytes than frame-major', (layers, filterBytes, starts) => {
    const specs = layers.map((l, i) => fcLayer(`l${i}`, 2, l.k, l.n));
    const steps: ReplayStepInput[] = starts.map((s, t) => ({
      keyFrame: t === 0 || s,
      newSequence: t === 0 || s,
    }));
    const run = (schedule: 'frame-major' | 'layer-major'): number => {
      const hardware: HardwareModel = {
        ...SPARTEN_LIKE,
        schedule,
        sram: { ...SPARTEN_LIKE.sram, filterBytes },
      };
      return collectRun(
        replayRun(
          specs.map((spec) => ({ spec, options: { bOperand: 'weight', delta: false }, steps })),
          { hardware, sources: [], toolVersion: 'test', steps: steps.length },
        ),
      ).report.total.dramBytes;
    };
    expect(run('layer-major')).toBeLessThanOrEqual(run('frame-major'));
  });
});
