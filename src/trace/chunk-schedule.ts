/**
 * The chunked schedule of a delta-rule (or linear-attention) layer, as optional trace metadata
 * (`manifest.chunkwise`, docs/trace-format.md §4.1). A trace records the token-by-token form; this
 * says, from shapes alone, what the chunkwise-parallel form computes per chunk of C tokens and head,
 * and which of its outputs and operand entries are zero by construction (causal masks, the unit
 * lower-triangular solve). Pure: shared by the recorder (which writes it) and the reader (which checks it).
 */

import type { ChunkLayerName } from '../core/chunk-layers.js';
import type { Gemm } from '../core/gemm.js';
import { TraceError } from './trace-error.js';

/** Version of the `chunkwise` object's layout, independent of the trace format's version. */
export const CHUNKWISE_SCHEMA = 1;

/**
 * Zeros known without data on a `[rows × cols]` matrix: `causal` — entries (r, c) with c > r;
 * `strict-causal` — entries with c ≥ r (diagonal included).
 */
export type TriangularZeros = 'none' | 'causal' | 'strict-causal';

/** The products of one chunk: the same names as the replayed chunk layers. */
export type ChunkProductName = ChunkLayerName;

/** One GEMM `[M×K]·[K×N]` per chunk and head. */
export interface ChunkProduct {
  readonly name: ChunkProductName;
  readonly gemm: Gemm;
  /** The GEMM dimensions that are the chunk length C (a sequence's partial last chunk has fewer rows there). */
  readonly chunkAxes: readonly ('m' | 'n' | 'k')[];
  /** `state`: B is the running state S (d_k×d_v, read once per chunk); `chunk`: this chunk's activations. */
  readonly b: 'state' | 'chunk';
  /** Structural zeros of the [M×N] output (not computed). */
  readonly outputZeros: TriangularZeros;
  /** Structural zeros of the [M×K] A operand (MACs that multiply them are skipped). */
  readonly operandZeros: TriangularZeros;
  /** Forward substitution: row m needs the finished rows < m of this product's own output. */
  readonly sequentialRows: boolean;
  /** Adds its output into the state S (read and written once per chunk). */
  readonly writesState: boolean;
}

export interface ChunkwiseBlock {
  readonly rule: 'delta' | 'linear';
  readonly heads: number;
  readonly dk: number;
  readonly dv: number;
  /** The trace layers (token-by-token state products) this block's chunked schedule replaces. */
  readonly replaces: readonly string[];
  /** Per chunk and head, in execution order; exactly `chunkProducts(rule, chunk, dk, dv)`. */
  readonly products: readonly ChunkProduct[];
  /**
   * Delta rule with a biased β gate: the trained per-head bias b, β = σ(x·W_β + b). The β
   * projection's recorded GEMM has no bias term, so the schedule needs it to rebuild β. Absent: b = 0.
   */
  readonly betaBias?: readonly number[];
  /** Delta rule trained with `--neg-eigval`: β = 2σ(…) ∈ (0, 2). Absent: β = σ(…). */
  readonly allowNegEigval?: true;
}

export interface ChunkwiseSchedule {
  readonly schema: typeof CHUNKWISE_SCHEMA;
  /** C: tokens per chunk. A sequence of T tokens has ⌈T/C⌉ chunks; the last one has T mod C rows if partial. */
  readonly chunk: number;
  readonly blocks: readonly ChunkwiseBlock[];
}

/**
 * The per-chunk, per-head products of the chunkwise delta rule (Yang et al. 2024, the WY/UT form),
 * evaluated for inference with a forward substitution instead of an explicit inverse:
 *   A  = tril(diag(β) K Kᵀ, −1)              kkt               [C×d_k]·[d_k×C], strictly lower
 *   (I + A) [W U] = diag(β) [K V]           solve             [C×C]·[C×(d_k+d_v)], A strictly lower, row by row
 *   U' = U − W S                             state-correction  [C×d_k]·[d_k×d_v], B = state
 *   O  = Q S                                 inter             [C×d_k]·[d_k×d_v], B = state
 *   P  = Q Kᵀ ⊙ causal mask                  qkt               [C×d_k]·[d_k×C], lower incl. diagonal
 *   O += P U'                                intra             [C×C]·[C×d_v], A lower incl. diagonal
 *   S += Kᵀ U'                               state-update      [d_k×C]·[C×d_v]
 * Linear attention has U' = V: no kkt, solve or correction. Elementwise work (β scaling) is left out.
 */
export function chunkProducts(
  rule: 'delta' | 'linear',
  chunk: number,
  dk: number,
  dv: number,
): ChunkProduct[] {
  // Dimensions are given symbolically: 'C' is the chunk length, numbers are fixed.
  const p = (
    name: ChunkProductName,
    m: number | 'C',
    k: number | 'C',
    n: number | 'C',
    b: 'state' | 'chunk',
    extra: Partial<
      Pick<ChunkProduct, 'outputZeros' | 'operandZeros' | 'sequentialRows' | 'writesState'>
    > = {},
  ): ChunkProduct => ({
    name,
    gemm: { m: m === 'C' ? chunk : m, n: n === 'C' ? chunk : n, k: k === 'C' ? chunk : k },
    chunkAxes: (['m', 'n', 'k'] as const).filter((axis) => ({ m, n, k })[axis] === 'C'),
    b,
    outputZeros: extra.outputZeros ?? 'none',
    operandZeros: extra.operandZeros ?? 'none',
    sequentialRows: extra.sequentialRows ?? false,
    writesState: extra.writesState ?? false,
  });
  const c = 'C' as const;
  const shared = [
    p('inter', c, dk, dv, 'state'),
    p('qkt', c, dk, c, 'chunk', { outputZeros: 'causal' }),
    p('intra', c, c, dv, 'chunk', { operandZeros: 'causal' }),
    p('state-update', dk, c, dv, 'chunk', { writesState: true }),
  ];
  if (rule === 'linear') return shared;
  return [
    p('kkt', c, dk, c, 'chunk', { outputZeros: 'strict-causal' }),
    p('solve', c, c, dk + dv, 'chunk', { operandZeros: 'strict-causal', sequentialRows: true }),
    p('state-correction', c, dk, dv, 'state'),
    ...shared,
  ];
}

