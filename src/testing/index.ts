/**
 * deltasim/testing: the property-based regression kit (docs/testing.md). Arbitraries for hardware,
 * layers, masks and whole traces; the laws every hardware model must keep; the engine interface
 * extensions implement. Use with fast-check: `fc.assert(fc.asyncProperty(arbitraryTrace(), …))`.
 */
export type { HardwareModel } from '../core/hardware.js';
export { PRESET_NAMES, PRESETS } from '../core/presets.js';
export type { LayerReport, Report } from '../core/report.js';
export { packMask, unpackMask } from '../trace/mask.js';
export {
  type BruteCounts,
  type BrutePolicy,
  bElementOf,
  bruteForceCounts,
  keepsNmPattern,
} from './brute-force.js';
export { deltasimEngine, type Engine, type EngineExtension, withTraceFile } from './engine.js';
export { arbitraryDataflow, arbitraryHardware, arbitrarySupport, type HardwareOptions } from './hardware.js';
export * from './laws/index.js';
export {
  arbitraryLayer,
  denseLayerSpec,
  LAYER_KINDS,
  type LayerCase,
  type LayerKind,
  type LayerOptions,
} from './layers.js';
export {
  arbitraryMask,
  arbitraryPattern,
  arbitraryPatternSequence,
  arbitraryStructure,
  type MaskOptions,
  type MaskStructure,
  type PatternOptions,
  packBits,
  temporalPatterns,
  unitInterval,
  zeroPattern,
} from './masks.js';
export {
  arbitraryLayerDraw,
  arbitraryTrace,
  arbitraryTraceFor,
  buildTrace,
  describeTrace,
  type InMemoryTrace,
  type LayerDraw,
  nmWeightPattern,
  type TraceOptions,
  type TraceTensor,
  type WriteTraceOptions,
  writeTrace,
} from './trace.js';
