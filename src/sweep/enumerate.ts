import { createHash } from 'node:crypto';
import { createPrng, type Prng } from '../common/prng.js';
import { type AreaMm2, areaOf } from '../core/area.js';
import { type HardwareModel, hardwareProblems } from '../core/hardware.js';
import { hardwareForPoint, type ParamValue, SWEEP_PARAMETERS } from './parameters.js';
import { restrictedMath } from './restricted-math.js';
import { type SweepParameter, type SweepSpec, SweepSpecError, type SweepWorkload } from './spec.js';

/** One design: the base hardware with the point's values. */
export interface DesignPoint {
  /** Position in the enumeration (grid order or sample order), stable across shards and runs. */
  readonly index: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly hardware: HardwareModel;
  readonly area: AreaMm2;
}

/** One unit of work: a design on a workload, keyed by content. */
export interface SweepJob {
  readonly key: string;
  readonly point: DesignPoint;
  readonly workloadIndex: number;
  readonly workload: SweepWorkload;
}

export interface Enumeration {
  /** Designs that passed the constraints, in enumeration order. */
  readonly points: readonly DesignPoint[];
  /** Designs enumerated before constraints and de-duplication. */
  readonly enumerated: number;
  readonly rejectedByConstraints: number;
}

/** Value indices of every grid point, the last parameter varying fastest. */
function* gridIndices(parameters: readonly SweepParameter[]): Generator<number[]> {
  const sizes = parameters.map((p) => p.values.length);
  const total = sizes.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    const idx = new Array<number>(sizes.length);
    let rest = n;
    for (let j = sizes.length - 1; j >= 0; j--) {
      idx[j] = rest % sizes[j]!;
      rest = Math.floor(rest / sizes[j]!);
    }
    yield idx;
  }
}

