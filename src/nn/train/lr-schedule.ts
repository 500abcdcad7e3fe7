/** What the learning rate does after the linear warm-up. */
export type LrDecay = 'constant' | 'cosine' | 'wsd';
export const LR_DECAYS: readonly LrDecay[] = ['constant', 'cosine', 'wsd'];

/** Floor of the cosine decay, as a fraction of the peak rate. */
export const COSINE_FLOOR = 0.05;

/** `wsd`: the share of the post-warm-up steps that hold the peak before the cosine decay starts. */
export const WSD_STABLE_SHARE = 0.75;

/**
 * The DeltaNet trainer's learning rate at `step` (0-based): linear warm-up over `warmup` steps, then
 * the peak held (`constant`) or decayed along a half cosine to COSINE_FLOOR·peak at step `total`
 * (`cosine`), or held for WSD_STABLE_SHARE of the remaining steps and then decayed along the same half
 * cosine over the rest (`wsd`, warmup-stable-decay: a plateau-bound run keeps the full rate while it
 * still has to leave the plateau and settles at the end).
 * Constant is independent of the total step count on purpose: the first N steps of any run are then
 * exactly the run with N steps. A cosine run depends on its total, so its checkpoints record it.
 */
export function learningRateAt(
  step: number,
  peak: number,
  warmup: number,
  decay: LrDecay = 'constant',
  total = Number.POSITIVE_INFINITY,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  if (decay === 'constant') return peak;
  const start = decay === 'wsd' ? warmup + WSD_STABLE_SHARE * (total - warmup) : warmup;
  if (step < start) return peak;
  const progress = total > start ? Math.min(1, (step - start) / (total - start)) : 1;
  return peak * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
