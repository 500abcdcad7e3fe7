/** Laws on cycles: what more zeros, gating and fold overlap may and may not do. */
import fc from 'fast-check';
import { createPrng } from '../../common/prng.js';
import type { HardwareModel } from '../../core/hardware.js';
import type { Report } from '../../core/report.js';
import { unitInterval } from '../masks.js';
import { arbitraryTraceFor, describeTrace, type InMemoryTrace } from '../trace.js';
import { close, defineLaw, expectLaw } from './law.js';
import { mapSupport, replayVariants } from './replay-variants.js';

/** The trace with a further fraction of its activation (input, delta, rhs) non-zeros set to zero. */
export function withMoreZeros(trace: InMemoryTrace, fraction: number, seed: number): InMemoryTrace {
  const prng = createPrng(seed);
  const tensors = new Map(
    [...trace.tensors].map(([name, t]) => {
      if (name.startsWith('L/')) return [name, t];
      return [name, { ...t, values: t.values.map((v) => (v !== 0 && prng.next() < fraction ? 0 : v)) }];
    }),
  );
  return { ...trace, tensors };
}

interface ZerosCase {
  readonly trace: InMemoryTrace;
  readonly fraction: number;
  readonly seed: number;
}

export const monotoneInZeros = defineLaw<ZerosCase>({
  name: 'monotone-in-zeros',
  statement:
    'under element-granularity skipping of activations, zeroing more activations never adds executed MACs or compute cycles to any layer',
  arbitrary: (subject) =>
    fc.record({
      trace: arbitraryTraceFor(subject.hardware),
      fraction: unitInterval,
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
    }),
  describe: (c) => `${describeTrace(c.trace)}\nfurther zeros: fraction ${c.fraction}, seed ${c.seed}`,
  async check(subject, c) {
    const hw: HardwareModel = {
      ...subject.hardware,
      support: { ...subject.hardware.support, activations: 'skip', deltas: 'skip' },
      granularity: 'element',
      deltaMode: false,
    };
    const [before] = await replayVariants(subject, c.trace, [hw]);
    const [after] = await replayVariants(subject, withMoreZeros(c.trace, c.fraction, c.seed), [hw]);
    for (const [i, b] of before!.layers.entries()) {
      const a = after!.layers[i]!;
      expectLaw(
        a.executedMacs <= b.executedMacs && a.computeCycles <= b.computeCycles,
        () =>
          `layer ${b.name} (${b.op}): before ${b.executedMacs} executed / ${b.computeCycles} compute cycles, with more zeros ${a.executedMacs} / ${a.computeCycles}`,
      );
    }
  },
});

const sameCycles = (a: Report, b: Report): boolean =>
  a.layers.every(
    (l, i) => l.cycles === b.layers[i]!.cycles && l.computeCycles === b.layers[i]!.computeCycles,
  );

export const gatingKeepsCycles = defineLaw<InMemoryTrace>({
  name: 'gating-never-changes-cycles',
  statement:
    'turning gating on (none → gate) or off (gate → none) for any operand never changes a layer’s cycles, compute cycles or executed MACs, and gating never raises energy',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const hw = subject.hardware;
    const [given, ungated, gated] = await replayVariants(subject, trace, [
      hw,
      mapSupport(hw, (s) => (s === 'gate' ? 'none' : s)),
      mapSupport(hw, (s) => (s === 'none' ? 'gate' : s)),
    ]);
    for (const [name, other] of [
      ['gate → none', ungated!],
      ['none → gate', gated!],
    ] as const) {
      expectLaw(sameCycles(given!, other), () => {
        const i = given!.layers.findIndex(
          (l, j) =>
            l.cycles !== other.layers[j]!.cycles || l.computeCycles !== other.layers[j]!.computeCycles,
        );
        const a = given!.layers[i]!;
        const b = other.layers[i]!;
        return `layer ${a.name} (${a.op}): ${a.cycles} cycles (${a.computeCycles} compute) as given, ${b.cycles} (${b.computeCycles}) with ${name}`;
      });
      expectLaw(
        other.total.executedMacs === given!.total.executedMacs,
        () => `executed MACs ${given!.total.executedMacs} as given, ${other.total.executedMacs} with ${name}`,
      );
    }
    expectLaw(
      gated!.total.energyPj.total <= ungated!.total.energyPj.total ||
        close(gated!.total.energyPj.total, ungated!.total.energyPj.total),
      () =>
        `gating everything costs ${gated!.total.energyPj.total} pJ, gating nothing ${ungated!.total.energyPj.total} pJ`,
    );
  },
});

export const overlapOrder = defineLaw<InMemoryTrace>({
  name: 'overlap-order',
  statement: 'fold overlap none ≥ preload ≥ pipelined in every layer’s compute cycles and cycles',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const [none, preload, pipelined] = await replayVariants(
      subject,
      trace,
      (['none', 'preload', 'pipelined'] as const).map((overlap) => ({ ...subject.hardware, overlap })),
    );
    for (const [i, n] of none!.layers.entries()) {
      const p = preload!.layers[i]!;
      const q = pipelined!.layers[i]!;
      expectLaw(
        n.computeCycles >= p.computeCycles &&
          p.computeCycles >= q.computeCycles &&
          n.cycles >= p.cycles &&
          p.cycles >= q.cycles,
        () =>
          `layer ${n.name} (${n.op}): cycles (compute) none ${n.cycles} (${n.computeCycles}), preload ${p.cycles} (${p.computeCycles}), pipelined ${q.cycles} (${q.computeCycles})`,
      );
    }
  },
});