function shuffled(n: number, prng: Prng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Latin hypercube over the parameters' value lists: each parameter's [0, 1) is cut into `count`
 * strata, every stratum is used exactly once per parameter, and the strata are paired at random
 * (McKay, Beckman & Conover, 1979); a stratum maps to the value whose share of [0, 1) holds it.
 */
function latinHypercubeIndices(parameters: readonly SweepParameter[], count: number, prng: Prng): number[][] {
  const columns = parameters.map((p) => {
    const order = shuffled(count, prng);
    return order.map((stratum) => Math.floor(((stratum + prng.next()) / count) * p.values.length));
  });
  return Array.from({ length: count }, (_, i) => columns.map((c) => c[i]!));
}

export function sampleIndices(spec: Pick<SweepSpec, 'parameters' | 'sampling' | 'seed'>): Iterable<number[]> {
  const { parameters, sampling } = spec;
  if (sampling.method === 'grid') return gridIndices(parameters);
  const prng = createPrng(spec.seed);
  if (sampling.method === 'latin-hypercube') return latinHypercubeIndices(parameters, sampling.count, prng);
  return Array.from({ length: sampling.count }, () => parameters.map((p) => prng.int(p.values.length)));
}

/** Parameter values as constraint expressions see them: quantities with their units, dotted keys nested. */
function constraintScope(
  point: { params: Readonly<Record<string, ParamValue>>; hardware: HardwareModel; area: AreaMm2 },
  unit: (v: number, u: string) => unknown,
): Record<string, unknown> {
  const scope: Record<string, unknown> = {
    area: unit(point.area.total, 'mm^2'),
    rows: point.hardware.array.rows,
    cols: point.hardware.array.cols,
    pes: point.hardware.array.rows * point.hardware.array.cols,
  };
  for (const [key, value] of Object.entries(point.params)) {
    const kind = SWEEP_PARAMETERS[key]!.kind;
    const shown =
      kind.type === 'quantity' && typeof value === 'number'
        ? unit(value, kind.range === 'clock' ? 'Hz' : kind.range === 'size' ? 'B' : 'B/cycle')
        : value;
    const parts = key.split('.');
    let node = scope;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = shown;
  }
  return scope;
}

/** Every design point of the spec that passes its constraints (each distinct design once). */
export async function enumeratePoints(spec: SweepSpec): Promise<Enumeration> {
  const math = spec.constraints.length > 0 ? await restrictedMath() : undefined;
  const points: DesignPoint[] = [];
  const seen = new Set<string>();
  let enumerated = 0;
  let rejected = 0;
  for (const idx of sampleIndices(spec)) {
    const index = enumerated++;
    const params: Record<string, ParamValue> = {};
    spec.parameters.forEach((p, j) => {
      params[p.name] = p.values[idx[j]!]!;
    });
    const identity = JSON.stringify(params);
    if (seen.has(identity)) continue;
    seen.add(identity);
    const hardware = hardwareForPoint(spec.base, params, `${spec.name}#${index}`);
    const problem = hardwareProblems(hardware)[0];
    if (problem)
      throw new SweepSpecError(
        spec.source,
        'parameters',
        `point #${index} (${JSON.stringify(params)}): ${problem[0]} ${problem[1]}`,
      );
    const area = areaOf(hardware);
    if (math) {
      const scope = constraintScope({ params, hardware, area }, math.quantity);
      let pass = true;
      for (const constraint of spec.constraints) {
        let verdict: unknown;
        try {
          verdict = math.evaluate(constraint.text, scope);
        } catch (error) {
          throw new SweepSpecError(
            spec.source,
            constraint.key,
            `"${constraint.text}" does not evaluate: ${(error as Error).message}`,
          );
        }
        if (typeof verdict !== 'boolean')
          throw new SweepSpecError(
            spec.source,
            constraint.key,
            `"${constraint.text}" is not a comparison (true or false)`,
          );
        if (!verdict) pass = false;
      }
      if (!pass) {
        rejected++;
        continue;
      }
    }
    points.push({ index, params, hardware, area });
  }
  return { points, enumerated, rejectedByConstraints: rejected };
}

/**
 * JSON with sorted keys and Infinity spelled out: one text per value, whatever the key order.
 * `texts` keeps the text of objects already written: the points of a sweep share most of their
 * hardware's parts (energy table, vector unit…) with the base, so each is written once per space.
 */
export function canonicalJson(value: unknown, texts?: WeakMap<object, string>): string {
  if (typeof value === 'number')
    return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const known = texts?.get(value);
  if (known !== undefined) return known;
  let text: string;
  if (Array.isArray(value)) text = `[${value.map((v) => canonicalJson(v, texts)).join(',')}]`;
  else {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, texts)}`).join(',')}}`;
  }
  texts?.set(value, text);
  return text;
}

/**
 * The content key of a result: the design (the full hardware, not its name), the workload's bytes and
 * how it is read, and the simulator version. Same key, same figures: a result is computed once.
 */
export function jobKey(
  hardware: HardwareModel,
  workload: SweepWorkload,
  toolVersion: string,
  texts?: WeakMap<object, string>,
): string {
  const { name: _name, ...design } = hardware;
  const text = canonicalJson(
    {
      design,
      workload: { kind: workload.kind, gemm: workload.gemm, sha256: workload.contentHash },
      toolVersion,
    },
    texts,
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** The jobs of every point (or of one shard's points: index mod count), point-major. */
export function jobsOf(
  points: readonly DesignPoint[],
  workloads: readonly SweepWorkload[],
  toolVersion: string,
  shard?: ShardSpec,
): SweepJob[] {
  const jobs: SweepJob[] = [];
  // Parts of the designs are shared objects, never changed once enumerated: their text is kept.
  const texts = new WeakMap<object, string>();
  for (const point of points) {
    if (shard && point.index % shard.count !== shard.index) continue;
    workloads.forEach((workload, workloadIndex) => {
      jobs.push({
        key: jobKey(point.hardware, workload, toolVersion, texts),
        point,
        workloadIndex,
        workload,
      });
    });
  }
  return jobs;
}
