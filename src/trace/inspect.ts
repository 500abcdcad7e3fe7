import { largest } from '../common/extremes.js';
/**
 * `trace inspect`: what a trace holds, per layer, from its manifest and its masks alone (masks are
 * 1/32 of F32 values, so densities cost a fraction of a full read).
 */
import type { LayerOp, TensorRole, TraceManifest } from './manifest.js';
import { maskName, PER_STEP_ROLES, tensorName } from './manifest.js';
import { popcountMask } from './mask.js';
import { openTrace } from './reader.js';
import { elementCount } from './safetensors.js';

export interface LayerSummary {
  readonly name: string;
  readonly op: LayerOp;
  readonly gemm: { readonly m: number; readonly n: number; readonly k: number };
  readonly gemmCount: number;
  /** m·n·k × gemmCount × steps. */
  readonly macs: number;
  /** Non-zero fraction of `input` over all steps; null when the layer stores no input. */
  readonly activationDensity: number | null;
  readonly deltaDensity: number | null;
  readonly weightDensity: number | null;
  /** Stored bytes of the layer's tensors and masks. */
  readonly bytes: number;
}

export interface TraceSummary {
  readonly path: string;
  readonly files: readonly string[];
  readonly format: string;
  readonly version: number;
  readonly producer: string;
  readonly model: TraceManifest['model'];
  readonly seed: number;
  readonly steps: number;
  readonly keySteps: number;
  readonly sequences: number;
  readonly tensors: number;
  readonly valueDtypes: readonly string[];
  readonly macs: number;
  readonly bytes: number;
  readonly layers: readonly LayerSummary[];
}

export async function inspectTrace(path: string): Promise<TraceSummary> {
  const reader = await openTrace(path);
  try {
    const { manifest } = reader;
    const steps = manifest.steps.length;
    const dtypes = new Set<string>();
    const layers: LayerSummary[] = [];
    for (const layer of manifest.layers) {
      let bytes = 0;
      const density = async (role: TensorRole): Promise<number | null> => {
        if (!layer.roles.includes(role)) return null;
        const names = PER_STEP_ROLES.includes(role)
          ? manifest.steps.map((s) => tensorName(layer.name, role, s.index))
          : [tensorName(layer.name, role)];
        let nonZero = 0;
        let total = 0;
        for (const name of names) {
          const info = reader.info(name);
          dtypes.add(info.dtype);
          const n = elementCount(info.shape);
          nonZero += popcountMask(await reader.readMask(name, { transient: true }), n);
          total += n;
          bytes += info.bytes + reader.info(maskName(name)).bytes;
        }
        return total === 0 ? null : nonZero / total;
      };
      const activationDensity = await density('input');
      const deltaDensity = await density('delta');
      const weightDensity = await density('weight');
      // rhs counts towards bytes only.
      await density('rhs');
      const { m, n, k } = layer.gemm;
      layers.push({
        name: layer.name,
        op: layer.op,
        gemm: { m, n, k },
        gemmCount: layer.gemmCount,
        macs: layer.op === 'elementwise' ? 0 : m * n * k * layer.gemmCount * steps,
        activationDensity,
        deltaDensity,
        weightDensity,
        bytes,
      });
    }
    return {
      path,
      files: reader.files,
      format: manifest.format,
      version: manifest.version,
      producer: manifest.producer,
      model: manifest.model,
      seed: manifest.seed,
      steps,
      keySteps: manifest.steps.filter((s) => s.keyFrame).length,
      sequences: new Set(manifest.steps.map((s) => s.sequence)).size,
      tensors: reader.tensors().length,
      valueDtypes: [...dtypes].sort(),
      macs: layers.reduce((a, l) => a + l.macs, 0),
      bytes: layers.reduce((a, l) => a + l.bytes, 0),
      layers,
    };
  } finally {
    await reader.close();
  }
}

const percent = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

export function formatInspection(s: TraceSummary): string {
  const lines: string[] = [];
  lines.push(`trace    ${s.path}${s.files.length > 1 ? ` (index of ${s.files.length - 1} shards)` : ''}`);
  lines.push(`model    ${s.model.name} (${s.model.family})${s.model.card ? `, card ${s.model.card}` : ''}`);
  lines.push(`format   ${s.format} v${s.version}, producer ${s.producer}, seed ${s.seed}`);
  lines.push(
    `steps    ${s.steps} (${s.keySteps} key, ${s.sequences} sequence${s.sequences === 1 ? '' : 's'}), ${s.tensors} tensors, values ${s.valueDtypes.join('/') || '-'}`,
  );
  const header = ['layer', 'op', 'GEMM m×n×k', 'count', 'MACs', 'act', 'delta', 'weight', 'bytes'];
  const rows = s.layers.map((l) => [
    l.name,
    l.op,
    `${l.gemm.m}×${l.gemm.n}×${l.gemm.k}`,
    String(l.gemmCount),
    String(l.macs),
    percent(l.activationDensity),
    percent(l.deltaDensity),
    percent(l.weightDensity),
    String(l.bytes),
  ]);
  rows.push(['total', '', '', '', String(s.macs), '', '', '', String(s.bytes)]);
  const widths = header.map((h, i) =>
    largest(
      rows.map((r) => r[i]!.length),
      h.length,
    ),
  );
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push('', fmt(header), ...rows.map(fmt));
  return `${lines.join('\n')}\n`;
}
