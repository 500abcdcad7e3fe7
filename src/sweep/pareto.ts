/**
 * The exact Pareto front of cost vectors (every objective minimised; flip a maximised one's sign
 * first). A vector dominates another when it is no worse in every objective and better in one;
 * equal vectors do not dominate each other, so both stay on the front. NaN counts as worst.
 *
 * Sorting lexicographically puts every dominator before what it dominates, and whatever a dominated
 * point dominates, a front point dominates too: so each point is checked against the front found so
 * far only. Two objectives need one comparison each (the front's best second cost), O(n log n).
 */
export function paretoFrontIndices(costs: readonly (readonly number[])[]): number[] {
  const clean = costs.map((c) => c.map((v) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : v)));
  const order = clean.map((_, i) => i).sort((a, b) => lexCompare(clean[a]!, clean[b]!) || a - b);
  const front: number[] = [];
  if (clean.length > 0 && clean[0]!.length === 2) {
    let best: readonly number[] | undefined;
    for (const i of order) {
      const c = clean[i]!;
      if (best === undefined || c[1]! < best[1]! || (c[0] === best[0] && c[1] === best[1])) {
        front.push(i);
        best = c;
      }
    }
  } else {
    for (const i of order) {
      const c = clean[i]!;
      if (!front.some((f) => dominates(clean[f]!, c))) front.push(i);
    }
  }
  return front.sort((a, b) => a - b);
}

function lexCompare(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < a.length; k++) {
    if (a[k]! < b[k]!) return -1;
    if (a[k]! > b[k]!) return 1;
  }
  return 0;
}

/** `a` is no worse than `b` everywhere and better somewhere (minimising). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let k = 0; k < a.length; k++) {
    if (a[k]! > b[k]!) return false;
    if (a[k]! < b[k]!) better = true;
  }
  return better;
}
