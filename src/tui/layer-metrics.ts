import type { SkippedMacs } from '../core/report.js';
import type { LayerRow } from './dashboard-state.js';

/** Derived per-layer figures the table shows and sorts by; undefined until the layer is done. */
export function executedShare(report: { macs: number; executedMacs: number }): number {
  return report.macs === 0 ? 0 : report.executedMacs / report.macs;
}

/** Same-memory speedup: the dense baseline's cycles over this hardware's, memory included in both. */
export function speedup(report: { cycles: number; baselineCycles: number }): number {
  return report.cycles === 0 ? Number.NaN : report.baselineCycles / report.cycles;
}

/** Compute-only speedup: the array alone, no memory in either figure. */
export function computeSpeedup(report: { computeCycles: number; baselineComputeCycles: number }): number {
  return report.computeCycles === 0 ? Number.NaN : report.baselineComputeCycles / report.computeCycles;
}

export function pjPerMac(report: { macs: number; energyPj: { total: number } }): number {
  return report.macs === 0 ? Number.NaN : report.energyPj.total / report.macs;
}

export const SKIP_REASONS: readonly (keyof SkippedMacs)[] = [
  'zeroActivation',
  'zeroWeight',
  'zeroDelta',
  'structural',
];

export function skippedTotal(skipped: SkippedMacs): number {
  return SKIP_REASONS.reduce((sum, reason) => sum + skipped[reason], 0);
}

/** Reasons that skipped anything in some layer: the table shows a column only for those. */
export function activeSkipReasons(rows: readonly LayerRow[]): readonly (keyof SkippedMacs)[] {
  return SKIP_REASONS.filter((reason) => rows.some((row) => (row.report?.skippedMacs[reason] ?? 0) > 0));
}

export type SortKey = 'order' | 'cycles' | 'speedup' | 'energy' | 'executed' | 'pjPerMac' | 'macs';

/** The order `s` cycles through; the first is the run's own layer order. */
export const SORT_KEYS: readonly SortKey[] = [
  'order',
  'cycles',
  'speedup',
  'energy',
  'executed',
  'pjPerMac',
  'macs',
];

export const SORT_LABELS: Readonly<Record<SortKey, string>> = {
  order: 'layer order',
  cycles: 'cycles ↓',
  speedup: 'speedup ↓',
  energy: 'energy ↓',
  executed: 'executed % ↑',
  pjPerMac: 'pJ/MAC ↓',
  macs: 'MACs ↓',
};

export function nextSortKey(key: SortKey): SortKey {
  const at = SORT_KEYS.indexOf(key);
  return SORT_KEYS[(at + 1) % SORT_KEYS.length] ?? 'order';
}

/**
 * Sort value of a row: bigger sorts first, except `executed` (smallest first: the sparsest layers are
 * the interesting ones). Rows not finished yet have no value and go last, in layer order.
 */
function sortValue(row: LayerRow, key: SortKey): number | undefined {
  if (key === 'order') return -row.index;
  if (key === 'macs') return row.macs;
  const report = row.report;
  if (!report) return undefined;
  switch (key) {
    case 'cycles':
      return report.cycles;
    case 'speedup':
      return speedup(report);
    case 'energy':
      return report.energyPj.total;
    case 'executed':
      return -executedShare(report);
    case 'pjPerMac':
      return pjPerMac(report);
  }
}

export function sortRows(rows: readonly LayerRow[], key: SortKey): readonly LayerRow[] {
  return [...rows].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    const aMissing = va === undefined || Number.isNaN(va);
    const bMissing = vb === undefined || Number.isNaN(vb);
    if (aMissing || bMissing) return aMissing === bMissing ? a.index - b.index : aMissing ? 1 : -1;
    return vb - va || a.index - b.index;
  });
}
