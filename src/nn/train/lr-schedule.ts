/** What the learning rate does after the linear warm-up. */
export type LrDecay = 'constant' | 'cosine';
export const LR_DECAYS: readonly LrDecay[] = ['constant', 'cosine'];

/** Floor of the cosine decay, as a fraction of the peak rate. */
export const COSINE_FLOOR = 0.05;

/**
 * The DeltaNet trainer's learning rate at `step` (0-based): linear warm-up over `warmup` steps, then
 * the peak held (`constant`) or decayed along a half cosine to COSINE_FLOOR·peak at step `total`.
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
  const progress = total > warmup ? Math.min(1, (step - warmup) / (total - warmup)) : 1;
  return peak * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
