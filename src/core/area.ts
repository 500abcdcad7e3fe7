import type { Precision } from './energy-table.js';
import type { HardwareModel, OperandSupport } from './hardware.js';
import { PSUM_BITS } from './hardware.js';

/**
 * Silicon area of a configuration at 45 nm, in mm², by component (docs/sweeps.md, "Area model").
 * Figures: Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm adders and multipliers);
 * Mistry et al., IEDM 2007 (Intel 45 nm 6T SRAM cell, 0.346 µm²); the NanGate 45 nm Open Cell
 * Library (DFF_X1 flip-flop, 4.522 µm²). An unbounded buffer has unbounded area.
 */
export interface AreaMm2 {
  readonly total: number;
  readonly macs: number;
  readonly registers: number;
  readonly sram: number;
  readonly stateMemory: number;
  readonly sparsityLogic: number;
}

const UM2_PER_MM2 = 1e6;

/** Multiplier + accumulator (int8 multiplies into an int32 accumulator; floats add at their width). */
export const MAC_AREA_UM2: Readonly<Record<Precision, number>> = {
  int8: 282 + 137,
  fp16: 1640 + 1360,
  fp32: 7700 + 4184,
};

/** An 8-bit adder: a zero detector / comparator on one operand (Horowitz's 8b add). */
const ZERO_DETECT_UM2 = 36;
/** A 32-bit adder: the index arithmetic of one skipping lane (Horowitz's 32b add). */
const SKIP_INDEX_UM2 = 137;
export const FLIP_FLOP_UM2 = 4.522;
export const SRAM_BIT_CELL_UM2 = 0.346;
/**
 * Share of an SRAM macro that is bit cells (the rest: decoders, sense amplifiers, I/O). An
 * assumption in the range CACTI reports for 8 KiB – 1 MiB arrays, not a published single figure.
 */
export const SRAM_ARRAY_EFFICIENCY = 0.7;
/** Operand words a skipping lane buffers ahead at most (its look-ahead queue, capped). */
const LOOKAHEAD_WORDS_MAX = 16;

const WORD_BITS: Readonly<Record<Precision, number>> = { int8: 8, fp16: 16, fp32: 32 };

export function sramAreaMm2(bytes: number): number {
  return (bytes * 8 * SRAM_BIT_CELL_UM2) / SRAM_ARRAY_EFFICIENCY / UM2_PER_MM2;
}

/** Per-PE logic an operand's support adds: nothing, a zero detector (gate), or detector + index + queue (skip). */
function supportLogicUm2(support: OperandSupport, wordBits: number, lookaheadSteps: number): number {
  if (support === 'none') return 0;
  if (support === 'gate') return ZERO_DETECT_UM2;
  const queueWords = Math.min(LOOKAHEAD_WORDS_MAX, lookaheadSteps);
  return ZERO_DETECT_UM2 + SKIP_INDEX_UM2 + queueWords * wordBits * FLIP_FLOP_UM2;
}

export function areaOf(hw: HardwareModel): AreaMm2 {
  const pes = hw.array.rows * hw.array.cols;
  const wordBits = WORD_BITS[hw.precision];
  const macs = (pes * MAC_AREA_UM2[hw.precision]) / UM2_PER_MM2;
  // Two operand registers and one partial sum per PE.
  const registers = (pes * (2 * wordBits + PSUM_BITS) * FLIP_FLOP_UM2) / UM2_PER_MM2;
  const sram = sramAreaMm2(hw.sram.ifmapBytes + hw.sram.filterBytes + hw.sram.ofmapBytes);
  const stateMemory = hw.deltaMode ? sramAreaMm2(hw.stateMemory.bytes) : 0;
  const { activations, weights, deltas } = hw.support;
  // Activations and deltas enter on the same lane: it needs the richer of the two supports once.
  const streamed = [activations, deltas].includes('skip')
    ? 'skip'
    : [activations, deltas].includes('gate')
      ? 'gate'
      : 'none';
  const sparsityLogic =
    (pes *
      (supportLogicUm2(streamed, wordBits, hw.lookaheadSteps) +
        // N:M weights select their activation by a stored index, as element skipping does (assumption).
        supportLogicUm2(weights === 'nm' ? 'skip' : weights, wordBits, hw.lookaheadSteps))) /
    UM2_PER_MM2;
  return {
    total: macs + registers + sram + stateMemory + sparsityLogic,
    macs,
    registers,
    sram,
    stateMemory,
    sparsityLogic,
  };
}
