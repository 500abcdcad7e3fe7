import { createPrng, type Prng } from '../../common/prng.js';
import { DIGIT_SIZE, type DigitPool, type DigitSplit, loadDigitPool } from './mnist-digits.js';

/**
 * Synthetic action video standing in for UCF101 (docs/delta-cnn.md): an MNIST digit moving over a
 * static textured background, class = motion pattern, fresh Gaussian sensor noise on every frame.
 */
export const MOTION_CLASSES = [
  'left',
  'right',
  'up',
  'down',
  'rotate-cw',
  'rotate-ccw',
  'zoom-in',
  'zoom-out',
  'bounce-horizontal',
  'bounce-vertical',
] as const;
export type MotionClass = (typeof MOTION_CLASSES)[number];
export const NUM_MOTION_CLASSES = MOTION_CLASSES.length;

export interface VideoClipOptions {
  /** Fixes every byte of the set. Different seeds give different clips. */
  readonly seed: number;
  readonly count: number;
  /** Frames per clip (T ≥ 2; the default 8 as the issue asks). */
  readonly frames?: number;
  /** Frame side in pixels. */
  readonly size?: number;
  /** Which digit pool the objects come from; train and held-out pools are disjoint MNIST slices. */
  readonly split?: DigitSplit;
  /** Standard deviation of the per-pixel, per-frame Gaussian sensor noise (intensity units). */
  readonly noiseStd?: number;
  /** Probability that a second, static distractor digit is drawn. */
  readonly distractorProbability?: number;
}

export interface VideoClipSet {
  /** [count, frames, size, size] grey levels in [0, 1], row-major, frame after frame. */
  readonly pixels: Float32Array;
  /** Motion class per clip; clip i has class i mod NUM_MOTION_CLASSES, so sets are balanced. */
  readonly labels: Int32Array;
  readonly count: number;
  readonly frames: number;
  readonly size: number;
}

export const DEFAULT_FRAMES = 8;
export const DEFAULT_SIZE = 32;
export const DEFAULT_NOISE_STD = 0.03;

/** Generates a clip set; clip i depends only on (seed, split, i), not on `count`. */
export function generateVideoClips(options: VideoClipOptions, pool?: DigitPool): VideoClipSet {
  const frames = options.frames ?? DEFAULT_FRAMES;
  const size = options.size ?? DEFAULT_SIZE;
  const split = options.split ?? 'train';
  if (!Number.isInteger(frames) || frames < 2) throw new RangeError(`frames must be an integer ≥ 2`);
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError('count must be ≥ 0');
  const digits = pool ?? loadDigitPool(split);
  const clipPixels = frames * size * size;
  const pixels = new Float32Array(options.count * clipPixels);
  const labels = new Int32Array(options.count);
  for (let i = 0; i < options.count; i++) {
    const label = i % NUM_MOTION_CLASSES;
    labels[i] = label;
    // One PRNG per clip, keyed by (seed, split, index): a clip never depends on its neighbours.
    const prng = createPrng(mixSeed(options.seed, split === 'train' ? 0 : 1, i));
    renderClip(pixels.subarray(i * clipPixels, (i + 1) * clipPixels), label, prng, digits, {
      frames,
      size,
      noiseStd: options.noiseStd ?? DEFAULT_NOISE_STD,
      distractorProbability: options.distractorProbability ?? 0.5,
    });
  }
  return { pixels, labels, count: options.count, frames, size };
}

