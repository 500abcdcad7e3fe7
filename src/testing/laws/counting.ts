/** Laws on MAC counts: the engine's executed / gated / skipped figures against their definition. */
import fc from 'fast-check';
import { type NmPattern, skipsAnything } from '../../core/hardware.js';
import type { SparseLayerSpec } from '../../core/sparse/layer-lowering.js';
import { nmKeptK } from '../../core/sparse/structured-weights.js';
import { tensorName } from '../../trace/manifest.js';
import { type BruteCounts, bruteForceCounts, keepsNmPattern } from '../brute-force.js';
import { arbitraryTraceFor, describeTrace, type InMemoryTrace } from '../trace.js';
import { defineLaw, expectLaw, type Subject } from './law.js';
import { replayVariants } from './replay-variants.js';

const nonZero = (values: Float32Array): Uint8Array => Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));

/**
 * Per layer, the brute-force counts of the whole trace under the replay's operand rule
 * (docs/model.md): in delta mode a layer with a static weight runs on Δ — its stored `delta`
 * tensors, or the change of consecutive inputs — and a key step (or a new sequence) on q itself.
 *
 * N:M structured weights (`support.weights: nm`, docs/testing.md): a static weight whose every
 * group of M along K holds at most N non-zeros runs only the kept slots of each group — per step
 * and GEMM, M·N·K' MACs executed with K' = N per full group and min(N, size) for a last partial one,
 * the rest skipped as zero weights, no A-operand skipping, gating or structural skip on that path.
 * A weight with one group over N falls back, the whole layer, to element-wise counting with no
 * weight support (a library's dense kernel).
 */
export function bruteForceTrace(
  subject: Subject,
  trace: InMemoryTrace,
): { counts: BruteCounts; zeroDelta: number; zeroActivation: number }[] {
  const hw = subject.hardware;
  const { layers, steps } = trace.manifest;
  const structuralSkip = skipsAnything(hw);
  return layers.map((layer) => {
    const bOperand = layer.roles.includes('weight') ? 'weight' : 'rhs';
    const storedDeltas = layer.roles.includes('delta');
    const delta = hw.deltaMode && bOperand === 'weight' && (storedDeltas || steps.length > 1);
    const policy = {
      aSupport: delta ? hw.support.deltas : hw.support.activations,
      bSupport:
        bOperand === 'rhs'
          ? hw.support.activations
          : hw.support.weights === 'nm'
            ? ('none' as const)
            : hw.support.weights,
      structuralSkip,
    };
    const nm = bOperand === 'weight' && hw.support.weights === 'nm' ? hw.support.nm : undefined;
    const weightBits =
      bOperand === 'weight'
        ? nonZero(trace.tensors.get(tensorName(layer.name, 'weight'))!.values)
        : undefined;
    const structured = nm !== undefined && keepsNmPattern(layer, weightBits!, nm);
    const sum: BruteCounts = { executed: 0, gated: 0, zeroA: 0, zeroB: 0, structural: 0 };
    let zeroDelta = 0;
    let zeroActivation = 0;
    let previous: Float32Array | undefined;
    for (const step of steps) {
      const t = step.index;
      const key = step.keyFrame || t === 0 || steps[t - 1]!.sequence !== step.sequence;
      const q = trace.tensors.get(tensorName(layer.name, 'input', t))!.values;
      let a: Uint8Array;
      if (delta && storedDeltas) a = nonZero(trace.tensors.get(tensorName(layer.name, 'delta', t))!.values);
      else if (delta)
        a = key || !previous ? nonZero(q) : Uint8Array.from(q, (v, i) => (v !== previous![i] ? 1 : 0));
      else a = nonZero(q);
      previous = q;
      const b = weightBits ?? nonZero(trace.tensors.get(tensorName(layer.name, 'rhs', t))!.values);
      const c = structured ? structuredCounts(layer, nm!) : bruteForceCounts(layer, bOperand, a, b, policy);
      sum.executed += c.executed;
      sum.gated += c.gated;
      sum.zeroA += c.zeroA;
      sum.zeroB += c.zeroB;
      sum.structural += c.structural;
      if (delta && !key) zeroDelta += c.zeroA;
      else zeroActivation += c.zeroA;
    }
    return { counts: sum, zeroDelta, zeroActivation };
  });
}

