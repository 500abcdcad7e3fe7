/**
 * A GEMM `[M×K]·[K×N]`: the one shape every MAC-bearing op is lowered to before it meets the array.
 * For a conv (SCALE-Sim's im2col): M = output pixels, K = Fh·Fw·C_in (the window), N = filters.
 */
export interface Gemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

export function gemmMacs(gemm: Gemm): number {
  return gemm.m * gemm.n * gemm.k;
}