function mixSeed(seed: number, split: number, index: number): number {
  let h = Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(split + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(index + 1, 0x297a2d39);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

interface RenderOptions {
  readonly frames: number;
  readonly size: number;
  readonly noiseStd: number;
  readonly distractorProbability: number;
}

/** Placement of the object in one frame: centre (pixels), scale (output px per digit px), angle (rad). */
interface Pose {
  readonly x: number;
  readonly y: number;
  readonly scale: number;
  readonly angle: number;
}

function uniform(prng: Prng, lo: number, hi: number): number {
  return lo + (hi - lo) * prng.next();
}

/** Pose of the moving object at frame t for a motion class (image y grows downwards). */
function motionPoses(label: number, frames: number, size: number, prng: Prng): Pose[] {
  const speed = uniform(prng, 1.0, 1.6);
  const spin = (uniform(prng, 9, 14) * Math.PI) / 180;
  const growth = uniform(prng, 1.06, 1.09);
  const baseScale = uniform(prng, 0.5, 0.62);
  const angle0 = uniform(prng, -0.3, 0.3);
  const centre = size / 2;
  const jitter = (): number => uniform(prng, -3, 3);
  const cx = centre + jitter();
  const cy = centre + jitter();
  const span = speed * (frames - 1);
  const poses: Pose[] = [];
  for (let t = 0; t < frames; t++) {
    const along = speed * t - span / 2;
    // Bounce: there and back again, turning at the middle frame.
    const half = (frames - 1) / 2;
    const bounce = speed * (half - Math.abs(t - half)) - (speed * half) / 2;
    let pose: Pose = { x: cx, y: cy, scale: baseScale, angle: angle0 };
    switch (MOTION_CLASSES[label]) {
      case 'left':
        pose = { ...pose, x: cx - along };
        break;
      case 'right':
        pose = { ...pose, x: cx + along };
        break;
      case 'up':
        pose = { ...pose, y: cy - along };
        break;
      case 'down':
        pose = { ...pose, y: cy + along };
        break;
      case 'rotate-cw':
        pose = { ...pose, angle: angle0 + spin * t };
        break;
      case 'rotate-ccw':
        pose = { ...pose, angle: angle0 - spin * t };
        break;
      case 'zoom-in':
        pose = { ...pose, scale: 0.4 * growth ** t };
        break;
      case 'zoom-out':
        pose = { ...pose, scale: 0.4 * growth ** (frames - 1 - t) };
        break;
      case 'bounce-horizontal':
        pose = { ...pose, x: cx + bounce };
        break;
      case 'bounce-vertical':
        pose = { ...pose, y: cy + bounce };
        break;
      default:
        throw new RangeError(`unknown motion class ${label}`);
    }
    poses.push(pose);
  }
  return poses;
}

/** A smooth static texture in [0.05, 0.4]: a coarse random grid, bilinearly upsampled, plus a grating. */
function renderBackground(size: number, prng: Prng): Float32Array {
  const grid = 5;
  const coarse = new Float32Array(grid * grid);
  for (let i = 0; i < coarse.length; i++) coarse[i] = prng.next();
  const freqX = uniform(prng, 0.2, 0.7);
  const freqY = uniform(prng, 0.2, 0.7);
  const phase = uniform(prng, 0, 2 * Math.PI);
  const lo = uniform(prng, 0.05, 0.15);
  const amplitude = uniform(prng, 0.15, 0.25);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const smooth = bilinear(coarse, grid, (x / (size - 1)) * (grid - 1), (y / (size - 1)) * (grid - 1));
      const grating = 0.5 + 0.5 * Math.sin(freqX * x + freqY * y + phase);
      out[y * size + x] = lo + amplitude * (0.7 * smooth + 0.3 * grating);
    }
  }
  return out;
}

/** Bilinear sample of a square image at (x, y); zero outside. */
function bilinear(image: Float32Array, side: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xi: number, yi: number): number =>
    xi < 0 || yi < 0 || xi >= side || yi >= side ? 0 : image[yi * side + xi]!;
  return (
    (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
    fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
  );
}

/** Draws a digit under a pose into `frame` (max-composited: digits are brighter than the texture). */
function drawDigit(frame: Float32Array, size: number, digit: Float32Array, pose: Pose, gain: number): void {
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  const half = DIGIT_SIZE / 2;
  const reach = half * pose.scale * Math.SQRT2 + 1;
  const yFrom = Math.max(0, Math.floor(pose.y - reach));
  const yTo = Math.min(size - 1, Math.ceil(pose.y + reach));
  const xFrom = Math.max(0, Math.floor(pose.x - reach));
  const xTo = Math.min(size - 1, Math.ceil(pose.x + reach));
  for (let y = yFrom; y <= yTo; y++) {
    for (let x = xFrom; x <= xTo; x++) {
      // Inverse map: output pixel → digit coordinates (rotate by −angle, divide by scale).
      const dx = (x - pose.x) / pose.scale;
      const dy = (y - pose.y) / pose.scale;
      const u = cos * dx + sin * dy + half - 0.5;
      const v = -sin * dx + cos * dy + half - 0.5;
      const value = gain * bilinear(digit, DIGIT_SIZE, u, v);
      const i = y * size + x;
      if (value > frame[i]!) frame[i] = value;
    }
  }
}

function renderClip(out: Float32Array, label: number, prng: Prng, digits: DigitPool, options: RenderOptions) {
  const { frames, size, noiseStd } = options;
  const background = renderBackground(size, prng);
  const mover = digits.digit(prng.int(digits.count));
  const gain = uniform(prng, 0.75, 1);
  const poses = motionPoses(label, frames, size, prng);
  const distractor =
    prng.next() < options.distractorProbability
      ? {
          digit: digits.digit(prng.int(digits.count)),
          gain: uniform(prng, 0.5, 0.8),
          pose: {
            x: uniform(prng, 4, size - 4),
            y: uniform(prng, 4, size - 4),
            scale: uniform(prng, 0.3, 0.4),
            angle: uniform(prng, -0.5, 0.5),
          },
        }
      : undefined;
  const noise = prng.fork();
  const pixelsPerFrame = size * size;
  for (let t = 0; t < frames; t++) {
    const frame = out.subarray(t * pixelsPerFrame, (t + 1) * pixelsPerFrame);
    frame.set(background);
    if (distractor) drawDigit(frame, size, distractor.digit, distractor.pose, distractor.gain);
    drawDigit(frame, size, mover, poses[t]!, gain);
    for (let i = 0; i < pixelsPerFrame; i++) {
      const v = frame[i]! + noiseStd * noise.normal();
      frame[i] = Math.min(Math.max(v, 0), 1);
    }
  }
}
