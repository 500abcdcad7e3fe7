/**
 * Model-based test of the sharded trace writer and reader (fast-check commands): two writers in
 * one directory, their writes, rejected writes, aborts and finishes interleaved at random. After every command the files on disk match a plain model: a finished trace reads back
 * exactly what was written; an aborted or unfinished one leaves no file, no temporary behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { createPrng } from '../../src/common/prng.js';
import { type TraceLayer, type TraceStep, tensorName } from '../../src/trace/manifest.js';
import { packMask } from '../../src/trace/mask.js';
import { openTrace } from '../../src/trace/reader.js';
import { TraceError } from '../../src/trace/trace-error.js';
import {
  createTraceWriter,
  type StepTensor,
  type TraceWriter,
  type ValueDtype,
} from '../../src/trace/writer.js';

const LAYERS: readonly TraceLayer[] = [
  {
    name: 'fc',
    op: 'dense',
    inputShape: [2, 3],
    outputShape: [2, 2],
    operandShape: [3, 2],
    gemm: { m: 2, n: 2, k: 3 },
    gemmCount: 1,
    roles: ['input', 'delta', 'weight'],
  },
  {
    name: 'att',
    op: 'attention-scores',
    inputShape: [2, 3],
    outputShape: [2, 2],
    operandShape: [3, 2],
    gemm: { m: 2, n: 2, k: 3 },
    gemmCount: 1,
    structural: 'causal',
    roles: ['input', 'rhs'],
  },
];

/** Quarter values with zeros: exact in F16 and F32. */
function values(seed: number, n: number): Float32Array {
  const prng = createPrng(seed);
  return Float32Array.from({ length: n }, () => (prng.next() < 0.4 ? 0 : (prng.int(16) - 8) / 4 || 0.25));
}

function stepTensors(seed: number, index: number): StepTensor[] {
  return [
    { layer: 'fc', role: 'input', values: values(seed, 6), shape: [2, 3] },
    { layer: 'fc', role: 'delta', values: values(seed + 1, 6), shape: [2, 3] },
    { layer: 'att', role: 'rhs', values: values(seed + 2 + index, 6), shape: [3, 2] },
    { layer: 'att', role: 'input', values: values(seed + 3, 6), shape: [2, 3] },
  ];
}

type Status = 'none' | 'open' | 'finished' | 'aborted';

interface WriterModel {
  status: Status;
  weight?: Float32Array;
  steps: { step: TraceStep; tensors: StepTensor[] }[];
  dtype: ValueDtype;
  shardBytes: number | undefined;
}

interface Model {
  readonly writers: WriterModel[];
}

interface Real {
  readonly dir: string;
  readonly writers: (TraceWriter | undefined)[];
}

const WRITERS = 2;
const pathOf = (real: Real, id: number) => join(real.dir, `w${id}.safetensors`);

async function rejects(work: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TraceError);
  expect((error as Error).message).toMatch(pattern);
}

/** No temporary file of any writer, and exactly the finished traces' files. */
function checkDirectory(model: Model, real: Real): void {
  const files = readdirSync(real.dir);
  expect(files.filter((f) => f.startsWith('.deltasim-tmp-') && !f.endsWith('.data'))).toEqual([]);
  for (const [id, w] of model.writers.entries()) {
    const own = files.filter((f) => f.startsWith(`w${id}`));
    if (w.status !== 'finished') expect(own, `writer ${id} is ${w.status}`).toEqual([]);
    else expect(own.length).toBeGreaterThanOrEqual(1);
    // Data files of an open writer exist; an aborted one's are gone.
    if (w.status === 'aborted' || w.status === 'finished')
      expect(files.filter((f) => f.includes(`-w${id}.safetensors`) && f.endsWith('.data'))).toEqual([]);
  }
}

class Start implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly id: number,
    readonly dtype: ValueDtype,
    readonly shardBytes: number | undefined,
  ) {}
  check = (m: Readonly<Model>) => m.writers[this.id]!.status === 'none';
  async run(m: Model, r: Real) {
    r.writers[this.id] = await createTraceWriter(pathOf(r, this.id), {
      manifest: {
        format: 'deltasim-trace',
        version: 1,
        producer: 'writer-model test',
        model: { name: `w${this.id}`, family: 'test' },
        seed: this.id,
        layers: LAYERS,
      },
      dtype: this.dtype,
      ...(this.shardBytes !== undefined ? { shardBytes: this.shardBytes } : {}),
    });
    Object.assign(m.writers[this.id]!, { status: 'open', dtype: this.dtype, shardBytes: this.shardBytes });
    checkDirectory(m, r);
  }
  toString = () => `start(w${this.id}, ${this.dtype}, shards ${this.shardBytes ?? '∞'})`;
}

class WriteWeight implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly id: number,
    readonly seed: number,
  ) {}
  check = (m: Readonly<Model>) => m.writers[this.id]!.status === 'open';
  async run(m: Model, r: Real) {
    const w = m.writers[this.id]!;
    const v = values(this.seed, 6);
    const write = r.writers[this.id]!.writeStatic('fc', 'weight', v, [3, 2]);
    if (w.weight) await rejects(write, /written twice/);
    else {
      await write;
      w.weight = v;
    }
    checkDirectory(m, r);
  }
  toString = () => `weight(w${this.id}, ${this.seed})`;
}

