import { createPrng, type Prng } from '../../common/prng.js';
import type { ImageSet } from './mnist-digits.js';

/**
 * Procedural shape × texture images for the mixer ablation: a filled shape (global outline) whose
 * inside carries a texture (local pattern) on a noisy background. The class is (shape, texture), so
 * neither a purely local nor a purely global view suffices: stripes look the same inside a disk and
 * a square, and every shape comes in every texture.
 */
export const SHAPES = ['disk', 'square', 'triangle'] as const;
export const TEXTURES = ['horizontal-stripes', 'vertical-stripes', 'checkerboard'] as const;
export const NUM_SHAPE_TEXTURE_CLASSES = SHAPES.length * TEXTURES.length;

export interface ShapeTextureOptions {
  /** Fixes every byte; image i depends only on (seed, i). */
  readonly seed: number;
  readonly count: number;
  readonly size?: number;
  /** Standard deviation of the Gaussian pixel noise. */
  readonly noiseStd?: number;
}

export const SHAPE_NOISE_STD = 0.08;

/** The class of a (shape, texture) pair. */
export function shapeTextureClass(shape: number, texture: number): number {
  return shape * TEXTURES.length + texture;
}

/** Image i has class i mod 9 (balanced sets); position, size, period, phase and contrast vary. */
export function generateShapeTextures(options: ShapeTextureOptions): ImageSet {
  const size = options.size ?? 32;
  const noise = options.noiseStd ?? SHAPE_NOISE_STD;
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError('count must be ≥ 0');
  const pixels = new Float32Array(options.count * size * size);
  const labels = new Int32Array(options.count);
  for (let i = 0; i < options.count; i++) {
    const label = i % NUM_SHAPE_TEXTURE_CLASSES;
    labels[i] = label;
    const prng = createPrng((options.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    drawImage(pixels.subarray(i * size * size, (i + 1) * size * size), size, label, noise, prng);
  }
  return { pixels, labels, count: options.count, size, classes: NUM_SHAPE_TEXTURE_CLASSES };
}

function drawImage(out: Float32Array, size: number, label: number, noise: number, prng: Prng): void {
  const shape = Math.floor(label / TEXTURES.length);
  const texture = label % TEXTURES.length;
  const radius = size * (0.22 + 0.12 * prng.next());
  const margin = radius + 1;
  const cx = margin + prng.next() * (size - 2 * margin);
  const cy = margin + prng.next() * (size - 2 * margin);
  const period = 3 + prng.int(3); // 3…5 pixels: a local pattern, well below the shape's size
  const phaseX = prng.int(period);
  const phaseY = prng.int(period);
  const contrast = 0.6 + 0.4 * prng.next();
  const background = 0.1 * prng.next();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = insideShape(shape, x + 0.5 - cx, y + 0.5 - cy, radius);
      let value = background;
      if (inside) {
        const u = Math.floor((x + phaseX) / (period / 2)) % 2;
        const v = Math.floor((y + phaseY) / (period / 2)) % 2;
        const on = texture === 0 ? v : texture === 1 ? u : u ^ v;
        value = background + contrast * (0.25 + 0.75 * on);
      }
      out[y * size + x] = Math.min(1, Math.max(0, value + noise * prng.normal()));
    }
  }
}

/** Whether the offset (dx, dy) from the centre falls inside the shape of circumradius-like `r`. */
function insideShape(shape: number, dx: number, dy: number, r: number): boolean {
  switch (shape) {
    case 0:
      return dx * dx + dy * dy <= r * r;
    case 1: {
      const half = r * 0.85;
      return Math.abs(dx) <= half && Math.abs(dy) <= half;
    }
    default: {
      // Upward triangle: apex at (0, −r), base at y = r/2, half-width growing linearly.
      if (dy < -r || dy > r / 2) return false;
      const t = (dy + r) / (1.5 * r);
      return Math.abs(dx) <= t * r * 0.95;
    }
  }
}
