import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  add,
  add64,
  advance,
  and,
  binary,
  doWhile,
  encodeModule,
  eq,
  forCount,
  forPointer,
  get,
  geU,
  I32,
  i32Const,
  i64Const,
  increment,
  instantiate,
  localGet,
  localSet,
  localTee,
  ltU,
  maxU,
  minU,
  mul,
  ne,
  OP,
  seq,
  set,
  shl,
  shrU,
  sub,
  tee,
  unless,
  until,
  whileTrue,
  wrap,
} from '../../src/core/wasm-encoder.js';

type Fn = (...args: number[]) => number;

/**
 * The shared loop and arithmetic encoders run as a module, against the JavaScript they stand for:
 * a helper that emitted a wrong branch depth, comparison or operand order gives other numbers.
 * Parameters 0 x, 1 y; locals 2 i, 3 acc, 4 p, 5 end.
 */
const kernel = (() => {
  const [x, y, i, acc, p, end] = [0, 1, 2, 3, 4, 5];
  const fn = (name: string, code: number[]) => ({ name, params: 2, locals: [[4, I32]] as const, code });
  const extend = (local: number): number[] => seq(get(local), OP.i64ExtendI32U);
  const exports = instantiate(
    encodeModule(
      [
        // Σ_{i<x} (i·y − 1)
        fn('forCount', seq(forCount(i, x, set(acc, add(acc, sub(mul(i, y), i32Const(1))))), get(acc))),
        // steps of 3 from 0 while below x
        fn('forPointer', seq(set(end, x), forPointer(p, end, 3, increment(acc)), get(acc))),
        // halvings of x until it is 0, acc counting them (+ y once per pass)
        fn(
          'whileTrue',
          seq(whileTrue(get(x), seq(set(x, shrU(x, i32Const(1))), set(acc, add(acc, y)))), get(acc)),
        ),
        // x == 0: 7; else passes of i += 2 until i ≥ x (at least one)
        fn(
          'doWhileUnless',
          seq(
            set(acc, i32Const(7)),
            unless(
              seq(get(x), OP.i32Eqz),
              seq(set(acc, i32Const(0)), doWhile(seq(advance(i, 2), increment(acc)), ltU(i, x))),
            ),
            get(acc),
          ),
        ),
        // passes of acc += y + 1 until acc ≥ x (none when x is 0)
        fn('until', seq(until(geU(acc, x), set(acc, add(add(acc, y), i32Const(1)))), get(acc))),
        fn('minU', minU(x, y)),
        fn('maxU', maxU(x, y)),
        fn('and', and(x, y)),
        fn('shrU', shrU(x, y)),
        fn('eq', eq(x, y)),
        fn('ne', ne(x, y)),
        fn('ltU', ltU(x, y)),
        fn('geU', geU(x, y)),
        fn('shl', shl(x, y)),
        // a binary operation the encoder does not name: x < y signed
        fn('ltS', binary(OP.i32LtS)(x, y)),
        // (x − y) + acc where acc = x − y, through tee
        fn('tee', add(tee(acc, sub(x, y)), acc)),
        // the low and the high word of x + y in i64 (x, y zero-extended)
        fn('add64Low', wrap(add64(extend(x), extend(y)))),
        fn('add64High', wrap(seq(add64(extend(x), extend(y)), i64Const(32), OP.i64ShrU))),
      ],
      1,
    ),
  );
  if (!exports) throw new Error('WebAssembly is not available');
  return exports as Record<string, Fn>;
})();

const small = fc.integer({ min: 0, max: 300 });
const word = fc.integer({ min: 0, max: 0xffffffff });

test.prop([small, fc.integer({ min: -50, max: 50 })])('forCount: counter from 0 below the limit', (x, y) => {
  let acc = 0;
  for (let i = 0; i < x; i++) acc = (acc + i * y - 1) | 0;
  expect(kernel.forCount!(x, y)).toBe(acc);
});

test.prop([small])('forPointer: from 0 by its step while below the end', (x) => {
  expect(kernel.forPointer!(x, 0)).toBe(Math.ceil(x / 3));
});

test.prop([word, small])('whileTrue: tests before every pass, none when false at once', (x, y) => {
  let acc = 0;
  for (let v = x; v !== 0; v >>>= 1) acc += y;
  expect(kernel.whileTrue!(x, y)).toBe(acc);
});

test.prop([small])('doWhile runs once before its test; unless skips it', (x) => {
  expect(kernel.doWhileUnless!(x, 0)).toBe(x === 0 ? 7 : Math.max(1, Math.ceil(x / 2)));
});

test.prop([word, word])('minU and maxU compare unsigned', (x, y) => {
  expect(kernel.minU!(x, y) >>> 0).toBe(Math.min(x, y));
  expect(kernel.maxU!(x, y) >>> 0).toBe(Math.max(x, y));
});

test.prop([small, small])('until: tests before every pass, none when done at once', (x, y) => {
  let acc = 0;
  while (acc < x) acc += y + 1;
  expect(kernel.until!(x, y)).toBe(acc);
});

test.prop([word, word])(
  'and, shl, shrU, eq, ne, ltU, geU, binary and tee are the i32 operations they name',
  (x, y) => {
    expect(kernel.and!(x, y) >>> 0).toBe((x & y) >>> 0);
    expect(kernel.shl!(x, y) >>> 0).toBe((x << (y & 31)) >>> 0);
    expect(kernel.shrU!(x, y) >>> 0).toBe(x >>> (y & 31));
    expect(kernel.geU!(x, y)).toBe(x >= y ? 1 : 0);
    expect(kernel.ltS!(x, y)).toBe((x | 0) < (y | 0) ? 1 : 0);
    expect(kernel.eq!(x, y)).toBe(x === y ? 1 : 0);
    expect(kernel.ne!(x, y)).toBe(x !== y ? 1 : 0);
    expect(kernel.ltU!(x, y)).toBe(x < y ? 1 : 0);
    expect(kernel.tee!(x, y)).toBe((2 * (x - y)) | 0);
  },
);

test.prop([word, word])('add64 adds in 64 bits; wrap keeps the low word', (x, y) => {
  expect(kernel.add64Low!(x, y) >>> 0).toBe((x + y) % 2 ** 32);
  expect(kernel.add64High!(x, y)).toBe(Math.floor((x + y) / 2 ** 32));
});

/** A constant through a local of any index: the one-byte forms and the LEB128 ones give the same value. */
test.prop([fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 300 })])(
  'i32Const and local get / set / tee at any index',
  (n, index) => {
    const local = 2 + index;
    const exports = instantiate(
      encodeModule(
        [
          {
            name: 'f',
            params: 2,
            locals: [[index + 1, I32]],
            code: seq(i32Const(n), localTee(local), localSet(local), localGet(local)),
          },
        ],
        1,
      ),
    );
    expect((exports!.f as Fn)(0, 0)).toBe(n);
  },
);
