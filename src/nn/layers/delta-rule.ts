import * as tf from '@tensorflow/tfjs';

/**
 * The state update of a linear-attention mixer. `delta`: S ← S + k·(β(v − Sᵀk))ᵀ, one online
 * regression step per token (Yang et al., "Parallelizing Linear Transformers with the Delta Rule
 * over Sequence Length", NeurIPS 2024). `linear`: S ← S + k·vᵀ (plain linear attention; β unused).
 */
export type StateRule = 'delta' | 'linear';
export const STATE_RULES: readonly StateRule[] = ['delta', 'linear'];

/**
 * Per-head operands, heads folded into the batch: q, k `[X, T, dk]`, v `[X, T, dv]`, β `[X, T]`.
 * q is multiplied by `scale` (1/√dk by default) before the readout.
 */
export interface DeltaRuleInputs {
  readonly q: tf.Tensor3D;
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
  readonly beta: tf.Tensor2D;
}

export interface DeltaRuleOptions {
  readonly rule: StateRule;
  /** Readout scale on q; default 1/√dk. */
  readonly scale?: number;
  /** State at t = 0, `[X, dk, dv]`; default zeros. */
  readonly initialState?: tf.Tensor3D;
}

export interface DeltaRuleResult {
  /** `[X, T, dv]`: o_t = S_tᵀ q_t. */
  readonly output: tf.Tensor3D;
  /** `[X, dk, dv]`: S after the last token. */
  readonly state: tf.Tensor3D;
}

/**
 * tf.unstack along `axis`; a single slice by reshape, because tfjs' Unpack gradient hands `stack` a
 * bare tensor when there is only one output and fails.
 */
function unstackSafe(a: tf.Tensor, axis: number): tf.Tensor[] {
  if (a.shape[axis] !== 1) return tf.unstack(a, axis);
  return [
    tf.reshape(
      a,
      a.shape.filter((_, i) => i !== axis),
    ),
  ];
}

function dims(inputs: DeltaRuleInputs): { x: number; t: number; dk: number; dv: number } {
  const [x, t, dk] = inputs.k.shape;
  const dv = inputs.v.shape[2];
  if (inputs.q.shape[2] !== dk || inputs.q.shape[1] !== t || inputs.v.shape[1] !== t) {
    throw new Error(`delta rule: q ${inputs.q.shape}, k ${inputs.k.shape}, v ${inputs.v.shape} do not agree`);
  }
  if (inputs.beta.shape[0] !== x || inputs.beta.shape[1] !== t) {
    throw new Error(`delta rule: β ${inputs.beta.shape} does not match [${x}, ${t}]`);
  }
  return { x, t, dk, dv };
}

/**
 * Token by token, as inference runs and as the trace records it: per token and head three
 * state matrix–vector products (retrieve Sᵀk, rank-1 update k·uᵀ, readout Sᵀq), each dk·dv MACs.
 * Differentiable (plain ops), but T sequential steps: training uses the chunkwise form.
 */
export function deltaRuleRecurrent(inputs: DeltaRuleInputs, options: DeltaRuleOptions): DeltaRuleResult {
  const { x, t, dk, dv } = dims(inputs);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  let state = options.initialState ?? tf.zeros([x, dk, dv]);
  const qs = unstackSafe(tf.mul(inputs.q, scale), 1);
  const ks = unstackSafe(inputs.k, 1);
  const vs = unstackSafe(inputs.v, 1);
  const betas = options.rule === 'delta' ? unstackSafe(inputs.beta, 1) : [];
  const outputs: tf.Tensor[] = [];
  for (let i = 0; i < t; i++) {
    const kRow = tf.reshape(ks[i]!, [x, 1, dk]);
    const vRow = tf.reshape(vs[i]!, [x, 1, dv]);
    let u = vRow;
    if (options.rule === 'delta') {
      const retrieved = tf.matMul(kRow, state); // Sᵀk as a row: [X, 1, dv]
      u = tf.mul(tf.reshape(betas[i]!, [x, 1, 1]), tf.sub(vRow, retrieved));
    }
    // Rank-1 update as a [dk,1]·[1,dv] product (a reshape, not a transpose flag: see runtime docs).
    state = tf.add(state, tf.matMul(tf.reshape(ks[i]!, [x, dk, 1]), u));
    outputs.push(tf.matMul(tf.reshape(qs[i]!, [x, 1, dk]), state));
  }
  const output = (t === 0 ? tf.zeros([x, 0, dv]) : tf.concat(outputs, 1)) as tf.Tensor3D;
  return { output, state: state as tf.Tensor3D };
}

/** Constant C×C masks: strictly lower triangular, lower triangular with diagonal, identity. */
function chunkMasks(c: number): { strict: tf.Tensor2D; causal: tf.Tensor2D; eye: tf.Tensor2D } {
  const strict = new Float32Array(c * c);
  const causal = new Float32Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j <= i; j++) {
      causal[i * c + j] = 1;
      if (j < i) strict[i * c + j] = 1;
    }
  }
  return { strict: tf.tensor2d(strict, [c, c]), causal: tf.tensor2d(causal, [c, c]), eye: tf.eye(c) };
}

/**
 * (I − M)⁻¹ for strictly lower triangular M (nilpotent, M^C = 0) as (I + M)(I + M²)(I + M⁴)…:
 * ⌈log₂ C⌉ factors, matmuls only, so autodiff needs no triangular-solve gradient.
 */
