import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../common/input-error.js';
import { PHYSICAL_RANGES, rangeProblem } from '../config/physical-ranges.js';
import { QUANTITY_UNIT } from '../config/units.js';
import type { HardwareModel } from '../core/hardware.js';
import { PRESET_NAMES, PRESETS } from '../core/presets.js';
import { OBJECTIVE_NAMES, type ObjectiveName } from './objectives.js';
import {
  type ParamDefinition,
  type ParamValue,
  SWEEP_PARAMETER_NAMES,
  SWEEP_PARAMETERS,
} from './parameters.js';
import { isQuantity, type RestrictedMath, restrictedMath } from './restricted-math.js';

/** A spec that cannot be run; names the spec file and the key. */
export class SweepSpecError extends InputError {}

export interface SweepWorkload {
  readonly kind: 'trace' | 'topology';
  /** Absolute path. */
  readonly path: string;
  /** As the spec wrote it. */
  readonly label: string;
  /** Topologies only: a GEMM file (Layer, M, N, K). */
  readonly gemm: boolean;
  /** sha256 of the file's bytes: results are keyed by content, not by path. */
  readonly contentHash: string;
}

export interface SweepParameter {
  readonly name: string;
  readonly values: readonly ParamValue[];
}

export type Sampling =
  | { readonly method: 'grid' }
  | { readonly method: 'random' | 'latin-hypercube'; readonly count: number };

export interface SweepConstraint {
  /** `constraints[2]`: where the spec wrote it. */
  readonly key: string;
  readonly text: string;
}

export interface SweepSpec {
  readonly source: string;
  readonly name: string;
  readonly seed: number;
  readonly base: HardwareModel;
  readonly workloads: readonly SweepWorkload[];
  readonly parameters: readonly SweepParameter[];
  readonly sampling: Sampling;
  readonly constraints: readonly SweepConstraint[];
  readonly objectives: readonly ObjectiveName[];
  /** Parameter the plot colours points by. */
  readonly colorBy?: string;
  /** The plot's x and y objectives (default latency, energy). */
  readonly plotAxes: readonly [ObjectiveName, ObjectiveName];
}

const TOP_KEYS = [
  'name',
  'seed',
  'hardware',
  'workloads',
  'parameters',
  'sampling',
  'constraints',
  'objectives',
  'plot',
] as const;

/** Points a spec may enumerate before constraints (a grid's product, or a sample count). */
export const SWEEP_POINTS_MAX = 1_000_000;
/** Values one parameter may take. */
const VALUES_MAX = 10_000;

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function loadSweepSpec(path: string, source = path): Promise<SweepSpec> {
  const { readInputText } = await import('../config/read-text.js');
  const { parseConfigDocument } = await import('../config/config-document.js');
  const fail = (key: string, rule: string): SweepSpecError => new SweepSpecError(source, key, rule);
  const text = await readInputText(path, (rule) => fail('', rule));
  let doc: unknown;
  try {
    doc = await parseConfigDocument(text, source);
  } catch (error) {
    if (error instanceof InputError) throw fail(error.location, error.rule);
    throw error;
  }
  return sweepSpecFromDocument(doc, { source, dir: dirname(path) });
}

/** Builds and checks a spec from a parsed document; relative paths resolve against `dir`. */
export async function sweepSpecFromDocument(
  doc: unknown,
  where: { readonly source: string; readonly dir: string },
): Promise<SweepSpec> {
  const { source, dir } = where;
  const fail = (key: string, rule: string): SweepSpecError => new SweepSpecError(source, key, rule);
  if (!isMapping(doc)) throw fail('', 'a sweep spec is a mapping (name, hardware, workloads, parameters…)');
  for (const key of Object.keys(doc)) {
    if (!(TOP_KEYS as readonly string[]).includes(key))
      throw fail(key, `unknown key (expected ${TOP_KEYS.join(', ')})`);
  }
  const name = doc.name === undefined ? 'sweep' : doc.name;
  if (typeof name !== 'string' || name.length === 0) throw fail('name', 'must be a non-empty string');
  const seed = doc.seed === undefined ? 1 : doc.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw fail('seed', 'must be an integer ≥ 0');
  const base = await loadBase(doc.hardware, dir, fail);
  const workloads = await loadWorkloads(doc.workloads, dir, fail);
  const math = await restrictedMath();
  if (!isMapping(doc.parameters) || Object.keys(doc.parameters).length === 0)
    throw fail('parameters', 'must map at least one parameter to its values');
  const parameters: SweepParameter[] = [];
  for (const [key, raw] of Object.entries(doc.parameters)) {
    const definition = SWEEP_PARAMETERS[key];
    if (!definition)
      throw fail(`parameters.${key}`, `unknown parameter (use ${SWEEP_PARAMETER_NAMES.join(', ')})`);
    parameters.push({ name: key, values: parameterValues(raw, definition, math, `parameters.${key}`, fail) });
  }
  const sampling = readSampling(doc.sampling, fail);
  const gridSize = parameters.reduce((n, p) => n * p.values.length, 1);
  if (sampling.method === 'grid' && gridSize > SWEEP_POINTS_MAX)
    throw fail('parameters', `the grid has ${gridSize} points, more than ${SWEEP_POINTS_MAX}`);
  const constraints = readConstraints(doc.constraints, fail);
  const objectives = readObjectives(doc.objectives, fail);
  let colorBy: string | undefined;
  let plotAxes: [ObjectiveName, ObjectiveName] = ['latency', 'energy'];
  if (doc.plot !== undefined) {
    if (!isMapping(doc.plot))
      throw fail('plot', 'must be a mapping (color: PARAMETER, x: OBJECTIVE, y: OBJECTIVE)');
    for (const key of Object.keys(doc.plot))
      if (key !== 'color' && key !== 'x' && key !== 'y')
        throw fail(`plot.${key}`, 'unknown key (expected color, x, y)');
    const color = doc.plot.color;
    if (color !== undefined) {
      if (typeof color !== 'string' || !parameters.some((p) => p.name === color))
        throw fail('plot.color', 'must name one of the swept parameters');
      colorBy = color;
    }
    plotAxes = [
      readPlotAxis(doc.plot.x, 'plot.x', 'latency', fail),
      readPlotAxis(doc.plot.y, 'plot.y', 'energy', fail),
    ];
    if (plotAxes[0] === plotAxes[1])
      throw fail('plot.y', `is the same objective as plot.x ("${plotAxes[0]}")`);
  }
  return {
    source,
    name,
    seed,
    base,
    workloads,
    parameters,
    sampling,
    constraints,
    objectives,
    ...(colorBy !== undefined ? { colorBy } : {}),
    plotAxes,
  };
}

