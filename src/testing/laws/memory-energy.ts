/** Laws on DRAM traffic and energy. */
import { ENERGY_COMPONENTS, type EnergyPj, type LayerReport, type ReportTotal } from '../../core/report.js';
import { arbitraryTraceFor, describeTrace, type InMemoryTrace } from '../trace.js';
import { close, defineLaw, expectLaw } from './law.js';
import { replayVariants } from './replay-variants.js';

export const residencyNeverAddsDram = defineLaw<InMemoryTrace>({
  name: 'residency-never-adds-dram',
  statement:
    'keeping weights resident never adds DRAM bytes: an unbounded filter buffer moves no more than the given one, layer-major no more than frame-major, and saved bytes are ≥ 0',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware, { maxSteps: 5 }),
  describe: describeTrace,
  async check(subject, trace) {
    const hw = subject.hardware;
    const [given, unbounded, frameMajor, layerMajor] = await replayVariants(subject, trace, [
      hw,
      { ...hw, sram: { ...hw.sram, filterBytes: Number.POSITIVE_INFINITY } },
      { ...hw, schedule: 'frame-major' },
      { ...hw, schedule: 'layer-major' },
    ]);
    for (const [i, g] of given!.layers.entries()) {
      const u = unbounded!.layers[i]!;
      const f = frameMajor!.layers[i]!;
      const l = layerMajor!.layers[i]!;
      const at = `layer ${g.name} (${g.op})`;
      expectLaw(
        u.dramBytes <= g.dramBytes,
        () => `${at}: ${g.dramBytes} DRAM bytes as given, ${u.dramBytes} with an unbounded filter buffer`,
      );
      expectLaw(
        l.dramBytes <= f.dramBytes,
        () => `${at}: ${f.dramBytes} DRAM bytes frame-major, ${l.dramBytes} layer-major`,
      );
      for (const r of [g, u, f, l])
        expectLaw(
          r.residentSavedDramBytes >= 0,
          () => `${at}: residentSavedDramBytes ${r.residentSavedDramBytes} < 0`,
        );
    }
  },
});

function componentSum(e: EnergyPj): number {
  let sum = 0;
  for (const key of ENERGY_COMPONENTS) sum += e[key] ?? 0;
  return sum;
}

export const energyNonNegativeAdditive = defineLaw<InMemoryTrace>({
  name: 'energy-nonnegative-additive',
  statement:
    'every energy component is finite and ≥ 0, a total is the sum of its components, and the report’s totals (by component) are the sums over layers',
  arbitrary: (subject) => arbitraryTraceFor(subject.hardware),
  describe: describeTrace,
  async check(subject, trace) {
    const [report] = await replayVariants(subject, trace, [subject.hardware]);
    const byComponent = new Map<string, number>();
    let layersTotal = 0;
    const figures: (LayerReport | ReportTotal)[] = [...report!.layers, report!.total];
    for (const f of figures) {
      const at = 'op' in f ? `layer ${f.name} (${f.op})` : 'total';
      for (const [key, value] of Object.entries(f.energyPj)) {
        expectLaw(Number.isFinite(value) && value >= 0, () => `${at}: energy ${key} = ${value} pJ`);
      }
      expectLaw(
        close(componentSum(f.energyPj), f.energyPj.total),
        () => `${at}: components sum to ${componentSum(f.energyPj)} pJ, total says ${f.energyPj.total} pJ`,
      );
      expectLaw(
        Number.isFinite(f.baselineEnergyPj) && f.baselineEnergyPj >= 0,
        () => `${at}: baselineEnergyPj ${f.baselineEnergyPj}`,
      );
    }
    for (const layer of report!.layers) {
      layersTotal += layer.energyPj.total;
      for (const key of ENERGY_COMPONENTS) {
        const v = layer.energyPj[key];
        if (v !== undefined) byComponent.set(key, (byComponent.get(key) ?? 0) + v);
      }
    }
    const total = report!.total.energyPj;
    expectLaw(
      close(total.total, layersTotal),
      () => `total energy ${total.total} pJ, layers sum to ${layersTotal} pJ`,
    );
    for (const key of ENERGY_COMPONENTS) {
      const sum = byComponent.get(key) ?? 0;
      expectLaw(
        close(total[key] ?? 0, sum),
        () => `total ${key} ${total[key] ?? 0} pJ, layers sum to ${sum} pJ`,
      );
    }
  },
});
