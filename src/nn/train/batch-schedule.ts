import { createPrng } from '../../common/prng.js';

/**
 * A fixed partition of the training clips into batches (decided once by the seed), visited in a
 * fresh order each epoch. Keeping batches fixed is what makes per-batch loss bookkeeping meaningful:
 * DyBAT-style hard-sample training ranks batches by the loss they had the last time they ran.
 */
export function partitionBatches(count: number, batchSize: number, seed: number): number[][] {
  const order = shuffled(
    Array.from({ length: count }, (_, i) => i),
    seed ^ 0x5bd1e995,
  );
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** Fisher–Yates with our PRNG. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const prng = createPrng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The seed of epoch `epoch`'s visiting order: the whole "RNG state" a resumed run needs. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/**
 * Which batches an epoch trains on, in order. δ = hardFraction: with δ = 1 every batch (plain
 * training); with δ < 1 the ⌈δ·n⌉ batches with the highest last recorded loss (never-seen batches
 * first), so easy batches are skipped until their stale loss ranks them back in.
 */
export function epochBatchOrder(
  batchLosses: readonly number[],
  hardFraction: number,
  seed: number,
  epoch: number,
): number[] {
  const all = shuffled(
    batchLosses.map((_, i) => i),
    epochSeed(seed, epoch),
  );
  if (hardFraction >= 1) return all;
  const keep = Math.max(1, Math.ceil(hardFraction * batchLosses.length));
  const rank = (i: number): number => {
    const loss = batchLosses[i]!;
    return Number.isFinite(loss) ? loss : Number.POSITIVE_INFINITY;
  };
  const hardest = new Set([...all].sort((a, b) => rank(b) - rank(a)).slice(0, keep));
  return all.filter((i) => hardest.has(i));
}
