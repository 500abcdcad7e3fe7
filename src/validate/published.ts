/**
 * The published figures the validation compares with, as the sources give them (docs/validation.md
 * cites each). Data only: the cases decide how to run them.
 */

/**
 * Eyeriss v2 PE on MobileNet-0.5 pointwise layers (Sparseloop, Wu et al., MICRO 2022, validation
 * against Eyeriss v2; Chen et al., JETCAS 2019): C, M, E = F (R = S = 1, N = 1), input and weight
 * densities, and the reference cycle count (MACs whose two operands are both non-zero in the real data).
 */
export const EYERISS_V2_PE_LAYERS = [
  { name: 'L07', c: 64, m: 64, e: 32, dI: 0.73, dW: 0.52, cycles: 1_702_140 },
  { name: 'L09', c: 64, m: 128, e: 16, dI: 0.86, dW: 0.82, cycles: 1_499_682 },
  { name: 'L13', c: 128, m: 256, e: 8, dI: 0.83, dW: 0.64, cycles: 1_144_158 },
  { name: 'L19', c: 256, m: 256, e: 8, dI: 0.61, dW: 0.55, cycles: 1_457_458 },
  { name: 'L21', c: 256, m: 256, e: 8, dI: 0.64, dW: 0.6, cycles: 1_677_684 },
  { name: 'L23', c: 256, m: 256, e: 8, dI: 0.61, dW: 0.7, cycles: 1_821_557 },
  { name: 'L25', c: 256, m: 512, e: 4, dI: 0.68, dW: 0.65, cycles: 948_572 },
  { name: 'L27', c: 512, m: 512, e: 4, dI: 0.58, dW: 0.3, cycles: 775_316 },
] as const;

/** Sparseloop's uniform-density model on those layers: mean and max |error| (%). */
export const EYERISS_V2_SPARSELOOP = { meanErrorPct: 1.1, maxErrorPct: 6.5 } as const;

/**
 * Eyeriss v1 on AlexNet conv1–5, batch 4 (Chen et al., ISSCC 2016 / JSSC 2017): C, M, P = Q, R = S,
 * stride, input and output densities, and the DRAM traffic ratio dense / RLC that Timeloop's dense
 * mapping of these layers gives with the chip's RLC packing (Sparseloop artifact, MICRO 2022).
 */
export const EYERISS_V1_LAYERS = [
  { name: 'conv1', c: 3, m: 96, p: 55, r: 11, stride: 4, dI: 0.999, dO: 0.378, dramRatio: 1.24 },
  { name: 'conv2', c: 48, m: 256, p: 27, r: 5, stride: 1, dI: 0.6, dO: 0.169, dramRatio: 1.36 },
  { name: 'conv3', c: 256, m: 384, p: 13, r: 3, stride: 1, dI: 0.275, dO: 0.303, dramRatio: 1.7 },
  { name: 'conv4', c: 192, m: 384, p: 13, r: 3, stride: 1, dI: 0.207, dO: 0.304, dramRatio: 1.87 },
  { name: 'conv5', c: 192, m: 256, p: 13, r: 3, stride: 1, dI: 0.23, dO: 0.1, dramRatio: 1.94 },
] as const;
export const EYERISS_V1_BATCH = 4;
/** The pass band around each DRAM ratio (absolute). */
export const EYERISS_V1_RATIO_TOLERANCE = 0.15;

/**
 * DSTC (Wang et al., ISCA 2021), 4096³ GEMM on 128 MACs: latency normalised to dense at
 * (A density, B density). Sparseloop's error on these points: mean 7.6 %, max 20.5 %.
 */
export const DSTC_POINTS = [
  { dA: 0.9, dB: 1, latency: 0.904 },
  { dA: 0.7, dB: 1, latency: 0.717 },
  { dA: 0.5, dB: 1, latency: 0.585 },
  { dA: 0.3, dB: 1, latency: 0.42 },
  { dA: 1, dB: 0.4, latency: 0.54 },
  { dA: 0.9, dB: 0.4, latency: 0.5 },
  { dA: 0.7, dB: 0.4, latency: 0.396 },
  { dA: 0.5, dB: 0.4, latency: 0.322 },
  { dA: 0.3, dB: 0.4, latency: 0.239 },
] as const;
export const DSTC_GEMM_SIZE = 4096;
export const DSTC_SPARSELOOP = { meanErrorPct: 7.6, maxErrorPct: 20.5 } as const;

/**
 * 2:4 structured sparsity on NVIDIA's sparse tensor core (A100 whitepaper, 2020): half the math
 * (2x throughput on the kept slots), a 2-bit position per kept value.
 */
export const STC_2OF4 = { n: 2, m: 4, computeRatio: 0.5, indexBits: 2 } as const;

/**
 * SCNN (Parashar et al., ISCA 2017), density sweep with weight density = activation density:
 * 0.79x of dense at density 1.0, break-even near 0.85, about 24x at 0.1.
 */
export const SCNN_TREND = { speedupAtDense: 0.79, breakEvenDensity: 0.85, speedupAtTenth: 24 } as const;

/**
 * Temporal sparsity: compute-bound speedup 1 / (1 − s) (DeltaRNN, Gao et al., FPGA 2018: 5.7x from
 * delta updates), memory-bound weight traffic 1 − s (EdgeDRNN, Gao et al., IEEE JETCAS 2020: up to
 * 10x less DRAM weight traffic).
 */
export const DELTA_TREND = { sparsities: [0.5, 0.8, 0.9], tolerancePct: 15 } as const;
