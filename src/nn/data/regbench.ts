import { createPrng } from '../../common/prng.js';
import { IGNORE_LABEL, type SequenceBatch, sampleDistinct } from './sequence-task.js';

/** RegBench's vocabulary: token 0 separates strings, 1…19 are symbols. */
export const REGBENCH_VOCAB = 20;
export const REGBENCH_SEPARATOR = 0;

/** A deterministic finite automaton over symbols 1…19; every state accepts, start state 0. */
export interface Dfa {
  readonly states: number;
  /** transitions[state][symbol] = next state, or −1 when the symbol is not allowed there. */
  readonly transitions: readonly Int32Array[];
}

/** Bitmask of the symbols `state` has a transition on. */
export function allowedSymbols(dfa: Dfa, state: number): number {
  let mask = 0;
  dfa.transitions[state]!.forEach((to, symbol) => {
    if (to >= 0) mask |= 1 << symbol;
  });
  return mask >>> 0;
}

/**
 * A random automaton as RegBench samples them (Akyürek et al., "In-Context Language Learning:
 * Architectures and Algorithms"): 4–12 states, an alphabet of 4–18 of the 19 symbols, and for every
 * state a random non-empty subset of the alphabet leading to uniformly drawn states.
 */
export function randomDfa(next: () => number): Dfa {
  const states = 4 + Math.floor(next() * 9);
  const alphabetSize = 4 + Math.floor(next() * 15);
  const alphabet = sampleDistinct(next, 1, REGBENCH_VOCAB, alphabetSize);
  const transitions = Array.from({ length: states }, () => {
    const row = new Int32Array(REGBENCH_VOCAB).fill(-1);
    const forced = alphabet[Math.floor(next() * alphabet.length)]!;
    for (const symbol of alphabet) {
      if (symbol === forced || next() < 0.5) row[symbol] = Math.floor(next() * states);
    }
    return row;
  });
  return { states, transitions };
}

export interface RegBenchOptions {
  readonly seqLen: number;
  readonly count: number;
  readonly seed: number;
}

/**
 * In-context language learning: each sequence draws its own automaton and concatenates random
 * walks from the start state (length 1 … 2·states), separated by token 0. The label of a position is
 * the next token when that is a symbol; `validNext` holds every symbol the automaton allows there,
 * and the dfa-accuracy metric counts a greedy prediction correct when it is one of them (the string
 * stays in the language). Positions before a separator are not scored.
 */
export function generateRegBench(o: RegBenchOptions): SequenceBatch {
  const prng = createPrng(o.seed);
  const next = () => prng.next();
  const inputs = new Int32Array(o.count * o.seqLen);
  const labels = new Int32Array(o.count * o.seqLen).fill(IGNORE_LABEL);
  const validNext = new Uint32Array(o.count * o.seqLen);
  for (let e = 0; e < o.count; e++) {
    const base = e * o.seqLen;
    const dfa = randomDfa(next);
    // T + 1 tokens with the automaton state before each: position t predicts token t + 1.
    const tokens: number[] = [];
    const statesBefore: number[] = [];
    while (tokens.length <= o.seqLen) {
      const length = 1 + Math.floor(next() * 2 * dfa.states);
      let state = 0;
      for (let i = 0; i < length && tokens.length <= o.seqLen; i++) {
        const row = dfa.transitions[state]!;
        const options: number[] = [];
        row.forEach((to, symbol) => {
          if (to >= 0) options.push(symbol);
        });
        const symbol = options[Math.floor(next() * options.length)]!;
        statesBefore.push(state);
        tokens.push(symbol);
        state = row[symbol]!;
      }
      statesBefore.push(state);
      tokens.push(REGBENCH_SEPARATOR);
    }
    for (let t = 0; t < o.seqLen; t++) {
      inputs[base + t] = tokens[t]!;
      const following = tokens[t + 1]!;
      if (following === REGBENCH_SEPARATOR) continue;
      labels[base + t] = following;
      validNext[base + t] = allowedSymbols(dfa, statesBefore[t + 1]!);
    }
  }
  return { count: o.count, seqLen: o.seqLen, vocab: REGBENCH_VOCAB, inputs, labels, validNext };
}