/** One step of a layer on the N:M structured path: the kept slots execute, the rest are zero weights. */
function structuredCounts(layer: SparseLayerSpec, nm: NmPattern): BruteCounts {
  const { m, n, k } = layer.gemm;
  const executed = layer.gemmCount * m * n * nmKeptK(k, nm);
  const macs = layer.gemmCount * m * n * k;
  return { executed, gated: 0, zeroA: 0, zeroB: macs - executed, structural: 0 };
}

const smallTrace = (subject: Subject) => arbitraryTraceFor(subject.hardware, { maxLayers: 2, maxSteps: 3 });

export const executedEqualsBruteForce = defineLaw<InMemoryTrace>({
  name: 'executed-equals-brute-force',
  statement:
    'executed, gated and skipped MACs (by reason) of every layer equal a per-MAC brute force of the definition',
  arbitrary: smallTrace,
  describe: describeTrace,
  async check(subject, trace) {
    const [report] = await replayVariants(subject, trace, [subject.hardware]);
    const expected = bruteForceTrace(subject, trace);
    for (const [i, layer] of report!.layers.entries()) {
      const e = expected[i]!;
      const got = {
        executed: layer.executedMacs,
        gated: layer.gatedMacs,
        zeroActivation: layer.skippedMacs.zeroActivation,
        zeroDelta: layer.skippedMacs.zeroDelta,
        zeroWeight: layer.skippedMacs.zeroWeight,
        structural: layer.skippedMacs.structural,
      };
      const want = {
        executed: e.counts.executed,
        gated: e.counts.gated,
        zeroActivation: e.zeroActivation,
        zeroDelta: e.zeroDelta,
        zeroWeight: e.counts.zeroB,
        structural: e.counts.structural,
      };
      expectLaw(
        fc.stringify(got) === fc.stringify(want),
        () =>
          `layer ${layer.name} (${layer.op}): engine ${fc.stringify(got)}, brute force ${fc.stringify(want)}`,
      );
    }
  },
});

export const executedPlusSkippedEqualsMacs = defineLaw<InMemoryTrace>({
  name: 'executed-plus-skipped-equals-macs',
  statement:
    'per layer and in total, executed + skipped = MACs = steps × GEMMs × M·N·K, 0 ≤ gated ≤ executed, and totals are the sums of the layers',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const [report] = await replayVariants(subject, trace, [subject.hardware]);
    const steps = trace.manifest.steps.length;
    const sums = { macs: 0, executed: 0, gated: 0, skipped: 0 };
    for (const [i, layer] of report!.layers.entries()) {
      const spec = trace.manifest.layers[i]!;
      const s = layer.skippedMacs;
      const skipped = s.zeroActivation + s.zeroWeight + s.zeroDelta + s.structural;
      const macs = steps * spec.gemmCount * spec.gemm.m * spec.gemm.n * spec.gemm.k;
      expectLaw(layer.macs === macs, () => `layer ${layer.name}: macs ${layer.macs}, geometry gives ${macs}`);
      expectLaw(
        layer.executedMacs + skipped === layer.macs,
        () => `layer ${layer.name}: executed ${layer.executedMacs} + skipped ${skipped} ≠ macs ${layer.macs}`,
      );
      expectLaw(
        layer.gatedMacs >= 0 && layer.gatedMacs <= layer.executedMacs,
        () => `layer ${layer.name}: gated ${layer.gatedMacs} outside [0, executed ${layer.executedMacs}]`,
      );
      sums.macs += layer.macs;
      sums.executed += layer.executedMacs;
      sums.gated += layer.gatedMacs;
      sums.skipped += skipped;
    }
    const t = report!.total;
    const totalSkipped =
      t.skippedMacs.zeroActivation +
      t.skippedMacs.zeroWeight +
      t.skippedMacs.zeroDelta +
      t.skippedMacs.structural;
    const got = { macs: t.macs, executed: t.executedMacs, gated: t.gatedMacs, skipped: totalSkipped };
    expectLaw(
      fc.stringify(got) === fc.stringify(sums),
      () => `total ${fc.stringify(got)} ≠ sum of layers ${fc.stringify(sums)}`,
    );
  },
});
