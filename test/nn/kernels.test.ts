/**
 * Every kernel the runtime registers on wasm, against the cpu backend (relative error ≤ 1e-5), on
 * several shapes, strides, paddings and dilations. Small shapes: the whole file runs in seconds.
 */
import { fc, test as propTest } from '@fast-check/vitest';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Tf } from '../../src/nn/runtime.js';
import {
  type HostTensor,
  intHost,
  type Outcome,
  randomHost,
  relativeError,
  runKernelOn,
  runOn,
  wasmTf,
} from './backend-compare.js';

const TOLERANCE = 1e-5;
let tf: Tf;

beforeAll(async () => {
  tf = await wasmTf();
});

async function expectKernelMatches(
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: Record<string, unknown>,
): Promise<void> {
  const reference = await runKernelOn(tf, 'cpu', kernelName, inputs, attrs);
  const candidate = await runKernelOn(tf, 'wasm', kernelName, inputs, attrs);
  expect(candidate.shape).toEqual(reference.shape);
  expect(relativeError(candidate, reference)).toBeLessThanOrEqual(TOLERANCE);
}

function outSize(
  inSize: number,
  filter: number,
  stride: number,
  dilation: number,
  pad: 'same' | 'valid',
): number {
  const effective = (filter - 1) * dilation + 1;
  return pad === 'same' ? Math.ceil(inSize / stride) : Math.ceil((inSize - effective + 1) / stride);
}

test('the runtime registered every missing kernel on wasm', () => {
  for (const name of [
    'Conv2DBackpropFilter',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'UnsortedSegmentSum',
    'Einsum',
  ]) {
    expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  }
});

describe('Conv2DBackpropFilter', () => {
  const cases: readonly [
    string,
    readonly [number, number, number, number],
    readonly [number, number, number, number],
    number | [number, number],
    'same' | 'valid',
  ][] = [
    ['3x2 kernel, stride 1, same', [2, 9, 7, 3], [3, 2, 3, 4], 1, 'same'],
    ['3x2 kernel, stride 1, valid', [2, 9, 7, 3], [3, 2, 3, 4], 1, 'valid'],
    ['3x3 kernel, stride 2, same (odd input)', [2, 9, 9, 2], [3, 3, 2, 5], 2, 'same'],
    ['3x3 kernel, stride 2, valid', [1, 10, 8, 3], [3, 3, 3, 2], 2, 'valid'],
    ['5x3 kernel, stride [3,1], same', [1, 11, 6, 2], [5, 3, 2, 3], [3, 1], 'same'],
    ['1x1 kernel, stride 3, valid', [3, 7, 7, 4], [1, 1, 4, 6], 3, 'valid'],
  ];
  test.each(cases)('%s', async (_label, xShape, filterShape, strides, pad) => {
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    const dyShape = [
      xShape[0],
      outSize(xShape[1], filterShape[0], sh, 1, pad),
      outSize(xShape[2], filterShape[1], sw, 1, pad),
      filterShape[3],
    ];
    await expectKernelMatches(
      'Conv2DBackpropFilter',
      { x: randomHost(1, xShape), dy: randomHost(2, dyShape) },
      { strides, pad, dataFormat: 'NHWC', filterShape },
    );
  });

  test('explicit padding', async () => {
    const pad = [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ];
    // H: (8 + 3 − 3) / 2 + 1 = 5; W: (6 + 3 − 2) / 1 + 1 = 8
    await expectKernelMatches(
      'Conv2DBackpropFilter',
      { x: randomHost(3, [2, 8, 6, 2]), dy: randomHost(4, [2, 5, 8, 3]) },
      { strides: [2, 1], pad, dataFormat: 'NHWC', filterShape: [3, 2, 2, 3] },
    );
  });

  test('NCHW data format', async () => {
    await expectKernelMatches(
      'Conv2DBackpropFilter',
      { x: randomHost(5, [2, 3, 8, 7]), dy: randomHost(6, [2, 4, 4, 4]) },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] },
    );
  });

  propTest.prop(
    [
      fc.record({
        batch: fc.integer({ min: 1, max: 2 }),
        height: fc.integer({ min: 3, max: 9 }),
        width: fc.integer({ min: 3, max: 9 }),
        inChannels: fc.integer({ min: 1, max: 3 }),
        outChannels: fc.integer({ min: 1, max: 3 }),
        filterHeight: fc.integer({ min: 1, max: 3 }),
        filterWidth: fc.integer({ min: 1, max: 3 }),
        strideHeight: fc.integer({ min: 1, max: 3 }),
        strideWidth: fc.integer({ min: 1, max: 3 }),
        pad: fc.constantFrom('same' as const, 'valid' as const),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
    ],
    { numRuns: 12 },
  )('matches cpu on random geometry', async (g) => {
    const xShape = [g.batch, g.height, g.width, g.inChannels] as const;
    const filterShape = [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels] as const;
    const dyShape = [
      g.batch,
      outSize(g.height, g.filterHeight, g.strideHeight, 1, g.pad),
      outSize(g.width, g.filterWidth, g.strideWidth, 1, g.pad),
      g.outChannels,
    ];
    await expectKernelMatches(
      'Conv2DBackpropFilter',
      { x: randomHost(g.seed, xShape), dy: randomHost(g.seed + 1, dyShape) },
      {
        strides: [g.strideHeight, g.strideWidth],
        pad: g.pad,
        dataFormat: 'NHWC',
        filterShape: [...filterShape],
      },
    );
  });
});

