import { type ImageSet, mnistImages } from './mnist-digits.js';
import { generateShapeTextures } from './shape-textures.js';

/** The image datasets the classifiers (iFormer) train on. */
export type ImageDatasetName = 'mnist' | 'shapes';
export const IMAGE_DATASETS: readonly ImageDatasetName[] = ['mnist', 'shapes'];

/** train: fitted; validation: scored after each epoch; heldout: what eval reports. Never overlapping. */
export type ImageRole = 'train' | 'validation' | 'heldout';

/** Examples of the training split kept aside for per-epoch validation. */
export const VALIDATION_EXAMPLES = 400;
/** Held-out shapes images (MNIST's held-out part is fixed by the split: 2,000 digits). */
export const SHAPES_HELDOUT_EXAMPLES = 1800;
/** Seed offsets of the shapes validation and held-out images (the training images use the seed). */
const SHAPES_VALIDATION_SEED_OFFSET = 7919;
const SHAPES_HELDOUT_SEED_OFFSET = 1_000_003;

export interface ImageDatasetOptions {
  readonly name: ImageDatasetName;
  readonly role: ImageRole;
  /** MNIST: the split seed; shapes: the generator seed. */
  readonly seed: number;
  /** Training images: shapes generates this many; MNIST takes the first this many of its split. */
  readonly trainExamples?: number;
}

/** The examples of one role of a dataset; the same options give the same bytes. */
export function imageDataset(options: ImageDatasetOptions): ImageSet {
  const { name, role, seed } = options;
  if (name === 'mnist') {
    if (role === 'heldout') return mnistImages({ split: 'heldout', splitSeed: seed });
    const all = mnistImages({ split: 'train', splitSeed: seed });
    const cut = all.count - VALIDATION_EXAMPLES;
    if (role === 'validation') return slice(all, cut, all.count);
    return slice(all, 0, Math.min(cut, options.trainExamples ?? cut));
  }
  if (role === 'train') return generateShapeTextures({ seed, count: options.trainExamples ?? 6000 });
  if (role === 'validation') {
    return generateShapeTextures({ seed: seed + SHAPES_VALIDATION_SEED_OFFSET, count: VALIDATION_EXAMPLES });
  }
  return generateShapeTextures({ seed: seed + SHAPES_HELDOUT_SEED_OFFSET, count: SHAPES_HELDOUT_EXAMPLES });
}

function slice(set: ImageSet, from: number, to: number): ImageSet {
  const pixelsPer = set.size * set.size;
  return {
    pixels: set.pixels.subarray(from * pixelsPer, to * pixelsPer),
    labels: set.labels.subarray(from, to),
    count: to - from,
    size: set.size,
    classes: set.classes,
  };
}
