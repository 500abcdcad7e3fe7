/**
 * The largest sizes accepted on the command line, one place for all commands (README "Limits"
 * lists them). Each keeps a run's memory, temporary files and time within what a workstation has:
 * a typo such as `--clips 2000000` is a one-line error (exit 2), not a machine out of memory.
 */
export const SIZE_LIMITS = {
  /** Rows or columns of `--array RxC`: beyond any built array, and keeps fold counts exact. */
  arrayDim: 65_536,
  /** Seeds feed 32-bit generators: a larger value would silently alias a smaller one. */
  seed: 0xffff_ffff,
  /** `--synthetic NAME:DENSITY:STEPS`: resnet18 writes ≈ 22 MB of temporary trace per step. */
  syntheticSteps: 64,
  /** `replay --workers`: each thread holds its own trace reader and layer state. */
  workers: 64,
  /** Training/evaluation clips: 32 KiB of frames each, all held in memory (10,000 ≈ 330 MB). */
  clips: 10_000,
  /** Recorded clips: ≈ 0.9 MB of trace each at F32 (256 ≈ 230 MB). */
  recordClips: 256,
  /** Recorded iFormer images (`record iformer --images`): ≈ 0.25 MB of trace each at F32. */
  recordImages: 1_000,
  /** Recorded DeltaNet sequences: one trace step per token. */
  recordSequences: 256,
  /** iFormer training images (`--examples`): 1 KiB each as float32, all held in memory. */
  images: 100_000,
  epochs: 1_000,
  batchSize: 512,
} as const;
