import type { Dataflow } from '../array.js';
import type { StorageFormat } from '../hardware.js';
import { PSUM_BITS } from '../hardware.js';
import { type LevelAccess, NO_ACCESS } from '../levels.js';
import { packedPopcount } from './bits.js';

/** What a storage format needs to know of a tensor's zeros. */
export interface TensorStats {
  readonly elements: number;
  readonly nonzeros: number;
  /**
   * Entries a run-length encoding with `runBits`-bit run fields needs: one per non-zero, plus one
   * padding entry per 2^runBits zeros of a run too long for one field (trailing zeros are implicit).
   */
  readonly rleEntries: number;
}

/**
 * Stats of the first `elements` bits of a little-order packed mask. Run lengths are scanned only
 * when `runBits` is given (the rle format needs them); otherwise rleEntries = nonzeros.
 */
export function maskStats(mask: Uint8Array, elements: number, runBits?: number): TensorStats {
  const nonzeros = packedPopcount(mask, elements);
  if (runBits === undefined) return { elements, nonzeros, rleEntries: nonzeros };
  return { elements, nonzeros, rleEntries: nonzeros + rlePadding(mask, elements, 2 ** runBits) };
}

/** Per byte value: the index of its lowest set bit (8 for 0). */
const LOWEST_SET = Uint8Array.from({ length: 256 }, (_, b) => (b === 0 ? 8 : 31 - Math.clz32(b & -b)));
/** Per byte value: the zeros above its highest set bit (8 for 0). */
const ZEROS_ABOVE = Uint8Array.from({ length: 256 }, (_, b) => (b === 0 ? 8 : 7 - (31 - Math.clz32(b))));

/** Padding entries of the zero runs of a mask's first `elements` bits: one per `span` zeros of a run. */
function rlePadding(mask: Uint8Array, elements: number, span: number): number {
  let run = 0;
  let padding = 0;
  const fullBytes = elements >>> 3;
  // A whole byte at a time: the gaps between its own set bits are at most 6 zeros, shorter than any
  // span of 8 or more, so only the run reaching its lowest set bit can need padding (eyeriss-like's
  // 5-bit runs spent a bit-by-bit loop over every mask of a step here).
  const bytewise = span > 6;
  for (let i = 0; i <= fullBytes; i++) {
    const limit = i < fullBytes ? 8 : elements & 7;
    const byte = i < mask.length ? mask[i]! : 0;
    if (limit === 8) {
      if (byte === 0) {
        run += 8;
        continue;
      }
      if (bytewise) {
        const reached = run + LOWEST_SET[byte]!;
        if (reached >= span) padding += Math.floor(reached / span);
        run = ZEROS_ABOVE[byte]!;
        continue;
      }
    }
    for (let b = 0; b < limit; b++) {
      if ((byte >>> b) & 1) {
        padding += Math.floor(run / span);
        run = 0;
      } else {
        run++;
      }
    }
  }
  return padding;
}

export function denseStats(elements: number): TensorStats {
  return { elements, nonzeros: elements, rleEntries: elements };
}

/** Bits a tensor occupies under a format: payload (values) and metadata (positions). */
export interface StoredBits {
  readonly payloadBits: number;
  readonly metadataBits: number;
}

/**
 * dense: every element; bitmask: non-zeros + 1 bit per element; rle: (value + run field) per entry,
 * or, with `rlePackBits`, whole words of that size holding ⌊rlePackBits / (value + run)⌋ entries
 * each (Eyeriss v1 packs three 21-bit pairs in a 64-bit word; the spare bits are metadata);
 * coordinate: non-zeros + ⌈log2(elements)⌉ bits of flat index each; auto: bitmask if smaller than
 * dense, else dense.
 */
export function storedBits(
  format: StorageFormat,
  stats: TensorStats,
  wordBits: number,
  runBits: number,
  rlePackBits?: number,
): StoredBits {
  switch (format) {
    case 'auto': {
      const bitmask = storedBits('bitmask', stats, wordBits, runBits);
      const denseBits = stats.elements * wordBits;
      return bitmask.payloadBits + bitmask.metadataBits < denseBits
        ? bitmask
        : { payloadBits: denseBits, metadataBits: 0 };
    }
    case 'dense':
      return { payloadBits: stats.elements * wordBits, metadataBits: 0 };
    case 'bitmask':
      return { payloadBits: stats.nonzeros * wordBits, metadataBits: stats.elements };
    case 'rle': {
      const payloadBits = stats.rleEntries * wordBits;
      if (rlePackBits === undefined) return { payloadBits, metadataBits: stats.rleEntries * runBits };
      const perWord = Math.floor(rlePackBits / (wordBits + runBits));
      return { payloadBits, metadataBits: Math.ceil(stats.rleEntries / perWord) * rlePackBits - payloadBits };
    }
    case 'coordinate':
      return {
        payloadBits: stats.nonzeros * wordBits,
        metadataBits: stats.nonzeros * Math.max(1, Math.ceil(Math.log2(Math.max(2, stats.elements)))),
      };
  }
}

