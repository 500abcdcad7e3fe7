// Kept apart from evaluate-delta-cnn.ts, which pulls in tfjs: the CLI validates its flags against
// these defaults before it pays for a tfjs start-up.

/** Seed of the evaluation clips (held-out digit pool); training uses 1…, validation seed+7919. */
export const EVAL_SEED = 1_000_003;
/** naive-delta's fixed threshold on |x_t − x̂_{t−1}| (intensity units; pixels are in [0, 1]). */
export const NAIVE_DELTA_THRESHOLD = 1e-3;
