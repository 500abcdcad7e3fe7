/** Laws on reproducibility: the same trace replays to the same report, and a trace stores what it was given. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Report } from '../../core/report.js';
import { maskName } from '../../trace/manifest.js';
import { packMask } from '../../trace/mask.js';
import { openTrace } from '../../trace/reader.js';
import {
  arbitraryTrace,
  arbitraryTraceFor,
  describeTrace,
  type InMemoryTrace,
  writeTrace,
} from '../trace.js';
import { defineLaw, expectLaw } from './law.js';
import { replayVariants } from './replay-variants.js';

/** The report without the path it was read from (two copies of a trace live at two paths). */
function figures(report: Report): string {
  return JSON.stringify({ ...report, sources: [] });
}

export const replayDeterministic = defineLaw<InMemoryTrace>({
  name: 'replay-deterministic',
  statement:
    'replaying a trace twice, or a second copy of it, gives byte-identical report JSON (sources aside)',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const [first, second] = await replayVariants(subject, trace, [subject.hardware, subject.hardware]);
    const [copy] = await replayVariants(subject, trace, [subject.hardware]);
    expectLaw(JSON.stringify(first) === JSON.stringify(second), () => 'two replays of one file differ');
    expectLaw(figures(first!) === figures(copy!), () => 'replays of two copies of the trace differ');
  },
});

interface StorageCase {
  readonly trace: InMemoryTrace;
  readonly dtype: 'F32' | 'F16';
  /** Bytes per shard, small enough to split the trace, or undefined for one file. */
  readonly shardBytes: number | undefined;
}

export const traceWriteReadIdentity = defineLaw<StorageCase>({
  name: 'trace-write-read-identity',
  statement:
    'a trace written (F32 or F16, one file or sharded) reads back with the same manifest, the same tensor names and values, and masks equal to its values',
  arbitrary: () =>
    fc.record({
      trace: arbitraryTrace(),
      dtype: fc.constantFrom<'F32' | 'F16'>('F32', 'F16'),
      shardBytes: fc.option(fc.integer({ min: 64, max: 4096 }), { nil: undefined }),
    }),
  describe: (c) =>
    `${describeTrace(c.trace)}\nstored as ${c.dtype}${c.shardBytes ? `, shards of ${c.shardBytes} B` : ''}`,
  async check(_subject, c) {
    const dir = await mkdtemp(join(tmpdir(), 'deltasim-check-'));
    try {
      const path = join(dir, 'trace.safetensors');
      await writeTrace(path, c.trace, {
        dtype: c.dtype,
        ...(c.shardBytes ? { shardBytes: c.shardBytes } : {}),
      });
      const reader = await openTrace(path);
      try {
        expectLaw(
          JSON.stringify(reader.manifest) === JSON.stringify(c.trace.manifest),
          () => 'the manifest read back differs from the one written',
        );
        const stored = new Set(reader.tensors().map((t) => t.name));
        for (const [name, tensor] of c.trace.tensors) {
          expectLaw(
            stored.has(name) && stored.has(maskName(name)),
            () => `tensor ${name} or its mask is missing`,
          );
          expectLaw(
            JSON.stringify(reader.info(name).shape) === JSON.stringify(tensor.shape),
            () => `tensor ${name}: shape [${reader.info(name).shape}] read, [${tensor.shape}] written`,
          );
          // Quarter values are exact in F16 as in F32: the values come back bit for bit.
          const values = await reader.readValues(name);
          const i = values.findIndex((v, j) => !Object.is(v, tensor.values[j]));
          expectLaw(
            i < 0 && values.length === tensor.values.length,
            () => `tensor ${name}: element ${i} read ${values[i]}, written ${tensor.values[i]}`,
          );
          const mask = await reader.readMask(name);
          expectLaw(
            Buffer.from(mask).equals(Buffer.from(packMask(tensor.values))),
            () => `tensor ${name}: the stored mask disagrees with its values`,
          );
        }
        const written = c.trace.tensors.size;
        const read = [...stored].filter((n) => !n.endsWith('#mask')).length;
        expectLaw(read === written, () => `${read} value tensors read back, ${written} written`);
      } finally {
        await reader.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