/** Entries of an r×c matrix that survive a triangular zero pattern. */
function keptEntries(rows: number, cols: number, zeros: TriangularZeros): number {
  let kept = 0;
  for (let r = 0; r < rows; r++) {
    const limit = zeros === 'none' ? cols : Math.min(cols, zeros === 'causal' ? r + 1 : r);
    kept += limit;
  }
  return kept;
}

/**
 * MACs of one product for a chunk of `rows` tokens (C, or fewer in a sequence's last chunk): `dense`
 * as an array without structural skipping runs them, `needed` without the structural zeros.
 */
export function chunkProductMacs(product: ChunkProduct, rows: number): { dense: number; needed: number } {
  const axisLength = (axis: 'm' | 'n' | 'k') =>
    product.chunkAxes.includes(axis) ? rows : product.gemm[axis];
  const m = axisLength('m');
  const n = axisLength('n');
  const k = axisLength('k');
  const dense = m * n * k;
  if (product.outputZeros !== 'none') return { dense, needed: keptEntries(m, n, product.outputZeros) * k };
  if (product.operandZeros !== 'none') return { dense, needed: keptEntries(m, k, product.operandZeros) * n };
  return { dense, needed: dense };
}

/** Checks a manifest's `chunkwise` object against the layer names it may replace. */
export function checkChunkwise(
  source: string,
  value: unknown,
  deltaRuleLayers: ReadonlySet<string>,
): ChunkwiseSchedule {
  const where = 'manifest.chunkwise';
  const s = value as Partial<ChunkwiseSchedule> | null;
  if (s === null || typeof s !== 'object' || Array.isArray(s))
    throw new TraceError(source, where, 'must be an object');
  if (s.schema !== CHUNKWISE_SCHEMA) {
    throw new TraceError(
      source,
      `${where}.schema`,
      `schema ${JSON.stringify(s.schema)} is not known (this reader knows ${CHUNKWISE_SCHEMA})`,
    );
  }
  const positive = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new TraceError(source, field, `must be an integer ≥ 1, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const chunk = positive(`${where}.chunk`, s.chunk);
  if (!Array.isArray(s.blocks)) throw new TraceError(source, `${where}.blocks`, 'must be an array');
  const claimed = new Set<string>();
  s.blocks.forEach((raw: unknown, i) => {
    const at = `${where}.blocks[${i}]`;
    const b = raw as Partial<ChunkwiseBlock> | null;
    if (b === null || typeof b !== 'object' || Array.isArray(b))
      throw new TraceError(source, at, 'must be an object');
    if (b.rule !== 'delta' && b.rule !== 'linear')
      throw new TraceError(source, `${at}.rule`, 'must be "delta" or "linear"');
    const heads = positive(`${at}.heads`, b.heads);
    if (b.betaBias !== undefined) {
      if (
        b.rule !== 'delta' ||
        !Array.isArray(b.betaBias) ||
        b.betaBias.length !== heads ||
        !b.betaBias.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        throw new TraceError(
          source,
          `${at}.betaBias`,
          `must be ${heads} finite numbers (one per head) on a delta block`,
        );
      }
    }
    if (b.allowNegEigval !== undefined && (b.rule !== 'delta' || b.allowNegEigval !== true))
      throw new TraceError(source, `${at}.allowNegEigval`, 'must be true (or absent) on a delta block');
    const dk = positive(`${at}.dk`, b.dk);
    const dv = positive(`${at}.dv`, b.dv);
    if (!Array.isArray(b.replaces) || b.replaces.length === 0) {
      throw new TraceError(source, `${at}.replaces`, 'must be a non-empty array of layer names');
    }
    for (const name of b.replaces) {
      if (typeof name !== 'string' || !deltaRuleLayers.has(name)) {
        throw new TraceError(
          source,
          `${at}.replaces`,
          `${JSON.stringify(name)} is not a delta-rule layer of the trace`,
        );
      }
      if (claimed.has(name)) throw new TraceError(source, `${at}.replaces`, `"${name}" is replaced twice`);
      claimed.add(name);
    }
    const expected = JSON.stringify(chunkProducts(b.rule, chunk, dk, dv));
    if (JSON.stringify(b.products) !== expected) {
      throw new TraceError(
        source,
        `${at}.products`,
        `must be the ${b.rule} rule's products for chunk ${chunk}, d_k ${dk}, d_v ${dv} (docs/trace-format.md §4.1)`,
      );
    }
  });
  return value as ChunkwiseSchedule;
}
