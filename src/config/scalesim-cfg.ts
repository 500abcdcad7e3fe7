import { basename, extname } from 'node:path';
import type { Dataflow } from '../core/array.js';
import type { HardwareModel } from '../core/hardware.js';
import { SCALESIM_DEFAULT } from '../core/presets.js';
import { ConfigError } from './config-error.js';
import { ARRAY_SIDE_MAX, PHYSICAL_RANGES } from './physical-ranges.js';
import { readInputText } from './read-text.js';

/**
 * A SCALE-Sim v2 `.cfg` (INI, read like Python's configparser: `key: value` or `key = value`,
 * keys case-insensitive, `#`/`;` comment lines). Keys we do not model (OnChipMemoryBanks,
 * [sparsity], [layout] …) are accepted and ignored, so SCALE-Sim's own files load as they are.
 */
export interface ScaleSimConfig {
  readonly runName?: string;
  readonly arrayRows: number;
  readonly arrayCols: number;
  /** SRAM sizes in SCALE-Sim's "kB", which it multiplies by 1024. */
  readonly ifmapSramKb: number;
  readonly filterSramKb: number;
  readonly ofmapSramKb: number;
  readonly ifmapOffset: number;
  readonly filterOffset: number;
  readonly ofmapOffset: number;
  readonly dataflow: Dataflow;
  /** Words per cycle per memory bank (`Bandwidth`, comma-separated). */
  readonly bandwidths: readonly number[];
  /** USER: the `Bandwidth` figures apply; CALC: SCALE-Sim estimates the bandwidth it needs. */
  readonly interfaceBandwidth: 'USER' | 'CALC';
}

interface IniEntry {
  readonly value: string;
  readonly line: number;
}
type IniSections = ReadonlyMap<string, ReadonlyMap<string, IniEntry>>;

/** INI text → sections → (lower-cased key → value with its 1-based line). */
export function parseIni(text: string, source: string): IniSections {
  const sections = new Map<string, Map<string, IniEntry>>();
  let current: Map<string, IniEntry> | undefined;
  let currentName = '';
  const lines = text.split(/\r\n|\r|\n/);
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      currentName = header[1]!.trim();
      if (sections.has(currentName))
        throw new ConfigError(source, `line ${lineNo}`, `section [${currentName}] appears twice`);
      current = new Map();
      sections.set(currentName, current);
      continue;
    }
    const colon = line.indexOf(':');
    const equals = line.indexOf('=');
    const cut = colon < 0 ? equals : equals < 0 ? colon : Math.min(colon, equals);
    if (cut <= 0)
      throw new ConfigError(source, `line ${lineNo}`, `expected "key: value" or a [section], got "${line}"`);
    if (!current) throw new ConfigError(source, `line ${lineNo}`, 'key before any [section] header');
    const key = line.slice(0, cut).trim().toLowerCase();
    if (current.has(key)) {
      throw new ConfigError(
        source,
        `line ${lineNo}, ${currentName}.${line.slice(0, cut).trim()}`,
        'key appears twice',
      );
    }
    current.set(key, { value: line.slice(cut + 1).trim(), line: lineNo });
  }
  return sections;
}

/** SCALE-Sim's SRAM sizes are in units of 1024 bytes: the size range (physical-ranges.ts) in those units. */
const SRAM_KB_MAX = PHYSICAL_RANGES.size.max / 1024;

const DEFAULTS = {
  ifmapSramKb: 64,
  filterSramKb: 64,
  ofmapSramKb: 64,
  ifmapOffset: 0,
  filterOffset: 10_000_000,
  ofmapOffset: 20_000_000,
} as const;