describe('DepthwiseConv2dNative gradients', () => {
  const cases: readonly [
    string,
    readonly [number, number, number, number],
    readonly [number, number, number, number],
    number,
    'same' | 'valid',
  ][] = [
    ['3x3, multiplier 1, stride 1, same', [2, 8, 7, 3], [3, 3, 3, 1], 1, 'same'],
    ['3x2, multiplier 2, stride 1, valid', [2, 8, 7, 3], [3, 2, 3, 2], 1, 'valid'],
    ['3x3, multiplier 2, stride 2, same', [1, 9, 8, 2], [3, 3, 2, 2], 2, 'same'],
    ['5x5, multiplier 1, stride 2, valid', [2, 11, 10, 2], [5, 5, 2, 1], 2, 'valid'],
    ['2x3, multiplier 3, stride 3, same', [1, 10, 9, 2], [2, 3, 2, 3], 3, 'same'],
  ];
  test.each(cases)('%s', async (_label, xShape, filterShape, stride, pad) => {
    const dyShape = [
      xShape[0],
      outSize(xShape[1], filterShape[0], stride, 1, pad),
      outSize(xShape[2], filterShape[1], stride, 1, pad),
      filterShape[2] * filterShape[3],
    ];
    const dy = randomHost(8, dyShape);
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: randomHost(7, xShape), dy },
      { strides: stride, dilations: 1, pad, filterShape },
    );
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: randomHost(9, filterShape) },
      { strides: stride, dilations: 1, pad, inputShape: xShape },
    );
  });

  test('explicit padding wider than the filter reaches (the full correlation must crop)', async () => {
    const pad = [
      [0, 0],
      [3, 1],
      [2, 2],
      [0, 0],
    ];
    // H: (7 + 4 − 2) / 2 + 1 = 5; W: (6 + 4 − 2) / 2 + 1 = 5
    const dy = randomHost(13, [2, 5, 5, 4]);
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: randomHost(14, [2, 7, 6, 2]), dy },
      { strides: 2, dilations: 1, pad, filterShape: [2, 2, 2, 2] },
    );
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: randomHost(15, [2, 2, 2, 2]) },
      { strides: 2, dilations: 1, pad, inputShape: [2, 7, 6, 2] },
    );
  });

  propTest.prop(
    [
      fc.record({
        batch: fc.integer({ min: 1, max: 2 }),
        height: fc.integer({ min: 3, max: 9 }),
        width: fc.integer({ min: 3, max: 9 }),
        channels: fc.integer({ min: 1, max: 3 }),
        multiplier: fc.integer({ min: 1, max: 2 }),
        filterHeight: fc.integer({ min: 1, max: 3 }),
        filterWidth: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 3 }),
        pad: fc.constantFrom('same' as const, 'valid' as const),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
    ],
    { numRuns: 12 },
  )('filter and input gradients match cpu on random geometry', async (g) => {
    const xShape = [g.batch, g.height, g.width, g.channels] as const;
    const filterShape = [g.filterHeight, g.filterWidth, g.channels, g.multiplier] as const;
    const dyShape = [
      g.batch,
      outSize(g.height, g.filterHeight, g.stride, 1, g.pad),
      outSize(g.width, g.filterWidth, g.stride, 1, g.pad),
      g.channels * g.multiplier,
    ];
    const dy = randomHost(g.seed + 1, dyShape);
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: randomHost(g.seed, xShape), dy },
      { strides: g.stride, dilations: 1, pad: g.pad, filterShape: [...filterShape] },
    );
    await expectKernelMatches(
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: randomHost(g.seed + 2, filterShape) },
      { strides: g.stride, dilations: 1, pad: g.pad, inputShape: [...xShape] },
    );
  });

  // tfjs' cpu kernels ignore dilations here (its gradient refuses dilation > 1), so the reference
  // is the same gradient for the equivalent undilated filter: the kernel spread with zeros.
  test.each([
    ['dilation 2, stride 1, same', 2, 1, 'same' as const],
    ['dilation 2, stride 1, valid', 2, 1, 'valid' as const],
    ['dilation 3, stride 1, same', 3, 1, 'same' as const],
    ['dilation 2, stride 2, same', 2, 2, 'same' as const],
    ['dilation 2, stride 3, valid', 2, 3, 'valid' as const],
  ])('%s', async (_label, dilation, stride, pad) => {
    const xShape = [2, 10, 9, 2] as const;
    const filterShape = [3, 2, 2, 2] as const;
    const spreadShape = [
      (filterShape[0] - 1) * dilation + 1,
      (filterShape[1] - 1) * dilation + 1,
      2,
      2,
    ] as const;
    const dyShape = [
      2,
      outSize(xShape[1], filterShape[0], stride, dilation, pad),
      outSize(xShape[2], filterShape[1], stride, dilation, pad),
      4,
    ];
    const x = randomHost(10, xShape);
    const dy = randomHost(11, dyShape);
    const filter = randomHost(12, filterShape);

    const spreadFilterGrad = await runKernelOn(
      tf,
      'cpu',
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      {
        strides: stride,
        dilations: 1,
        pad,
        filterShape: spreadShape,
      },
    );
    const referenceFilterGrad = await runOn(
      tf,
      'cpu',
      { g: { ...spreadFilterGrad, dtype: 'float32' } as HostTensor },
      (t) => tf.stridedSlice(t.g as Tensor4D, [0, 0, 0, 0], [...spreadShape], [dilation, dilation, 1, 1]),
    );
    const filterGrad = await runKernelOn(
      tf,
      'wasm',
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      {
        strides: stride,
        dilations: dilation,
        pad,
        filterShape,
      },
    );
    expect(filterGrad.shape).toEqual(referenceFilterGrad.shape);
    expect(relativeError(filterGrad, referenceFilterGrad)).toBeLessThanOrEqual(TOLERANCE);

    const spreadFilter = spreadKernel(filter, dilation, spreadShape);
    const referenceInputGrad = await runKernelOn(
      tf,
      'cpu',
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: spreadFilter },
      {
        strides: stride,
        dilations: 1,
        pad,
        inputShape: xShape,
      },
    );
    const inputGrad = await runKernelOn(
      tf,
      'wasm',
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter },
      {
        strides: stride,
        dilations: dilation,
        pad,
        inputShape: xShape,
      },
    );
    expect(inputGrad.shape).toEqual(referenceInputGrad.shape);
    expect(relativeError(inputGrad, referenceInputGrad)).toBeLessThanOrEqual(TOLERANCE);
  });
});