class WriteStep implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly id: number,
    readonly seed: number,
    readonly fault: 'none' | 'index' | 'missing' | 'shape',
  ) {}
  check = (m: Readonly<Model>) => m.writers[this.id]!.status === 'open';
  async run(m: Model, r: Real) {
    const w = m.writers[this.id]!;
    const index = w.steps.length;
    const step: TraceStep = { index, sequence: 0, position: index, keyFrame: index === 0 };
    let tensors = stepTensors(this.seed, index);
    const writer = r.writers[this.id]!;
    if (this.fault === 'index') {
      await rejects(writer.writeStep({ ...step, index: index + 1 }, tensors), /index/);
    } else if (this.fault === 'missing') {
      await rejects(writer.writeStep(step, tensors.slice(1)), /missing from step/);
    } else if (this.fault === 'shape') {
      tensors = tensors.map((t, i) => (i === 2 ? { ...t, shape: [2, 3] } : t));
      await rejects(writer.writeStep(step, tensors), /shape/);
    } else {
      await writer.writeStep(step, tensors);
      w.steps.push({ step, tensors });
    }
    checkDirectory(m, r);
  }
  toString = () => `step(w${this.id}, ${this.seed}, fault ${this.fault})`;
}

class Abort implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: number) {}
  check = (m: Readonly<Model>) => m.writers[this.id]!.status !== 'none';
  async run(m: Model, r: Real) {
    await r.writers[this.id]!.abort();
    const w = m.writers[this.id]!;
    // Aborting a finished trace keeps it (abort only removes an unfinished one's temporaries).
    if (w.status === 'open') w.status = 'aborted';
    checkDirectory(m, r);
  }
  toString = () => `abort(w${this.id})`;
}

class Finish implements fc.AsyncCommand<Model, Real> {
  constructor(readonly id: number) {}
  check = (m: Readonly<Model>) => m.writers[this.id]!.status !== 'none';
  async run(m: Model, r: Real) {
    const w = m.writers[this.id]!;
    const writer = r.writers[this.id]!;
    if (w.status !== 'open') {
      await rejects(writer.finish(), new RegExp(`writer is ${w.status}`));
    } else if (!w.weight) {
      await rejects(writer.finish(), /never written/);
    } else {
      await writer.finish();
      w.status = 'finished';
      await checkReadBack(w, pathOf(r, this.id));
    }
    checkDirectory(m, r);
  }
  toString = () => `finish(w${this.id})`;
}

async function checkReadBack(w: WriterModel, path: string): Promise<void> {
  const reader = await openTrace(path);
  try {
    expect(reader.manifest.steps).toEqual(w.steps.map((s) => s.step));
    if (w.shardBytes === undefined) expect(reader.files).toEqual([path]);
    const expected = new Map<string, Float32Array>([[tensorName('fc', 'weight'), w.weight!]]);
    for (const { step, tensors } of w.steps)
      for (const t of tensors) expected.set(tensorName(t.layer, t.role, step.index), t.values);
    expect(reader.tensors().filter((t) => !t.name.endsWith('#mask')).length).toBe(expected.size);
    for (const [name, v] of expected) {
      expect([...(await reader.readValues(name))], name).toEqual([...v]);
      expect([...(await reader.readMask(name))]).toEqual([...packMask(v)]);
    }
  } finally {
    await reader.close();
  }
}

const id = fc.integer({ min: 0, max: WRITERS - 1 });
const start = fc
  .tuple(
    id,
    fc.constantFrom<ValueDtype>('F32', 'F16'),
    fc.option(fc.integer({ min: 16, max: 400 }), { nil: undefined }),
  )
  .map(([i, d, s]) => new Start(i, d, s));
const weight = fc.tuple(id, fc.nat(1000)).map(([i, s]) => new WriteWeight(i, s));
const step = fc
  .tuple(
    id,
    fc.nat(1000),
    fc.constantFrom('none', 'none', 'none', 'index', 'missing', 'shape') as fc.Arbitrary<WriteStep['fault']>,
  )
  .map(([i, s, f]) => new WriteStep(i, s, f));
// Listed more than once = drawn more often: enough writes land between a start and its end.
const commands = fc.commands(
  [
    start,
    start,
    weight,
    weight,
    step,
    step,
    step,
    step,
    id.map((i) => new Abort(i)),
    id.map((i) => new Finish(i)),
  ],
  { maxCommands: 40, size: 'max' },
);

test.prop([commands], { numRuns: 80 })(
  'interleaved writers, rejected writes, aborts and finishes',
  async (cmds) => {
    const dir = await mkdtemp(join(tmpdir(), 'deltasim-writer-model-'));
    const real: Real = { dir, writers: Array.from({ length: WRITERS }, () => undefined) };
    const model: Model = {
      writers: Array.from({ length: WRITERS }, () => ({
        status: 'none' as Status,
        steps: [],
        dtype: 'F32' as ValueDtype,
        shardBytes: undefined,
      })),
    };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // What a crashed or abandoned recording leaves: abort every open writer, then nothing of it remains.
      for (const [i, w] of model.writers.entries()) {
        if (w.status !== 'open') continue;
        await real.writers[i]!.abort();
        w.status = 'aborted';
      }
      checkDirectory(model, real);
      expect(readdirSync(dir).filter((f) => f.endsWith('.data'))).toEqual([]);
      for (const [i, w] of model.writers.entries())
        expect(existsSync(pathOf(real, i))).toBe(w.status === 'finished');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