/** Parses a SCALE-Sim `.cfg`'s text. ArrayHeight, ArrayWidth and Dataflow are required. */
export function parseScaleSimConfig(text: string, source: string): ScaleSimConfig {
  const ini = parseIni(text, source);
  const get = (section: string, key: string): IniEntry | undefined =>
    ini.get(section)?.get(key.toLowerCase());
  const where = (section: string, key: string): string => {
    const entry = get(section, key);
    return entry ? `line ${entry.line}, ${section}.${key}` : `${section}.${key}`;
  };
  const integer = (section: string, key: string, min: number, max: number, fallback?: number): number => {
    const entry = get(section, key);
    if (!entry) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(source, where(section, key), 'missing');
    }
    if (!/^[+-]?\d+$/.test(entry.value)) {
      throw new ConfigError(source, where(section, key), `must be an integer, got "${entry.value}"`);
    }
    const n = Number(entry.value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(
        source,
        where(section, key),
        `must be an integer in ${min}..${max}, got ${entry.value}`,
      );
    }
    return n;
  };

  const dataflowEntry = get('architecture_presets', 'Dataflow');
  if (!dataflowEntry) throw new ConfigError(source, where('architecture_presets', 'Dataflow'), 'missing');
  const dataflow = dataflowEntry.value.toLowerCase();
  if (dataflow !== 'os' && dataflow !== 'ws' && dataflow !== 'is') {
    throw new ConfigError(
      source,
      where('architecture_presets', 'Dataflow'),
      `unknown dataflow "${dataflowEntry.value}" (use os, ws or is)`,
    );
  }

  const modeEntry = get('run_presets', 'InterfaceBandwidth');
  const mode = modeEntry?.value ?? 'CALC';
  if (mode !== 'USER' && mode !== 'CALC') {
    throw new ConfigError(
      source,
      where('run_presets', 'InterfaceBandwidth'),
      `must be USER or CALC, got "${mode}"`,
    );
  }

  const bandwidthEntry = get('architecture_presets', 'Bandwidth');
  const bandwidths: number[] = [];
  if (bandwidthEntry) {
    for (const part of bandwidthEntry.value.split(',')) {
      const t = part.trim();
      if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > PHYSICAL_RANGES.bandwidth.max) {
        throw new ConfigError(
          source,
          where('architecture_presets', 'Bandwidth'),
          `must be integers in 1..${PHYSICAL_RANGES.bandwidth.max} separated by commas, got "${bandwidthEntry.value}"`,
        );
      }
      bandwidths.push(Number(t));
    }
  } else if (mode === 'USER') {
    throw new ConfigError(
      source,
      where('architecture_presets', 'Bandwidth'),
      'missing (required with InterfaceBandwidth: USER)',
    );
  }

  const runName = get('general', 'run_name')?.value;
  return {
    ...(runName ? { runName } : {}),
    arrayRows: integer('architecture_presets', 'ArrayHeight', 1, ARRAY_SIDE_MAX),
    arrayCols: integer('architecture_presets', 'ArrayWidth', 1, ARRAY_SIDE_MAX),
    ifmapSramKb: integer('architecture_presets', 'IfmapSramSzkB', 1, SRAM_KB_MAX, DEFAULTS.ifmapSramKb),
    filterSramKb: integer('architecture_presets', 'FilterSramSzkB', 1, SRAM_KB_MAX, DEFAULTS.filterSramKb),
    ofmapSramKb: integer('architecture_presets', 'OfmapSramSzkB', 1, SRAM_KB_MAX, DEFAULTS.ofmapSramKb),
    ifmapOffset: integer(
      'architecture_presets',
      'IfmapOffset',
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULTS.ifmapOffset,
    ),
    filterOffset: integer(
      'architecture_presets',
      'FilterOffset',
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULTS.filterOffset,
    ),
    ofmapOffset: integer(
      'architecture_presets',
      'OfmapOffset',
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULTS.ofmapOffset,
    ),
    dataflow,
    bandwidths,
    interfaceBandwidth: mode,
  };
}

/**
 * A SCALE-Sim config as our hardware model: the scalesim-default preset (SCALE-Sim's own defaults,
 * plus what SCALE-Sim does not model: clock, energy) with the file's array, dataflow and SRAMs.
 * SCALE-Sim's words are one byte (its `word_size = 1`, so int8) and its "kB" is 1024 bytes. CALC
 * mode never stalls (unlimited DRAM bandwidth); USER mode's first `Bandwidth` figure is the DRAM's.
 */
export function scaleSimConfigToHardware(config: ScaleSimConfig, defaultName: string): HardwareModel {
  const firstBandwidth = config.bandwidths[0];
  return {
    ...SCALESIM_DEFAULT,
    name: config.runName ?? defaultName,
    array: { rows: config.arrayRows, cols: config.arrayCols },
    dataflow: config.dataflow,
    sram: {
      ...SCALESIM_DEFAULT.sram,
      ifmapBytes: config.ifmapSramKb * 1024,
      filterBytes: config.filterSramKb * 1024,
      ofmapBytes: config.ofmapSramKb * 1024,
    },
    ...(config.interfaceBandwidth === 'USER' && firstBandwidth !== undefined
      ? { dram: { bandwidthBytesPerCycle: firstBandwidth } }
      : {}),
  };
}

export async function loadScaleSimConfig(path: string, source = path): Promise<HardwareModel> {
  const text = await readInputText(path, (rule) => new ConfigError(source, '', rule));
  return scaleSimConfigToHardware(parseScaleSimConfig(text, source), basename(path, extname(path)));
}