async function loadBase(
  value: unknown,
  dir: string,
  fail: (key: string, rule: string) => SweepSpecError,
): Promise<HardwareModel> {
  if (value === undefined) return PRESETS['sparten-like']!;
  if (typeof value !== 'string' || value.length === 0)
    throw fail('hardware', `must be a preset (${PRESET_NAMES.join(', ')}) or a hardware file`);
  const preset = PRESETS[value];
  if (preset) return preset;
  if (!/\.(ya?ml|json)$/i.test(value))
    throw fail(
      'hardware',
      `"${value}" is neither a preset (${PRESET_NAMES.join(', ')}) nor a .yaml/.json file`,
    );
  const { loadHardwareFile } = await import('../config/hardware-file.js');
  return loadHardwareFile(resolve(dir, value), value);
}

async function loadWorkloads(
  value: unknown,
  dir: string,
  fail: (key: string, rule: string) => SweepSpecError,
): Promise<SweepWorkload[]> {
  if (!Array.isArray(value) || value.length === 0)
    throw fail('workloads', 'must list at least one workload ({trace: FILE} or {topology: FILE})');
  const workloads: SweepWorkload[] = [];
  for (const [i, item] of value.entries()) {
    const key = `workloads[${i}]`;
    if (!isMapping(item)) throw fail(key, 'must be {trace: FILE} or {topology: FILE, gemm: BOOL}');
    const kinds = (['trace', 'topology'] as const).filter((k) => item[k] !== undefined);
    if (kinds.length !== 1) throw fail(key, 'needs exactly one of trace, topology');
    const kind = kinds[0]!;
    for (const k of Object.keys(item))
      if (k !== kind && !(kind === 'topology' && k === 'gemm'))
        throw fail(`${key}.${k}`, `unknown key for a ${kind} workload`);
    const label = item[kind];
    if (typeof label !== 'string' || label.length === 0) throw fail(`${key}.${kind}`, 'must be a file path');
    const gemm = item.gemm === undefined ? false : item.gemm;
    if (typeof gemm !== 'boolean') throw fail(`${key}.gemm`, 'must be true or false');
    const path = resolve(dir, label);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw fail(
        `${key}.${kind}`,
        `cannot read "${label}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const contentHash = createHash('sha256').update(bytes).digest('hex');
    workloads.push({ kind, path, label, gemm, contentHash });
  }
  return workloads;
}

/** A parameter's values: a list, one value, or an expression ("2.^(3:6)", "[32, 64] KiB"). */
function parameterValues(
  raw: unknown,
  definition: ParamDefinition,
  math: RestrictedMath,
  key: string,
  fail: (key: string, rule: string) => SweepSpecError,
): ParamValue[] {
  const kind = definition.kind;
  const items: { value: unknown; key: string }[] = [];
  const expand = (value: unknown, itemKey: string): void => {
    if (
      typeof value === 'string' &&
      kind.type !== 'enum' &&
      !(kind.type === 'int' && value === 'unbounded')
    ) {
      let result: unknown;
      try {
        result = math.evaluate(value);
      } catch (error) {
        throw fail(itemKey, `"${value}" does not evaluate: ${(error as Error).message}`);
      }
      const flat = Array.isArray(result) ? (result as unknown[]).flat(Number.POSITIVE_INFINITY) : [result];
      for (const v of flat) items.push({ value: v, key: itemKey });
      return;
    }
    items.push({ value, key: itemKey });
  };
  if (Array.isArray(raw)) for (const [i, v] of raw.entries()) expand(v, `${key}[${i}]`);
  else expand(raw, key);
  if (items.length === 0) throw fail(key, 'has no values');
  if (items.length > VALUES_MAX) throw fail(key, `has ${items.length} values, more than ${VALUES_MAX}`);
  const values: ParamValue[] = [];
  for (const { value, key: itemKey } of items) {
    const v = checkValue(value, definition, itemKey, fail);
    if (!values.includes(v)) values.push(v);
  }
  return values;
}

function checkValue(
  value: unknown,
  definition: ParamDefinition,
  key: string,
  fail: (key: string, rule: string) => SweepSpecError,
): ParamValue {
  const kind = definition.kind;
  const shown = isQuantity(value) ? value.text : JSON.stringify(value);
  switch (kind.type) {
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value))
        throw fail(key, `${shown} is not one of ${kind.values.join(', ')}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail(key, `${shown} is not true or false`);
      return value;
    case 'int':
      if (kind.unbounded && value === 'unbounded') return value;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < kind.min)
        throw fail(
          key,
          `${shown} is not an integer ≥ ${kind.min}${kind.unbounded ? ' (or "unbounded")' : ''}`,
        );
      return value;
    case 'quantity': {
      const range = PHYSICAL_RANGES[kind.range];
      const unit = QUANTITY_UNIT[range.kind];
      if (!isQuantity(value))
        throw fail(key, `${shown} needs a unit convertible to ${unit} (e.g. "${exampleOf(unit)}")`);
      let n: number;
      try {
        n = value.to(unit);
      } catch {
        throw fail(key, `bad unit: ${shown} is not convertible to ${unit}`);
      }
      const problem = rangeProblem(n, kind.range);
      if (problem) throw fail(key, `${shown}: ${problem}`);
      return n;
    }
  }
}