/** Traffic of one layer-step at the levels the operands pass through (the state memory is charged by delta-state.ts). */
export interface Traffic {
  readonly dram: LevelAccess;
  readonly ifmap: LevelAccess;
  readonly filter: LevelAccess;
  readonly ofmap: LevelAccess;
  /** DRAM bits of B not read because B stayed resident on chip from an earlier step. */
  readonly residentSavedBits: number;
}

export interface TrafficInput {
  readonly dataflow: Dataflow;
  readonly gemm: { readonly m: number; readonly n: number; readonly k: number };
  readonly instances: number;
  readonly rowFolds: number;
  readonly colFolds: number;
  /** The raw A tensor (input or delta) and B tensor (weight or rhs) as stored. */
  readonly a: StoredBits;
  readonly aElements: number;
  readonly b: StoredBits;
  readonly bElements: number;
  readonly outputElements: number;
  /** The outputs as written to DRAM (compressed when their zeros are known); absent = dense words. */
  readonly out?: StoredBits;
  readonly wordBits: number;
  readonly sram: { readonly ifmapBytes: number; readonly filterBytes: number; readonly ofmapBytes: number };
  /**
   * Which share of B this step's DRAM reads of B move (default: all of it, nothing saved):
   * `fetched` — the share read from DRAM (0 when B stays resident from an earlier step; below 1
   * when only the weights of non-zero inputs are fetched); `saved` — the share a resident B spared
   * (reported as residentSavedBits).
   */
  readonly bFetch?: { readonly fetchedShare: number; readonly savedShare: number };
  /**
   * A arrives on chip as events from the delta unit (delta mode): it is written into the ifmap
   * buffer, not read from DRAM, unless it overflows the buffer (then it is spilled: written to DRAM
   * and read back).
   */
  readonly aOnChip?: boolean;
  /** Outputs go to DRAM as dense words (false in delta mode: the consumer receives events instead). */
  readonly outputsToDram?: boolean;
  /** Partial sums accumulate in the ofmap buffer (false in delta mode: in the state memory). */
  readonly psumsInOfmap?: boolean;
  /**
   * Event-driven arrays stream no folds: the buffers are read once per event (A) and once per
   * executed MAC (its weight, B) instead of per im2col element and fold.
   */
  readonly eventReads?: { readonly aElements: number; readonly bElements: number };
}

/**
 * SCALE-Sim-like operand reuse (docs/model.md, "Memory traffic").
 * The mapping — fold order, which tensor fits its buffer, how often each is re-read — is decided on
 * the tensors' dense (uncompressed) sizes, so a compressed run uses the same mapping as its dense
 * baseline and a format changes only the bits each access moves (as Timeloop and Sparseloop keep
 * dataflow apart from format).
 * DRAM: each tensor is read once if it fits its buffer. Otherwise:
 * - OS: of the two fold orders the cheaper one is taken (as a mapper would) — row folds outer:
 *   a row fold's A tile is reused across column folds (re-read per column fold if the tile does
 *   not fit) and B is re-read per row fold unless it fits; column folds outer: the mirror image;
 * - WS: B tiles are loaded once (stationary); A is re-streamed per column fold unless it fits;
 * - IS: A tiles once; B is re-streamed per column fold unless it fits.
 * WS/IS split K over row folds: the M × C partial-sum tile of a column fold is accumulated in the
 * ofmap buffer; when it does not fit, the streamed dimension is cut into chunks that fit and the
 * stationary tile is re-read from its buffer once per chunk (SRAM traffic, no DRAM spill).
 * SRAM: the array reads each im2col operand element it streams (OS: A per column fold, B per row
 * fold; WS: A per column fold, B once per chunk; IS: A once per chunk, B per column fold) at the
 * tensor's stored bits per element; outputs are written once (OS) or read-modify-written per row
 * fold as 32-bit partial sums (WS/IS); every DRAM fill is also one SRAM write.
 */
