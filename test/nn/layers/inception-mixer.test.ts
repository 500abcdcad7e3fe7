import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../src/common/prng.js';
import {
  inceptionMixer,
  lowPath,
  type MixerSpec,
  type MixerWeights,
  pathA,
  pathB,
} from '../../../src/nn/layers/inception-mixer.js';
import { stageBlock } from '../../../src/nn/models/iformer.js';
import {
  type ActivationKind,
  channelSplit,
  IFORMER_VARIANTS,
  MIXER_KINDS,
  stageSides,
} from '../../../src/nn/models/iformer-config.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

/** A plain NHWC array with its shape: the reference computes on these with loops only. */
interface Nhwc {
  readonly data: Float64Array;
  readonly b: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

const at = (t: Nhwc, b: number, y: number, x: number, ch: number): number =>
  t.data[((b * t.h + y) * t.w + x) * t.c + ch]!;
const make = (b: number, h: number, w: number, c: number): Nhwc => ({
  data: new Float64Array(b * h * w * c),
  b,
  h,
  w,
  c,
});
const set = (t: Nhwc, b: number, y: number, x: number, ch: number, v: number): void => {
  t.data[((b * t.h + y) * t.w + x) * t.c + ch] = v;
};

function refAct(v: number, kind: ActivationKind): number {
  if (kind === 'relu') return Math.max(0, v);
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

function channels(t: Nhwc, from: number, count: number): Nhwc {
  const out = make(t.b, t.h, t.w, count);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < t.h; y++)
      for (let x = 0; x < t.w; x++)
        for (let c = 0; c < count; c++) set(out, b, y, x, c, at(t, b, y, x, from + c));
  return out;
}

/** out[p, n] = Σ_k in[p, k]·w[k, n] + bias[n]; `w` row-major [K, N]. */
function refPointwise(t: Nhwc, w: Float32Array, n: number, bias?: Float32Array): Nhwc {
  const out = make(t.b, t.h, t.w, n);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < t.h; y++)
      for (let x = 0; x < t.w; x++)
        for (let o = 0; o < n; o++) {
          let s = bias ? bias[o]! : 0;
          for (let k = 0; k < t.c; k++) s += at(t, b, y, x, k) * w[k * n + o]!;
          set(out, b, y, x, o, s);
        }
  return out;
}

/** 3×3 depthwise, zero padding 1; filter [3, 3, C, 1] row-major. */
function refDepthwise(t: Nhwc, f: Float32Array): Nhwc {
  const out = make(t.b, t.h, t.w, t.c);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < t.h; y++)
      for (let x = 0; x < t.w; x++)
        for (let c = 0; c < t.c; c++) {
          let s = 0;
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++) {
              const yy = y + i - 1;
              const xx = x + j - 1;
              if (yy >= 0 && yy < t.h && xx >= 0 && xx < t.w)
                s += at(t, b, yy, xx, c) * f[(i * 3 + j) * t.c + c]!;
            }
          set(out, b, y, x, c, s);
        }
  return out;
}

function refMaxPool3(t: Nhwc): Nhwc {
  const out = make(t.b, t.h, t.w, t.c);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < t.h; y++)
      for (let x = 0; x < t.w; x++)
        for (let c = 0; c < t.c; c++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let i = -1; i <= 1; i++)
            for (let j = -1; j <= 1; j++) {
              const yy = y + i;
              const xx = x + j;
              if (yy >= 0 && yy < t.h && xx >= 0 && xx < t.w) m = Math.max(m, at(t, b, yy, xx, c));
            }
          set(out, b, y, x, c, m);
        }
  return out;
}

function refMap(t: Nhwc, f: (v: number) => number): Nhwc {
  return { ...t, data: t.data.map(f) };
}

/** Even sides only: 2×2 windows, stride 2. */
function refAvgPool2(t: Nhwc): Nhwc {
  const out = make(t.b, t.h / 2, t.w / 2, t.c);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < out.h; y++)
      for (let x = 0; x < out.w; x++)
        for (let c = 0; c < t.c; c++) {
          const s =
            at(t, b, 2 * y, 2 * x, c) +
            at(t, b, 2 * y + 1, 2 * x, c) +
            at(t, b, 2 * y, 2 * x + 1, c) +
            at(t, b, 2 * y + 1, 2 * x + 1, c);
          set(out, b, y, x, c, s / 4);
        }
  return out;
}

