import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import {
  COPY_BLANK,
  COPY_MARKER,
  generateMadCopy,
  generateMadRecall,
} from '../../../src/nn/data/mad-tasks.js';
import { generateMqar, MQAR_POWER_A } from '../../../src/nn/data/mqar.js';
import {
  allowedSymbols,
  generateRegBench,
  REGBENCH_SEPARATOR,
  randomDfa,
} from '../../../src/nn/data/regbench.js';
import { IGNORE_LABEL, isCorrect, type SequenceBatch } from '../../../src/nn/data/sequence-task.js';
import { TASK_DEFAULTS, taskBatch, taskProblem } from '../../../src/nn/data/tasks.js';

const row = (b: SequenceBatch, e: number, of: Int32Array = b.inputs) =>
  Array.from(of.subarray(e * b.seqLen, (e + 1) * b.seqLen));

/** (seq, pairs, vocab) combinations the generator accepts. */
const mqarSettings = fc
  .record({
    half: fc.integer({ min: 4, max: 64 }),
    pairs: fc.integer({ min: 1, max: 16 }),
    extra: fc.integer({ min: 0, max: 64 }),
  })
  .map(({ half, pairs, extra }) => {
    const seqLen = Math.max(4 * pairs, 2 * half);
    return { seqLen, pairs, vocab: Math.max(seqLen + 2 + 2 * extra, 2 * pairs + 4) };
  });

describe('MQAR (Zoology generator)', () => {
  test.prop([mqarSettings, fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 60 })(
    'every query is labelled with the value paired with its key in the context; keys never repeat there',
    (s, seed) => {
      const batch = generateMqar({ ...s, count: 3, seed });
      const half = Math.floor(s.vocab / 2);
      for (let e = 0; e < batch.count; e++) {
        const inputs = row(batch, e);
        const labels = row(batch, e, batch.labels);
        const keys = inputs.filter((_, t) => t < 2 * s.pairs && t % 2 === 0);
        const values = inputs.filter((_, t) => t < 2 * s.pairs && t % 2 === 1);
        expect(new Set(keys).size).toBe(s.pairs);
        expect(new Set(values).size).toBe(s.pairs);
        for (const k of keys) expect(k >= 1 && k < half).toBe(true);
        for (const v of values) expect(v >= half && v < s.vocab).toBe(true);
        const queried: number[] = [];
        labels.forEach((label, t) => {
          if (label === IGNORE_LABEL) return;
          expect(t).toBeGreaterThanOrEqual(2 * s.pairs);
          expect((t - 2 * s.pairs) % 2).toBe(0);
          const key = inputs[t]!;
          const at = keys.indexOf(key);
          expect(at).toBeGreaterThanOrEqual(0);
          expect(label).toBe(values[at]);
          queried.push(key);
        });
        // Each key is queried exactly once.
        expect(queried.sort((a, b) => a - b)).toEqual([...keys].sort((a, b) => a - b));
      }
    },
  );

  it('is deterministic by seed, and different seeds differ', () => {
    const a = generateMqar({ vocab: 256, seqLen: 128, pairs: 16, count: 8, seed: 5 });
    const b = generateMqar({ vocab: 256, seqLen: 128, pairs: 16, count: 8, seed: 5 });
    const c = generateMqar({ vocab: 256, seqLen: 128, pairs: 16, count: 8, seed: 6 });
    expect(Array.from(a.inputs)).toEqual(Array.from(b.inputs));
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.inputs)).not.toEqual(Array.from(c.inputs));
  });

  it('places queries by the a = 0.01 power law: short gaps dominate', () => {
    expect(MQAR_POWER_A).toBe(0.01);
    const batch = generateMqar({ vocab: 512, seqLen: 256, pairs: 1, count: 2000, seed: 3 });
    const space = (256 - 2) / 2;
    const gaps = new Array<number>(space).fill(0);
    for (let e = 0; e < batch.count; e++) {
      const t = row(batch, e, batch.labels).findIndex((l) => l !== IGNORE_LABEL);
      gaps[(t - 2) / 2]! += 1;
    }
    // p(g) ∝ g^(a−1): p(first)/p(last) = space^(1−a) ≈ 121 for 127 slots.
    const weights = Array.from({ length: space }, (_, i) => (i + 1) ** (MQAR_POWER_A - 1));
    const total = weights.reduce((x, y) => x + y, 0);
    expect(gaps[0]! / batch.count).toBeCloseTo(weights[0]! / total, 1);
    expect(gaps[0]!).toBeGreaterThan(10 * gaps[space - 1]!);
  });

  it('fill zeros (Zoology random_non_queries=False): same pairs and queries, token 0 everywhere else', () => {
    const settings = { task: 'mqar' as const, seqLen: 128, pairs: 8, vocab: 256 };
    const zeros = taskBatch({ ...settings, fill: 'zeros' }, 16, 9);
    // The random fill consumes the stream after each sequence: only the first sequence is shared.
    const random = taskBatch(settings, 1, 9);
    expect(row(zeros, 0, zeros.labels)).toEqual(row(random, 0, random.labels));
    let queries = 0;
    zeros.inputs.forEach((token, i) => {
      const t = i % settings.seqLen;
      if (zeros.labels[i] !== IGNORE_LABEL) {
        queries += 1;
        expect(token).toBeGreaterThan(0);
      } else if (t >= 2 * settings.pairs) {
        expect(token).toBe(0);
      }
      if (i < settings.seqLen && (t < 2 * settings.pairs || zeros.labels[i] !== IGNORE_LABEL)) {
        expect(token).toBe(random.inputs[i]);
      }
    });
    expect(queries).toBe(16 * settings.pairs);
    expect(
      row(random, 0).filter((token, t) => t >= 2 * settings.pairs && token !== 0).length,
    ).toBeGreaterThan(80);
  });

  it('rejects settings Zoology rejects', () => {
    expect(taskProblem({ task: 'mqar', seqLen: 128, pairs: 33, vocab: 256 })).toMatch(/at least 132/);
    expect(taskProblem({ task: 'mqar', seqLen: 128, pairs: 8, vocab: 100 })).toMatch(/exceed/);
    expect(taskProblem({ task: 'mqar', seqLen: 127, pairs: 8, vocab: 256 })).toMatch(/even/);
    expect(taskProblem({ task: 'mqar', ...TASK_DEFAULTS.mqar })).toBeUndefined();
  });
});