function exampleOf(unit: string): string {
  return unit === 'Hz' ? '800 MHz' : unit === 'B' ? '64 KiB' : '16 B/cycle';
}

function readSampling(value: unknown, fail: (key: string, rule: string) => SweepSpecError): Sampling {
  if (value === undefined || value === 'grid') return { method: 'grid' };
  if (!isMapping(value))
    throw fail('sampling', 'must be grid, or {method: random | latin-hypercube, count: N}');
  for (const key of Object.keys(value))
    if (key !== 'method' && key !== 'count')
      throw fail(`sampling.${key}`, 'unknown key (expected method, count)');
  const method = value.method;
  if (method === 'grid') {
    if (value.count !== undefined) throw fail('sampling.count', 'a grid has no count');
    return { method };
  }
  if (method !== 'random' && method !== 'latin-hypercube')
    throw fail('sampling.method', 'must be grid, random or latin-hypercube');
  const count = value.count;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > SWEEP_POINTS_MAX)
    throw fail('sampling.count', `must be an integer in 1..${SWEEP_POINTS_MAX}`);
  return { method, count };
}

function readConstraints(
  value: unknown,
  fail: (key: string, rule: string) => SweepSpecError,
): SweepConstraint[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw fail('constraints', 'must be a list of expressions, e.g. "area <= 4 mm^2"');
  return value.map((text, i) => {
    if (typeof text !== 'string' || text.trim() === '')
      throw fail(`constraints[${i}]`, 'must be an expression, e.g. "area <= 4 mm^2"');
    return { key: `constraints[${i}]`, text };
  });
}

/** A plot axis: one of the objectives (any of them, whether or not the spec optimises it). */
export function readPlotAxis(
  value: unknown,
  key: string,
  fallback: ObjectiveName,
  fail: (key: string, rule: string) => InputError,
): ObjectiveName {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(OBJECTIVE_NAMES as readonly string[]).includes(value))
    throw fail(key, `must be one of ${OBJECTIVE_NAMES.join(', ')}`);
  return value as ObjectiveName;
}

function readObjectives(
  value: unknown,
  fail: (key: string, rule: string) => SweepSpecError,
): ObjectiveName[] {
  if (value === undefined) return ['latency', 'energy'];
  if (!Array.isArray(value) || value.length < 2 || value.length > 3)
    throw fail('objectives', `must list 2 or 3 of ${OBJECTIVE_NAMES.join(', ')}`);
  const names: ObjectiveName[] = [];
  for (const [i, name] of value.entries()) {
    if (typeof name !== 'string' || !(OBJECTIVE_NAMES as readonly string[]).includes(name))
      throw fail(`objectives[${i}]`, `must be one of ${OBJECTIVE_NAMES.join(', ')}`);
    if (names.includes(name as ObjectiveName)) throw fail(`objectives[${i}]`, `"${name}" is listed twice`);
    names.push(name as ObjectiveName);
  }
  return names;
}