/** Self-attention per head over the h·w tokens; qkv columns [q heads…, k heads…, v heads…]. */
function refAttention(t: Nhwc, qkv: Float32Array, qkvBias: Float32Array, heads: number, d: number): Nhwc {
  const c = t.c;
  const proj = refPointwise(t, qkv, 3 * c, qkvBias);
  const n = t.h * t.w;
  const out = make(t.b, t.h, t.w, c);
  const tok = (b: number, i: number, col: number) => at(proj, b, Math.floor(i / t.w), i % t.w, col);
  for (let b = 0; b < t.b; b++)
    for (let head = 0; head < heads; head++) {
      const q = (i: number, k: number) => tok(b, i, head * d + k);
      const key = (i: number, k: number) => tok(b, i, c + head * d + k);
      const v = (i: number, k: number) => tok(b, i, 2 * c + head * d + k);
      for (let i = 0; i < n; i++) {
        const scores: number[] = [];
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += q(i, k) * key(j, k);
          scores.push(s / Math.sqrt(d));
        }
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const z = e.reduce((a, x) => a + x, 0);
        for (let k = 0; k < d; k++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += (e[j]! / z) * v(j, k);
          set(out, b, Math.floor(i / t.w), i % t.w, head * d + k, s);
        }
      }
    }
  return out;
}

function refUpsample2(t: Nhwc): Nhwc {
  const out = make(t.b, 2 * t.h, 2 * t.w, t.c);
  for (let b = 0; b < t.b; b++)
    for (let y = 0; y < out.h; y++)
      for (let x = 0; x < out.w; x++)
        for (let c = 0; c < t.c; c++) set(out, b, y, x, c, at(t, b, Math.floor(y / 2), Math.floor(x / 2), c));
  return out;
}

function refConcat(parts: readonly Nhwc[]): Nhwc {
  const c = parts.reduce((s, p) => s + p.c, 0);
  const first = parts[0]!;
  const out = make(first.b, first.h, first.w, c);
  for (let b = 0; b < first.b; b++)
    for (let y = 0; y < first.h; y++)
      for (let x = 0; x < first.w; x++) {
        let o = 0;
        for (const p of parts) for (let k = 0; k < p.c; k++) set(out, b, y, x, o++, at(p, b, y, x, k));
      }
  return out;
}

interface Case {
  readonly spec: MixerSpec;
  readonly x: Nhwc;
  readonly w: Record<string, Float32Array>;
}

function randomCase(
  seed: number,
  high: number,
  low: number,
  headDim: number,
  pool: number,
  act: ActivationKind,
): Case {
  const prng = createPrng(seed);
  const c = high + low;
  const heads = low / headDim;
  const rand = (n: number, scale = 0.5) => Float32Array.from({ length: n }, () => scale * prng.normal());
  const x = make(2, 4, 4, c);
  x.data.set(rand(x.data.length, 1));
  const fused = 2 * high + low;
  return {
    spec: { split: { channels: c, high, low, heads }, headDim, pool, activation: act },
    x,
    w: {
      convA: rand((high / 2) * high),
      dwA: rand(9 * high),
      convB: rand((high / 2) * high),
      biasB: rand(high),
      qkv: rand(low * 3 * low),
      qkvBias: rand(3 * low),
      fuse: rand(9 * fused),
      proj: rand(fused * c),
      projBias: rand(c),
    },
  };
}

function tensors(k: Case): { x: Tensor4D; w: MixerWeights } {
  const { tf } = runtime;
  const { high, low, channels: c } = k.spec.split;
  const fused = 2 * high + low;
  const t2 = (v: Float32Array, r: number, n: number) => tf.tensor2d(v, [r, n]) as Tensor2D;
  const t1 = (v: Float32Array) => tf.tensor1d(v) as Tensor1D;
  const dw = (v: Float32Array, ch: number) => tf.tensor4d(v, [3, 3, ch, 1]) as Tensor4D;
  return {
    x: tf.tensor4d(Float32Array.from(k.x.data), [k.x.b, k.x.h, k.x.w, k.x.c]),
    w: {
      ...(high > 0
        ? {
            convA: t2(k.w.convA!, high / 2, high),
            dwA: dw(k.w.dwA!, high),
            convB: t2(k.w.convB!, high / 2, high),
            biasB: t1(k.w.biasB!),
          }
        : {}),
      ...(low > 0 ? { qkv: t2(k.w.qkv!, low, 3 * low), qkvBias: t1(k.w.qkvBias!) } : {}),
      fuse: dw(k.w.fuse!, fused),
      proj: t2(k.w.proj!, fused, c),
      projBias: t1(k.w.projBias!),
    },
  };
}

