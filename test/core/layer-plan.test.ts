import { describe, expect, test } from 'vitest';
import { type LayerOperands, planLayer } from '../../src/core/layer-plan.js';
import { NEURONFLOW_LIKE, SPARTEN_LIKE } from '../../src/core/presets.js';

/** planLayer trusts the operands trace validation established (src/trace/manifest-check.ts). */
describe('planLayer', () => {
  const weightInput: LayerOperands = { bOperand: 'weight', aStored: 'input' };

  test('without delta mode the stored input is the A operand', () => {
    expect(planLayer(weightInput, SPARTEN_LIKE, 5)).toEqual({
      bOperand: 'weight',
      delta: false,
      aSource: 'input',
    });
    expect(planLayer({ bOperand: 'rhs', aStored: 'delta' }, SPARTEN_LIKE, 5).aSource).toBe('delta');
  });

  test('delta mode: stored deltas first, else Δ derived from consecutive inputs (needs two steps)', () => {
    expect(planLayer({ bOperand: 'weight', aStored: 'both' }, NEURONFLOW_LIKE, 1).aSource).toBe('delta');
    expect(planLayer(weightInput, NEURONFLOW_LIKE, 2).aSource).toBe('derived-delta');
    expect(planLayer(weightInput, NEURONFLOW_LIKE, 1)).toEqual({
      bOperand: 'weight',
      delta: false,
      aSource: 'input',
    });
  });

  test('a per-step B operand (rhs) is never replayed in delta mode', () => {
    expect(planLayer({ bOperand: 'rhs', aStored: 'both' }, NEURONFLOW_LIKE, 4)).toEqual({
      bOperand: 'rhs',
      delta: false,
      aSource: 'input',
    });
  });
});