describe('MAD recall', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean()], { numRuns: 30 })(
    'a scored key was seen earlier, bound to the label; noise is never scored',
    (seed, noisy) => {
      const vocab = noisy ? 32 : 16;
      const batch = generateMadRecall({ vocab, seqLen: 64, count: 2, seed, noiseFraction: noisy ? 0.2 : 0 });
      const signal = 16; // noisy: the upper 16 of 32 tokens are noise; plain: all 16 are signal
      for (let e = 0; e < batch.count; e++) {
        const inputs = row(batch, e);
        const labels = row(batch, e, batch.labels);
        const bound = new Map<number, number>();
        for (let t = 0; t + 1 < inputs.length; t += 2) {
          const key = inputs[t]!;
          if (key >= signal) {
            expect(labels[t]).toBe(IGNORE_LABEL);
            continue;
          }
          if (bound.has(key)) expect(labels[t]).toBe(bound.get(key));
          else expect(labels[t]).toBe(IGNORE_LABEL);
          expect(bound.get(key) ?? inputs[t + 1]).toBe(inputs[t + 1]);
          bound.set(key, inputs[t + 1]!);
          expect(labels[t + 1]).toBe(IGNORE_LABEL);
        }
      }
    },
  );

  it('noisy recall inserts noise tokens, plain recall none', () => {
    const noisy = generateMadRecall({ vocab: 32, seqLen: 128, count: 4, seed: 1, noiseFraction: 0.2 });
    const plain = generateMadRecall({ vocab: 16, seqLen: 128, count: 4, seed: 1, noiseFraction: 0 });
    expect(Array.from(noisy.inputs).filter((t) => t >= 16).length).toBeGreaterThan(20);
    expect(Math.max(...plain.inputs)).toBeLessThan(16);
  });
});

describe('MAD selective copying', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 16 })], { numRuns: 30 })(
    'after the marker the labels spell the scattered data tokens in order',
    (seed, tokens) => {
      const batch = generateMadCopy({ vocab: 16, seqLen: 64, tokens, count: 2, seed });
      for (let e = 0; e < batch.count; e++) {
        const inputs = row(batch, e);
        const labels = row(batch, e, batch.labels);
        const region = 64 - tokens;
        const data = inputs.slice(0, region).filter((t) => t !== COPY_BLANK);
        expect(data).toHaveLength(tokens);
        expect(inputs[region]).toBe(COPY_MARKER);
        expect(labels.slice(region)).toEqual(data);
        expect(labels.slice(0, region).every((l) => l === IGNORE_LABEL)).toBe(true);
      }
    },
  );
});

describe('RegBench', () => {
  it('labels are allowed continuations; other allowed symbols also count as correct', () => {
    const batch = generateRegBench({ seqLen: 128, count: 4, seed: 9 });
    let scored = 0;
    batch.labels.forEach((label, i) => {
      if (label === IGNORE_LABEL) return;
      scored += 1;
      expect(isCorrect(batch, i, label)).toBe(true);
      expect(isCorrect(batch, i, REGBENCH_SEPARATOR)).toBe(false);
    });
    expect(scored).toBeGreaterThan(200);
  });

  it('random automata have 4–12 states and a move from every state', () => {
    const prng = createPrng(2);
    for (let i = 0; i < 50; i++) {
      const dfa = randomDfa(() => prng.next());
      expect(dfa.states).toBeGreaterThanOrEqual(4);
      expect(dfa.states).toBeLessThanOrEqual(12);
      for (let s = 0; s < dfa.states; s++) expect(allowedSymbols(dfa, s)).not.toBe(0);
    }
  });

  it('every task is deterministic by seed', () => {
    for (const task of ['mqar', 'mad-recall', 'mad-noisy', 'mad-copy', 'regbench'] as const) {
      const settings = { task, ...TASK_DEFAULTS[task] };
      expect(taskProblem(settings)).toBeUndefined();
      const a = taskBatch(settings, 3, 17);
      const b = taskBatch(settings, 3, 17);
      expect(Array.from(a.inputs)).toEqual(Array.from(b.inputs));
      expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
      expect(a.labels.some((l) => l !== IGNORE_LABEL)).toBe(true);
    }
  });
});
