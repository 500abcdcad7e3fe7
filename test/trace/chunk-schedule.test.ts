import { describe, expect, it } from 'vitest';
import {
  CHUNKWISE_SCHEMA,
  type ChunkProduct,
  checkChunkwise,
  chunkProductMacs,
  chunkProducts,
} from '../../src/trace/chunk-schedule.js';
import { TraceError } from '../../src/trace/trace-error.js';

/** A small deterministic generator (tests only). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

type Rows = number[][];
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

/** o_t = S_tᵀ q_t with S_t = S_{t−1} + k_t uᵀ, u = β(v − S_{t−1}ᵀk) (delta) or v (linear). */
function recurrence(rule: 'delta' | 'linear', q: Rows, k: Rows, v: Rows, beta: number[]): Rows {
  const dk = k[0]!.length;
  const dv = v[0]!.length;
  const s = Array.from({ length: dk }, () => new Array<number>(dv).fill(0));
  return q.map((qt, t) => {
    const u = v[t]!.map((vj, j) => {
      if (rule === 'linear') return vj;
      let r = 0;
      for (let i = 0; i < dk; i++) r += s[i]![j]! * k[t]![i]!;
      return beta[t]! * (vj - r);
    });
    for (let i = 0; i < dk; i++) for (let j = 0; j < dv; j++) s[i]![j]! += k[t]![i]! * u[j]!;
    return Array.from({ length: dv }, (_, j) => qt.reduce((sum, qi, i) => sum + qi * s[i]![j]!, 0));
  });
}

/**
 * Evaluates the products `chunkProducts` lists, chunk by chunk, computing only the entries their
 * structural-zero patterns keep and counting every MAC, so a wrong pattern changes the result.
 */
function chunked(
  rule: 'delta' | 'linear',
  chunk: number,
  q: Rows,
  k: Rows,
  v: Rows,
  beta: number[],
): { out: Rows; macs: number } {
  const dk = k[0]!.length;
  const dv = v[0]!.length;
  const s = Array.from({ length: dk }, () => new Array<number>(dv).fill(0));
  const out: Rows = [];
  let macs = 0;
  for (let start = 0; start < q.length; start += chunk) {
    const r = Math.min(chunk, q.length - start);
    const rows = (a: Rows) => a.slice(start, start + r);
    const [qc, kc, vc] = [rows(q), rows(k), rows(v)];
    const bc = beta.slice(start, start + r);
    const times = (a: number[], m: Rows) => {
      macs += a.length * m[0]!.length;
      return m[0]!.map((_, j) => a.reduce((sum, x, i) => sum + x * m[i]![j]!, 0));
    };
    let corrected: Rows = vc;
    if (rule === 'delta') {
      // kkt: strictly lower entries only.
      const a: Rows = kc.map((ki, i) =>
        kc.map((kj, j) => {
          if (j >= i) return 0;
          macs += dk;
          return bc[i]! * dot(ki, kj);
        }),
      );
      // solve: forward substitution, A entries on and above the diagonal never read.
      const x: Rows = [];
      for (let i = 0; i < r; i++) {
        const row = [...kc[i]!, ...vc[i]!].map((e) => bc[i]! * e);
        for (let j = 0; j < i; j++) {
          macs += dk + dv;
          for (let c = 0; c < dk + dv; c++) row[c]! -= a[i]![j]! * x[j]![c]!;
        }
        x.push(row);
      }
      corrected = x.map((row) => {
        const ws = times(row.slice(0, dk), s);
        return row.slice(dk).map((u, j) => u - ws[j]!);
      });
    }
    const inter = qc.map((qi) => times(qi, s));
    qc.forEach((qi, i) => {
      const o = inter[i]!;
      for (let j = 0; j <= i; j++) {
        macs += dk; // qkt, causal: diagonal kept
        const p = dot(qi, kc[j]!);
        macs += dv; // intra: P(i, j) for j ≤ i
        for (let c = 0; c < dv; c++) o[c]! += p * corrected[j]![c]!;
      }
      out.push(o);
    });
    for (let i = 0; i < dk; i++) {
      const column = kc.map((kt) => kt[i]!);
      const add = times(column, corrected);
      for (let j = 0; j < dv; j++) s[i]![j]! += add[j]!;
    }
  }
  return { out, macs };
}

