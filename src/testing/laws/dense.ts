/** Laws tying a design to its dense baseline: the same array and memory with sparsity support off. */
import fc from 'fast-check';
import { denseBaselineOf } from '../../core/hardware.js';
import type { LayerReport, ReportTotal } from '../../core/report.js';
import { arbitraryTraceFor, describeTrace, type InMemoryTrace } from '../trace.js';
import { close, defineLaw, expectLaw } from './law.js';
import { replayVariants } from './replay-variants.js';

/** The trace with every zero replaced by a non-zero value: the same shapes, no sparsity at all. */
export function densified(trace: InMemoryTrace): InMemoryTrace {
  const tensors = new Map(
    [...trace.tensors].map(([name, t]) => [name, { ...t, values: t.values.map((v) => (v === 0 ? 1 : v)) }]),
  );
  return { ...trace, tensors };
}

type Figures = LayerReport | ReportTotal;

function label(f: Figures): string {
  return 'op' in f ? `layer ${f.name} (${f.op})` : 'total';
}

export const denseParity = defineLaw<InMemoryTrace>({
  name: 'dense-parity',
  statement:
    'with sparsity support off every MAC executes, none is gated or skipped, the run equals its own baseline (speedup 1), and the data does not matter: a trace with no zeros gives the same cycles, DRAM bytes and energy',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const dense = denseBaselineOf(subject.hardware);
    const [sparseData] = await replayVariants(subject, trace, [dense]);
    const [noZeros] = await replayVariants(subject, densified(trace), [dense]);
    const all = (r: typeof sparseData): Figures[] => [...r!.layers, r!.total];
    for (const f of all(sparseData)) {
      const s = f.skippedMacs;
      expectLaw(
        f.executedMacs === f.macs &&
          f.gatedMacs === 0 &&
          s.zeroActivation + s.zeroWeight + s.zeroDelta + s.structural === 0,
        () =>
          `${label(f)}: executed ${f.executedMacs} of ${f.macs}, gated ${f.gatedMacs}, skipped ${fc.stringify(s)}`,
      );
      expectLaw(
        f.cycles === f.baselineCycles &&
          f.computeCycles === f.baselineComputeCycles &&
          f.speedup === 1 &&
          f.computeSpeedup === 1,
        () =>
          `${label(f)}: cycles ${f.cycles} / compute ${f.computeCycles} differ from its own baseline ${f.baselineCycles} / ${f.baselineComputeCycles} (speedup ${f.speedup})`,
      );
      expectLaw(
        close(f.energyPj.total, f.baselineEnergyPj),
        () => `${label(f)}: energy ${f.energyPj.total} pJ ≠ its baseline ${f.baselineEnergyPj} pJ`,
      );
    }
    const a = all(sparseData);
    const b = all(noZeros);
    for (const [i, f] of a.entries()) {
      const g = b[i]!;
      expectLaw(
        f.cycles === g.cycles && f.computeCycles === g.computeCycles && f.dramBytes === g.dramBytes,
        () =>
          `${label(f)}: with zeros ${f.cycles} cycles (${f.computeCycles} compute, ${f.dramBytes} DRAM bytes), without ${g.cycles} (${g.computeCycles}, ${g.dramBytes})`,
      );
      expectLaw(
        close(f.energyPj.total, g.energyPj.total),
        () => `${label(f)}: energy with zeros ${f.energyPj.total} pJ, without ${g.energyPj.total} pJ`,
      );
    }
  },
});

export const speedupSameMemoryBaseline = defineLaw<InMemoryTrace>({
  name: 'speedup-same-memory-baseline',
  statement:
    'a report’s baseline figures are those of a separate run of the same hardware (same memory) with sparsity off, and speedup = baselineCycles / cycles',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const [run, baseline] = await replayVariants(subject, trace, [
      subject.hardware,
      denseBaselineOf(subject.hardware),
    ]);
    const pairs: [Figures, Figures][] = [
      ...run!.layers.map((l, i): [Figures, Figures] => [l, baseline!.layers[i]!]),
      [run!.total, baseline!.total],
    ];
    for (const [f, base] of pairs) {
      expectLaw(
        f.baselineCycles === base.cycles && f.baselineComputeCycles === base.computeCycles,
        () =>
          `${label(f)}: baseline ${f.baselineCycles} cycles (${f.baselineComputeCycles} compute), the dense run took ${base.cycles} (${base.computeCycles})`,
      );
      expectLaw(
        f.baselineDramBytes === base.dramBytes,
        () => `${label(f)}: baseline DRAM ${f.baselineDramBytes} B, the dense run moved ${base.dramBytes} B`,
      );
      expectLaw(
        close(f.baselineEnergyPj, base.energyPj.total),
        () =>
          `${label(f)}: baseline energy ${f.baselineEnergyPj} pJ, the dense run ${base.energyPj.total} pJ`,
      );
      expectLaw(
        close(f.speedup, f.baselineCycles / Math.max(1, f.cycles)),
        () => `${label(f)}: speedup ${f.speedup} ≠ ${f.baselineCycles} / ${f.cycles}`,
      );
    }
  },
});