/** A [FH,FW,C,M] kernel with dilation−1 zeros between taps: same op, dilation 1. */
function spreadKernel(filter: HostTensor, dilation: number, spreadShape: readonly number[]): HostTensor {
  const [fh, fw, c, m] = filter.shape as [number, number, number, number];
  const [, sw] = spreadShape as [number, number, number, number];
  const values = new Float32Array(spreadShape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      for (let k = 0; k < c * m; k++) {
        values[(i * dilation * sw + j * dilation) * c * m + k] = filter.values[(i * fw + j) * c * m + k] ?? 0;
      }
    }
  }
  return { shape: spreadShape, values, dtype: 'float32' };
}

describe('UnsortedSegmentSum', () => {
  test('1-D ids with repeats, gaps, a negative and an out-of-range id', async () => {
    await expectKernelMatches(
      'UnsortedSegmentSum',
      { x: randomHost(20, [7, 3, 2]), segmentIds: intHost([7], [0, 3, 3, 1, -1, 9, 0]) },
      { numSegments: 5 },
    );
  });
  test('more segments than ids (empty segments stay zero), 2-D rows', async () => {
    await expectKernelMatches(
      'UnsortedSegmentSum',
      { x: randomHost(21, [3, 4]), segmentIds: intHost([3], [6, 0, 6]) },
      { numSegments: 8 },
    );
  });
  test('int32 data', async () => {
    await expectKernelMatches(
      'UnsortedSegmentSum',
      { x: intHost([4, 2], [1, -2, 3, 4, 5, 6, -7, 8]), segmentIds: intHost([4], [1, 1, 0, 1]) },
      { numSegments: 2 },
    );
  });
  test('embedding gradient (gather) matches cpu', async () => {
    const table = randomHost(22, [6, 4]);
    const ids = intHost([5], [0, 2, 2, 5, 1]);
    const weights = randomHost(23, [5, 4]);
    const grad = (t: Record<string, Tensor>) =>
      tf.grad((e: Tensor) => tf.sum(tf.mul(tf.gather(e, t.ids as Tensor), t.w as Tensor)))(t.table as Tensor);
    const reference = await runOn(tf, 'cpu', { table, ids, w: weights }, grad);
    const candidate = await runOn(tf, 'wasm', { table, ids, w: weights }, grad);
    expect(relativeError(candidate, reference)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('OneHot with a float dtype (wasm writes int bits unless wrapped)', () => {
  test.each([
    ['float32 0/1', 1, 0],
    ['float32 label smoothing 0.9/0.025', 0.9, 0.025],
  ])('%s', async (_label, onValue, offValue) => {
    await expectKernelMatches(
      'OneHot',
      { indices: intHost([2, 3], [0, 3, 1, -1, 2, 4]) },
      { depth: 4, onValue, offValue, dtype: 'float32' },
    );
  });
  test('int32 stays on the original kernel', async () => {
    await expectKernelMatches(
      'OneHot',
      { indices: intHost([3], [2, 0, 1]) },
      { depth: 3, onValue: 5, offValue: -1, dtype: 'int32' },
    );
  });
});

describe('Einsum', () => {
  test.each([
    [
      'batched matmul',
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    ['matrix-vector', 'ij,j->i', [[3, 4], [4]]],
    ['outer product', 'i,j->ij', [[3], [4]]],
    ['transpose', 'ij->ji', [[3, 5]]],
    [
      'trace-free contraction over two axes',
      'abc,cbd->ad',
      [
        [2, 3, 4],
        [4, 3, 2],
      ],
    ],
  ] as const)('%s (%s)', async (_label, equation, shapes) => {
    const inputs: Record<string, HostTensor> = {};
    shapes.forEach((shape, i) => {
      inputs[String(i)] = randomHost(30 + i, shape);
    });
    const build = (t: Record<string, Tensor>) =>
      tf.einsum(equation, ...shapes.map((_, i) => t[String(i)] as Tensor));
    const reference = await runOn(tf, 'cpu', inputs, build);
    const candidate = await runOn(tf, 'wasm', inputs, build);
    expect(candidate.shape).toEqual(reference.shape);
    expect(relativeError(candidate, reference)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('gradients through the layers API', () => {
  test('conv2d → depthwise → pooling → dense: all weight gradients match cpu', async () => {
    const x = randomHost(40, [2, 10, 10, 2]);
    const w1 = randomHost(41, [3, 3, 2, 4]);
    const w2 = randomHost(42, [3, 3, 4, 2]);
    const w3 = randomHost(43, [2 * 2 * 8, 3]);
    const build = (t: Record<string, Tensor>) => {
      const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => {
        let h: Tensor4D = tf.relu(tf.conv2d(t.x as Tensor4D, a as Tensor4D, 1, 'same'));
        h = tf.relu(tf.depthwiseConv2d(h, b as Tensor4D, 2, 'same'));
        h = tf.maxPool(h, 2, 2, 'valid');
        h = tf.avgPool(
          tf.pad(h, [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ]),
          2,
          1,
          'valid',
        );
        return tf.sum(tf.square(tf.matMul(tf.reshape(h, [2, -1]), c as Tensor)));
      })([t.w1 as Tensor, t.w2 as Tensor, t.w3 as Tensor]);
      return tf.concat(grads.map((g) => tf.reshape(g, [-1])));
    };
    const reference = await runOn(tf, 'cpu', { x, w1, w2, w3 }, build);
    const candidate: Outcome = await runOn(tf, 'wasm', { x, w1, w2, w3 }, build);
    expect(relativeError(candidate, reference)).toBeLessThanOrEqual(TOLERANCE);
  });
});