function refPaths(k: Case): { a?: Nhwc; b?: Nhwc; l?: Nhwc; out: Nhwc } {
  const { high, low, heads } = k.spec.split;
  const act = (t: Nhwc) => refMap(t, (v) => refAct(v, k.spec.activation));
  const parts: Nhwc[] = [];
  let a: Nhwc | undefined;
  let b: Nhwc | undefined;
  let l: Nhwc | undefined;
  if (high > 0) {
    a = act(refDepthwise(refPointwise(channels(k.x, 0, high / 2), k.w.convA!, high), k.w.dwA!));
    b = act(refPointwise(refMaxPool3(channels(k.x, high / 2, high / 2)), k.w.convB!, high, k.w.biasB));
    parts.push(a, b);
  }
  if (low > 0) {
    const xl = channels(k.x, high, low);
    const pooled = k.spec.pool === 2 ? refAvgPool2(xl) : xl;
    const attended = refAttention(pooled, k.w.qkv!, k.w.qkvBias!, heads, k.spec.headDim);
    l = k.spec.pool === 2 ? refUpsample2(attended) : attended;
    parts.push(l);
  }
  const y = refConcat(parts);
  const dwY = refDepthwise(y, k.w.fuse!);
  const fused = { ...y, data: y.data.map((v, i) => v + dwY.data[i]!) };
  return { a, b, l, out: refPointwise(fused, k.w.proj!, k.spec.split.channels, k.w.projBias) };
}

function expectClose(actual: Tensor, expected: Nhwc): void {
  expect(actual.shape).toEqual([expected.b, expected.h, expected.w, expected.c]);
  const got = actual.dataSync();
  let worst = 0;
  expected.data.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(got[i]! - v) / (1 + Math.abs(v)));
  });
  expect(worst).toBeLessThan(1e-4);
}

describe('inception mixer against a per-path loop reference', () => {
  const cases = [
    { name: 'inception, pooled attention, GELU', high: 8, low: 8, headDim: 4, pool: 2, act: 'gelu' },
    { name: 'inception, unpooled attention, ReLU', high: 4, low: 8, headDim: 4, pool: 1, act: 'relu' },
    { name: 'conv only', high: 8, low: 0, headDim: 4, pool: 2, act: 'gelu' },
    { name: 'attention only', high: 0, low: 8, headDim: 4, pool: 2, act: 'gelu' },
  ] as const;
  for (const [i, c] of cases.entries()) {
    it(c.name, () => {
      const k = randomCase(100 + i, c.high, c.low, c.headDim, c.pool, c.act);
      const ref = refPaths(k);
      const { tf } = runtime;
      tf.tidy(() => {
        const { x, w } = tensors(k);
        const [xa, xb, xl] = [
          tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, c.high / 2]),
          tf.slice(x, [0, 0, 0, c.high / 2], [-1, -1, -1, c.high / 2]),
          tf.slice(x, [0, 0, 0, c.high], [-1, -1, -1, c.low]),
        ] as Tensor4D[];
        if (ref.a) expectClose(pathA(xa!, w, k.spec), ref.a);
        if (ref.b) expectClose(pathB(xb!, w, k.spec), ref.b);
        if (ref.l) expectClose(lowPath(xl!, w, k.spec), ref.l);
        expectClose(inceptionMixer(x, w, k.spec), ref.out);
      });
    });
  }
});

describe('mixer and block shapes per stage', () => {
  for (const [name, variant] of Object.entries(IFORMER_VARIANTS)) {
    for (const mixer of MIXER_KINDS) {
      it(`${name} / ${mixer}: the split sums to C and every block keeps [B, H, W, C]`, () => {
        const { tf } = runtime;
        const sides = stageSides(variant);
        variant.stages.forEach((stage, s) => {
          const split = channelSplit(stage, variant.headDim, mixer);
          expect(split.high + split.low).toBe(stage.width);
          expect(split.low).toBe(split.heads * variant.headDim);
          const block = stageBlock(stage, split, variant.headDim, 'gelu', 3);
          const shape = [2, sides[s]!, sides[s]!, stage.width];
          tf.tidy(() => {
            const out = block.apply(tf.randomNormal(shape, 0, 1, 'float32', 5)) as Tensor;
            expect(out.shape).toEqual(shape);
            const concatenated = 2 * split.high + split.low;
            expect(block.blockWeights().mixer.proj.shape).toEqual([concatenated, stage.width]);
          });
          block.dispose();
        });
      });
    }
  }
});