export function unitLowerInverse(m: tf.Tensor3D, chunk: number, eye: tf.Tensor2D): tf.Tensor3D {
  let inverse = tf.add(eye, m) as tf.Tensor3D;
  let power = m;
  for (let p = 2; p < chunk; p *= 2) {
    power = tf.matMul(power, power);
    inverse = tf.matMul(inverse, tf.add(eye, power) as tf.Tensor3D);
  }
  return inverse;
}

/**
 * The chunkwise-parallel form (training): inside a chunk of C tokens the delta updates are folded
 * into the UT transform T = (I + tril(diag(β)KKᵀ, −1))⁻¹ diag(β), W = TK, U = TV; across chunks
 * U' = U − W S, O = Q S + (QKᵀ ⊙ causal) U', S ← S + Kᵀ U'. Same result as the recurrence (up to
 * float rounding). T is padded with zero tokens (k = v = β = 0 leave S and earlier outputs alone).
 */
export function deltaRuleChunkwise(
  inputs: DeltaRuleInputs,
  options: DeltaRuleOptions & { readonly chunk: number },
): DeltaRuleResult {
  const { x, t, dk, dv } = dims(inputs);
  const c = options.chunk;
  if (!Number.isInteger(c) || c < 1) throw new Error(`delta rule: chunk ${c} must be a positive integer`);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const n = Math.max(1, Math.ceil(t / c));
  const padded = n * c;
  const pad = padded - t;
  const pad3 = (a: tf.Tensor3D) =>
    pad === 0
      ? a
      : tf.pad(a, [
          [0, 0],
          [0, pad],
          [0, 0],
        ]);
  const byChunk = (a: tf.Tensor3D, d: number) => tf.reshape(pad3(a), [x * n, c, d]) as tf.Tensor3D;
  const q = byChunk(tf.mul(inputs.q, scale) as tf.Tensor3D, dk);
  const k = byChunk(inputs.k, dk);
  const v = byChunk(inputs.v, dv);
  const masks = chunkMasks(c);

  let w: tf.Tensor3D | undefined;
  let u = v;
  if (options.rule === 'delta') {
    const betaPadded =
      pad === 0
        ? inputs.beta
        : tf.pad(inputs.beta, [
            [0, 0],
            [0, pad],
          ]);
    const beta = tf.reshape(betaPadded, [x * n, c, 1]);
    const kBeta = tf.mul(k, beta) as tf.Tensor3D;
    const vBeta = tf.mul(v, beta) as tf.Tensor3D;
    const lower = tf.mul(tf.matMul(kBeta, k, false, true), masks.strict) as tf.Tensor3D;
    const inverse = unitLowerInverse(tf.neg(lower), c, masks.eye);
    // W and U in one product: T·[Kβ | Vβ].
    const wu = tf.matMul(inverse, tf.concat([kBeta, vBeta], 2)) as tf.Tensor3D;
    [w, u] = tf.split(wu, [dk, dv], 2) as [tf.Tensor3D, tf.Tensor3D];
  }
  const scores = tf.mul(tf.matMul(q, k, false, true), masks.causal) as tf.Tensor3D;

  // Only the state recurrence is sequential: S_{i+1} = S_i + K_iᵀ U'_i with U'_i = U_i − W_i S_i.
  // The outputs Q_i S_i + (Q_i K_iᵀ ⊙ M) U'_i are then batched products over all chunks at once.
  // Chunk-major, so the pass over chunks reads contiguous [X, C, ·] blocks.
  const chunks = (a: tf.Tensor3D, rows: number, d: number) =>
    unstackSafe(tf.transpose(tf.reshape(a, [x, n, rows, d]), [1, 0, 2, 3]), 0) as tf.Tensor3D[];
  const us = chunks(u, c, dv);
  const ws = w ? chunks(w, c, dk) : [];
  const kts = chunks(tf.transpose(k, [0, 2, 1]) as tf.Tensor3D, dk, c);
  let state = options.initialState ?? (tf.zeros([x, dk, dv]) as tf.Tensor3D);
  const states: tf.Tensor3D[] = [];
  const corrections: tf.Tensor3D[] = [];
  for (let i = 0; i < n; i++) {
    states.push(state);
    const corrected = w ? (tf.sub(us[i]!, tf.matMul(ws[i]!, state)) as tf.Tensor3D) : us[i]!;
    corrections.push(corrected);
    state = tf.add(state, tf.matMul(kts[i]!, corrected)) as tf.Tensor3D;
  }
  // [N, X, ·, ·] → [X·N, ·, ·], the layout of q and the scores.
  const byChunkIndex = (list: tf.Tensor3D[], rows: number, d: number) =>
    tf.reshape(tf.transpose(tf.stack(list, 0), [1, 0, 2, 3]), [x * n, rows, d]) as tf.Tensor3D;
  const corrected = w ? byChunkIndex(corrections, c, dv) : u;
  const perChunk = tf.add(
    tf.matMul(q, byChunkIndex(states, dk, dv)),
    tf.matMul(scores, corrected),
  ) as tf.Tensor3D;
  const stacked = tf.reshape(perChunk, [x, padded, dv]) as tf.Tensor3D;
  const output = pad === 0 ? stacked : (tf.slice(stacked, [0, 0, 0], [x, t, dv]) as tf.Tensor3D);
  return { output, state };
}
