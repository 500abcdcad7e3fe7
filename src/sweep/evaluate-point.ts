import { areaOf } from '../core/area.js';
import { collectRun, simulateDense } from '../core/dense-engine.js';
import type { HardwareModel } from '../core/hardware.js';
import { type LoweredLayer, lowerTopology } from '../core/lowering.js';
import type { Report } from '../core/report.js';
import { modelDenseLayer } from '../core/sparse/dense-workload.js';
import type { Metrics } from './objectives.js';

/** What a worker needs to run one job: plain data (it crosses a thread, or a Redis queue). */
export interface PointTask {
  readonly hardware: HardwareModel;
  readonly workload: PointWorkload;
  readonly toolVersion: string;
}

/** A job's workload as it crosses to a worker: what file to read, and how. */
export interface PointWorkload {
  readonly kind: 'trace' | 'topology';
  readonly path: string;
  readonly label: string;
  readonly gemm: boolean;
}

/**
 * Lowered topologies by path and kind: a worker runs many designs on the same few workloads. The
 * promise is kept, so a design arriving while `prepareWorkloads` lowers the file waits for that.
 */
const topologies = new Map<string, Promise<readonly LoweredLayer[]>>();

function loweredTopology(path: string, label: string, gemm: boolean): Promise<readonly LoweredLayer[]> {
  const cacheKey = `${gemm ? 'gemm' : 'conv'} ${path}`;
  let lowered = topologies.get(cacheKey);
  if (!lowered) {
    const kind = gemm ? 'gemm' : 'conv';
    lowered = import('../config/topology.js').then(async ({ loadTopology }) =>
      lowerTopology(await loadTopology(path, kind, label), kind),
    );
    topologies.set(cacheKey, lowered);
    // A file that fails to load is not remembered: the next design reports the same error.
    lowered.catch(() => {
      if (topologies.get(cacheKey) === lowered) topologies.delete(cacheKey);
    });
  }
  return lowered;
}

/** The modules a trace design runs (loaded on the first one, or by `prepareWorkloads`). */
const traceModules = () =>
  Promise.all([
    import('../replay/replay-trace.js'),
    import('../replay/replay-driver.js'),
    import('./trace-cache.js'),
  ]);

/**
 * Everything a thread does before its first design that depends on the workloads alone: the
 * replay's modules loaded, each trace opened (headers, manifest checks) and kept open, each
 * topology read and lowered. A pool runs it on every thread while the main thread is still busy
 * before the first design (enumeration, keys, the database), so a design pays only its own work.
 * Failures are left for the designs themselves to report.
 */
export async function prepareWorkloads(workloads: readonly PointWorkload[]): Promise<void> {
  await Promise.allSettled(
    workloads.map(async (workload) => {
      if (workload.kind === 'topology') {
        await loweredTopology(workload.path, workload.label, workload.gemm);
        return;
      }
      const [, , { withCachedTrace }] = await traceModules();
      await withCachedTrace(workload.path, async () => undefined);
    }),
  );
}

/** The report `replay` (a trace) or `simulate` (a topology, dense timing through the replay memory model) gives. */
async function reportOf(task: PointTask): Promise<Report> {
  const { hardware: hw, workload, toolVersion } = task;
  if (workload.kind === 'topology') {
    const lowered = await loweredTopology(workload.path, workload.label, workload.gemm);
    return collectRun(
      simulateDense(lowered, {
        array: hw.array,
        dataflow: hw.dataflow,
        precision: hw.precision,
        energyTable: hw.energy,
        clockHz: hw.clockHz,
        hardwareName: hw.name,
        toolVersion,
        sources: [workload.label],
        layerModel: (layer) => modelDenseLayer(layer, hw),
      }),
    ).report;
  }
  const [{ replayTrace }, { labelled }, { withCachedTrace }] = await traceModules();
  // What `replay` runs for one trace on one design, on the trace this thread keeps open and checked.
  const { report } = await withCachedTrace(workload.path, (trace) =>
    replayTrace(labelled(trace.reader, workload.label), {
      hardware: hw,
      toolVersion,
      verify: false,
      histogramBins: 0,
      onEvent: () => {},
      checkedMask: trace.checkedMask,
    }),
  );
  return report;
}

/** One design on one workload → its figures. Deterministic: the same task gives the same numbers. */
export async function evaluatePoint(task: PointTask): Promise<Metrics> {
  const { total } = await reportOf(task);
  const latencySeconds = total.cycles / task.hardware.clockHz;
  const energyPj = total.energyPj.total;
  return {
    cycles: total.cycles,
    baselineCycles: total.baselineCycles,
    stallCycles: total.stallCycles,
    macs: total.macs,
    executedMacs: total.executedMacs,
    computeCycles: total.computeCycles,
    baselineComputeCycles: total.baselineComputeCycles,
    speedup: total.speedup,
    computeSpeedup: total.computeSpeedup,
    latencySeconds,
    energyPj,
    baselineEnergyPj: total.baselineEnergyPj,
    edpPjSeconds: energyPj * latencySeconds,
    pjPerMac: total.macs > 0 ? energyPj / total.macs : 0,
    dramBytes: total.dramBytes,
    areaMm2: areaOf(task.hardware).total,
    utilization: total.utilization,
  };
}
