import { generateMadCopy, generateMadRecall } from './mad-tasks.js';
import { generateMqar, mqarProblem } from './mqar.js';
import { generateRegBench, REGBENCH_VOCAB } from './regbench.js';
import type { SequenceBatch, SequenceTaskName } from './sequence-task.js';

/** The size of a task instance: what `--seq`, `--pairs` and `--vocab` set. */
export interface TaskSettings {
  readonly task: SequenceTaskName;
  readonly seqLen: number;
  readonly vocab: number;
  /** MQAR: key–value pairs; MAD copy: tokens to copy; ignored by the others. */
  readonly pairs: number;
  /**
   * MQAR: what fills the query region between the queries. `random` (Zoology's default) draws
   * tokens from the whole vocabulary, so with a small vocabulary a queried key often reappears
   * before its query; `zeros` (Zoology's random_non_queries=False) uses token 0. Absent = random.
   */
  readonly fill?: MqarFill;
}

export type MqarFill = 'random' | 'zeros';
export const MQAR_FILLS: readonly MqarFill[] = ['random', 'zeros'];

/** Defaults per task: MQAR's is the hardest setting issue 12 asks for; MAD's are the MAD suite's. */
export const TASK_DEFAULTS: Readonly<Record<SequenceTaskName, Omit<TaskSettings, 'task'>>> = {
  mqar: { seqLen: 128, vocab: 256, pairs: 16 },
  'mad-recall': { seqLen: 128, vocab: 16, pairs: 0 },
  'mad-noisy': { seqLen: 128, vocab: 32, pairs: 0 },
  'mad-copy': { seqLen: 256, vocab: 16, pairs: 16 },
  regbench: { seqLen: 256, vocab: REGBENCH_VOCAB, pairs: 0 },
};

/** `count` sequences of the task, fixed by `seed`. */
export function taskBatch(settings: TaskSettings, count: number, seed: number): SequenceBatch {
  const { seqLen, vocab, pairs } = settings;
  switch (settings.task) {
    case 'mqar':
      return generateMqar({ vocab, seqLen, pairs, count, seed, randomNonQueries: settings.fill !== 'zeros' });
    case 'mad-recall':
      return generateMadRecall({ vocab, seqLen, count, seed, noiseFraction: 0 });
    case 'mad-noisy':
      return generateMadRecall({ vocab, seqLen, count, seed, noiseFraction: 0.2 });
    case 'mad-copy':
      return generateMadCopy({ vocab, seqLen, tokens: pairs, count, seed });
    case 'regbench':
      return generateRegBench({ seqLen, count, seed });
  }
}

/** Why these settings cannot produce sequences (undefined when they can), before any work starts. */
export function taskProblem(s: TaskSettings): string | undefined {
  switch (s.task) {
    case 'mqar':
      return mqarProblem(s);
    case 'mad-recall':
      return s.vocab < 2
        ? 'the vocabulary needs at least 2 tokens'
        : s.seqLen < 2
          ? 'sequences need 2 tokens'
          : undefined;
    case 'mad-noisy':
      return s.vocab < 4
        ? 'the vocabulary needs at least 4 tokens'
        : s.seqLen < 2
          ? 'sequences need 2 tokens'
          : undefined;
    case 'mad-copy':
      if (s.vocab < 3) return 'the vocabulary needs at least 3 tokens';
      return s.pairs < 1 || s.seqLen < 2 * s.pairs
        ? `${s.pairs} tokens to copy need a sequence of at least ${2 * s.pairs}`
        : undefined;
    case 'regbench':
      return s.vocab !== REGBENCH_VOCAB
        ? `RegBench's vocabulary is ${REGBENCH_VOCAB}`
        : s.seqLen < 2
          ? 'sequences need 2 tokens'
          : undefined;
  }
}
