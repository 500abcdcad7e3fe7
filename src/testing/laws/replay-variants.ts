/**
 * Laws compare the subject's hardware with variants of it on the same trace: the trace file is
 * written once and each variant replayed on it through the subject's engine.
 */
import type { HardwareModel, OperandSupport, OperandSupports } from '../../core/hardware.js';
import type { Report } from '../../core/report.js';
import { withTraceFile } from '../engine.js';
import type { InMemoryTrace } from '../trace.js';
import type { Subject } from './law.js';

export async function replayVariants(
  subject: Subject,
  trace: InMemoryTrace,
  variants: readonly HardwareModel[],
): Promise<Report[]> {
  return withTraceFile(trace, async (path) => {
    const reports: Report[] = [];
    for (const hw of variants) reports.push(await subject.engine.replay(path, hw));
    return reports;
  });
}

/** `hw` with every operand support mapped through `f`. */
export function mapSupport(hw: HardwareModel, f: (s: OperandSupport) => OperandSupport): HardwareModel {
  // Spread first: the N:M pattern (support.nm) travels with the variant.
  const support: OperandSupports = {
    ...hw.support,
    activations: f(hw.support.activations),
    weights: hw.support.weights === 'nm' ? 'nm' : f(hw.support.weights),
    deltas: f(hw.support.deltas),
  };
  return { ...hw, support };
}

/** The figures a law names a layer by in its message. */
export function where(report: Report, index: number): string {
  const layer = report.layers[index];
  return layer ? `layer ${layer.name} (${layer.op})` : 'total';
}