describe('chunked schedule of the delta rule (manifest.chunkwise)', () => {
  for (const rule of ['delta', 'linear'] as const) {
    it(`${rule}: the listed products with their structural zeros reproduce the recurrence; MACs as counted`, () => {
      const next = random(rule === 'delta' ? 11 : 12);
      const [t, dk, dv, chunk] = [13, 3, 2, 4]; // a partial last chunk
      const unit = (n: number) => {
        const x = Array.from({ length: n }, next);
        const norm = Math.hypot(...x);
        return x.map((e) => e / norm);
      };
      const q = Array.from({ length: t }, () => unit(dk));
      const k = Array.from({ length: t }, () => unit(dk));
      const v = Array.from({ length: t }, () => Array.from({ length: dv }, next));
      const beta = Array.from({ length: t }, () => 0.5 + next());
      const expected = recurrence(rule, q, k, v, beta);
      const { out, macs } = chunked(rule, chunk, q, k, v, beta);
      out.forEach((row, i) => {
        row.forEach((x, j) => {
          expect(x).toBeCloseTo(expected[i]![j]!, 12);
        });
      });
      const products = chunkProducts(rule, chunk, dk, dv);
      const chunkRows = [4, 4, 4, 1];
      const needed = chunkRows.reduce(
        (sum, rows) => sum + products.reduce((s, p) => s + chunkProductMacs(p, rows).needed, 0),
        0,
      );
      expect(needed).toBe(macs);
    });
  }

  it('structural zeros: QKᵀ keeps C(C+1)/2 outputs, the KKᵀ part C(C−1)/2, the solve C(C−1)/2 operand entries', () => {
    const [c, dk, dv] = [16, 8, 4];
    const byName = new Map(chunkProducts('delta', c, dk, dv).map((p) => [p.name, p]));
    const macs = (name: string) => chunkProductMacs(byName.get(name as ChunkProduct['name'])!, c);
    expect(macs('qkt')).toEqual({ dense: c * c * dk, needed: ((c * (c + 1)) / 2) * dk });
    expect(macs('kkt')).toEqual({ dense: c * c * dk, needed: ((c * (c - 1)) / 2) * dk });
    expect(macs('solve')).toEqual({ dense: c * c * (dk + dv), needed: ((c * (c - 1)) / 2) * (dk + dv) });
    expect(macs('intra')).toEqual({ dense: c * c * dv, needed: ((c * (c + 1)) / 2) * dv });
    expect(macs('state-update')).toEqual({ dense: dk * c * dv, needed: dk * c * dv });
    expect(byName.get('state-update')?.writesState).toBe(true);
    expect(byName.get('solve')?.sequentialRows).toBe(true);
  });

  it('the reader refuses an unknown schema, a replaced layer that is not a delta-rule layer, altered products, a bad β bias', () => {
    const good = {
      schema: CHUNKWISE_SCHEMA,
      chunk: 16,
      blocks: [
        {
          rule: 'delta',
          heads: 2,
          dk: 4,
          dv: 4,
          replaces: ['b_retrieve', 'b_update', 'b_readout'],
          products: chunkProducts('delta', 16, 4, 4),
        },
      ],
    };
    const layers = new Set(['b_retrieve', 'b_update', 'b_readout']);
    expect(checkChunkwise('t', good, layers)).toBe(good);
    const biased = { ...good, blocks: [{ ...good.blocks[0], betaBias: [-3, 0.5] }] };
    expect(checkChunkwise('t', biased, layers)).toBe(biased);
    const negEig = { ...good, blocks: [{ ...good.blocks[0], allowNegEigval: true }] };
    expect(checkChunkwise('t', negEig, layers)).toBe(negEig);
    const bad: [unknown, string][] = [
      [{ ...good, schema: 2 }, 'manifest.chunkwise.schema'],
      [{ ...good, chunk: 0 }, 'manifest.chunkwise.chunk'],
      [{ ...good, blocks: [{ ...good.blocks[0], replaces: ['b_wq'] }] }, 'replaces'],
      [{ ...good, blocks: [{ ...good.blocks[0], rule: 'linear' }] }, 'products'],
      [{ ...good, blocks: [{ ...good.blocks[0], dk: 8 }] }, 'products'],
      [{ ...good, blocks: [{ ...good.blocks[0], betaBias: [-3] }] }, 'blocks[0].betaBias'],
      [{ ...good, blocks: [{ ...good.blocks[0], betaBias: [-3, 'x'] }] }, 'blocks[0].betaBias'],
      [{ ...good, blocks: [{ ...good.blocks[0], betaBias: -3 }] }, 'blocks[0].betaBias'],
      [{ ...good, blocks: [{ ...good.blocks[0], allowNegEigval: 2 }] }, 'blocks[0].allowNegEigval'],
      [{ ...good, blocks: [{ ...good.blocks[0], rule: 'linear', allowNegEigval: true }] }, 'allowNegEigval'],
    ];
    for (const [value, field] of bad) {
      expect(() => checkChunkwise('t', value, layers)).toThrow(TraceError);
      expect(() => checkChunkwise('t', value, layers)).toThrow(field);
    }
  });
});
