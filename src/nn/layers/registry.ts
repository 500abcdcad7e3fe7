import type { Tf } from '../runtime.js';
import { DeltaActivation } from './delta-activation.js';
import { DELTANET_LAYER_CLASSES } from './deltanet-layers.js';
import { IFORMER_LAYER_CLASSES } from './iformer-layers.js';
import { FoldTime, FramePair, UnfoldTime } from './time-folding.js';

/**
 * Every custom tfjs layer class the project defines. A saved model.json names its layers by
 * `className`; tfjs can rebuild the topology only if each of those names is registered, so the
 * loader registers this whole list before building any model (`registerProjectLayers`) instead of
 * relying on whichever layer modules happen to have been imported. A new model family appends its
 * layer classes here (test/nn/layers/registry.test.ts fails on a `tf.layers.Layer` subclass under
 * src/nn that is missing from the list).
 */
export const PROJECT_LAYERS = [
  FoldTime,
  UnfoldTime,
  FramePair,
  DeltaActivation,
  ...DELTANET_LAYER_CLASSES,
  ...IFORMER_LAYER_CLASSES,
] as const;

const registeredIn = new WeakSet<object>();

/** Registers PROJECT_LAYERS with `tf`'s serialization map; repeated calls are no-ops. */
export function registerProjectLayers(tf: Tf): void {
  if (registeredIn.has(tf.serialization)) return;
  for (const layer of PROJECT_LAYERS) tf.serialization.registerClass(layer);
  registeredIn.add(tf.serialization);
}