export function layerTraffic(t: TrafficInput): Traffic {
  const { m, n, k } = t.gemm;
  const I = t.instances;
  const aTotal = t.a.payloadBits + t.a.metadataBits;
  const bTotal = t.b.payloadBits + t.b.metadataBits;
  const outBits = t.outputElements * t.wordBits;
  // The mapping sees dense tiles: a format that shrinks a tensor does not change the loop nest.
  const aDense = t.aElements * t.wordBits;
  const bDense = t.bElements * t.wordBits;
  let aRefetch = 1;
  let bRefetch = 1;
  let aStreams: number;
  let bStreams: number;
  let psumReads = 0;
  let psumWrites: number;
  if (t.dataflow === 'os') {
    // Scalars, not an object and a closure per order: this runs twice per layer-step.
    const rowMajorA = fits(aDense / t.rowFolds, t.sram.ifmapBytes) ? 1 : t.colFolds;
    const rowMajorB = fits(bDense, t.sram.filterBytes) ? 1 : t.rowFolds;
    const colMajorA = fits(aDense, t.sram.ifmapBytes) ? 1 : t.colFolds;
    const colMajorB = fits(bDense / t.colFolds, t.sram.filterBytes) ? 1 : t.rowFolds;
    const colMajor = colMajorA * aDense + colMajorB * bDense < rowMajorA * aDense + rowMajorB * bDense;
    aRefetch = colMajor ? colMajorA : rowMajorA;
    bRefetch = colMajor ? colMajorB : rowMajorB;
    aStreams = t.colFolds;
    bStreams = t.rowFolds;
    psumWrites = outBits;
  } else {
    // Partial sums of one column fold: M × C (WS) or N × C (IS) 32-bit words per instance.
    const streamed = t.dataflow === 'ws' ? m : n;
    const columnsPerFold = Math.ceil((t.dataflow === 'ws' ? n : m) / t.colFolds);
    const tileBits = streamed * columnsPerFold * PSUM_BITS;
    const chunks = Math.max(1, Math.ceil(tileBits / 8 / t.sram.ofmapBytes));
    if (t.dataflow === 'ws') {
      aRefetch = fits(aDense, t.sram.ifmapBytes) ? 1 : t.colFolds;
      aStreams = t.colFolds;
      bStreams = chunks;
    } else {
      bRefetch = fits(bDense, t.sram.filterBytes) ? 1 : t.colFolds;
      aStreams = chunks;
      bStreams = t.colFolds;
    }
    psumWrites = t.outputElements * PSUM_BITS * t.rowFolds;
    psumReads = t.outputElements * PSUM_BITS * (t.rowFolds - 1);
  }
  // Stored bits per element of the raw tensors, applied to the im2col elements the array streams.
  // Shared weights are still streamed once per instance that uses them.
  const aStreamed = t.eventReads ? t.eventReads.aElements : I * m * k * aStreams;
  const bStreamed = t.eventReads ? t.eventReads.bElements : I * k * n * bStreams;
  // The delta unit's events occupy the buffer at their stored size (a queue, not a mapped tile).
  const aSpilled = t.aOnChip === true && !fits(aTotal, t.sram.ifmapBytes);
  const aFromDram = t.aOnChip !== true || aSpilled;
  // Payload (P) and metadata (Md) bits as scalars: the small objects they were cost every step.
  const dramAP = aFromDram ? t.a.payloadBits * aRefetch : 0;
  const dramAMd = aFromDram ? t.a.metadataBits * aRefetch : 0;
  const aSpillP = aSpilled ? t.a.payloadBits : 0;
  const aSpillMd = aSpilled ? t.a.metadataBits : 0;
  // Delivered by the delta unit straight into the buffer, or filled from DRAM.
  const aFillP = aFromDram ? dramAP : t.a.payloadBits;
  const aFillMd = aFromDram ? dramAMd : t.a.metadataBits;
  const bReadP = t.b.payloadBits * bRefetch;
  const bReadMd = t.b.metadataBits * bRefetch;
  const fetchedShare = t.bFetch ? t.bFetch.fetchedShare : 1;
  const savedShare = t.bFetch ? t.bFetch.savedShare : 0;
  const dramBP = bReadP * fetchedShare;
  const dramBMd = bReadMd * fetchedShare;
  const outPayload = t.out ? t.out.payloadBits : outBits;
  const outStoredMd = t.out ? t.out.metadataBits : 0;
  const outWrite = t.outputsToDram === false ? 0 : outPayload + outStoredMd;
  const outMetadata = t.outputsToDram === false ? 0 : outStoredMd;
  const psums =
    t.psumsInOfmap === false ? NO_ACCESS : { readBits: psumReads, writeBits: psumWrites, metadataBits: 0 };
  return {
    dram: {
      readBits: dramAP + dramAMd + dramBP + dramBMd,
      writeBits: outWrite + aSpillP + aSpillMd,
      metadataBits: dramAMd + dramBMd + aSpillMd + outMetadata,
    },
    ifmap: {
      readBits: aStreamed * perElement(aTotal, t.aElements),
      writeBits: aFillP + aFillMd,
      metadataBits: aStreamed * perElement(t.a.metadataBits, t.aElements) + aFillMd,
    },
    filter: {
      readBits: bStreamed * perElement(bTotal, t.bElements),
      writeBits: dramBP + dramBMd,
      metadataBits: bStreamed * perElement(t.b.metadataBits, t.bElements) + dramBMd,
    },
    ofmap: psums,
    residentSavedBits: (bReadP + bReadMd) * savedShare,
  };
}

function fits(bits: number, bytes: number): boolean {
  return bits / 8 <= bytes;
}

/** Stored bits per element of a raw tensor (0 for an empty one), applied to the elements streamed. */
function perElement(bits: number, elements: number): number {
  return elements > 0 ? bits / elements : 0;
}
