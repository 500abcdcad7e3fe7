/**
 * A minimal WebAssembly binary encoder: enough to write the project's small compute kernels (the
 * CRC / finiteness scan of src/trace/tensor-scan.ts, the AND + popcount lane counts of
 * src/core/sparse/lane-fold-kernel.ts, the mask popcount, row gather and bit transpose of
 * src/core/sparse/bit-matrix-kernel.ts) as code, with no toolchain and no downloaded binaries. Each
 * kernel is a handful of functions of i32 parameters over one exported memory. Opcodes and encodings
 * follow the WebAssembly core specification (binary format) and its fixed-width SIMD proposal.
 */
import { ceilDiv } from './ceil-div.js';

const uleb = (value: number): number[] => {
  const out: number[] = [];
  let n = value >>> 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};

const sleb = (value: number): number[] => {
  const out: number[] = [];
  let n = value | 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

/**
 * The bytes of `parts` (single bytes and runs of them) in order, as one array. Every encoder below
 * builds with it: `concat` copies whole arrays in one builtin call, where an array literal's spreads
 * step through each element's iterator in the interpreter — and encoding runs once per process (and
 * per worker thread), cold, so that cost (tens of ms for the project's kernels) was paid in full.
 */
export const seq = (...parts: readonly (number | readonly number[])[]): number[] =>
  ([] as number[]).concat(...(parts as (number | number[])[]));

const vec = (items: readonly (readonly number[])[]): number[] => seq(uleb(items.length), ...items);
const section = (id: number, body: readonly number[]): number[] => seq(id, uleb(body.length), body);
const name = (s: string): number[] => vec(Array.from(new TextEncoder().encode(s), (b) => [b]));

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const V128 = 0x7b;
export const F64 = 0x7c;

// One byte for the common small index or constant: these run thousands of times per encoding.
export const localGet = (i: number): number[] => (i < 0x80 ? [0x20, i] : seq(0x20, uleb(i)));
export const localSet = (i: number): number[] => (i < 0x80 ? [0x21, i] : seq(0x21, uleb(i)));
export const localTee = (i: number): number[] => (i < 0x80 ? [0x22, i] : seq(0x22, uleb(i)));
export const i32Const = (n: number): number[] => (n >= 0 && n < 0x40 ? [0x41, n] : seq(0x41, sleb(n)));
export const simd = (op: number, ...immediates: number[]): number[] => seq(0xfd, uleb(op), immediates);
/** Memory access immediates: alignment hint (log2 bytes), then a constant byte offset. */
const memarg = (alignLog2: number, offset: number): number[] => seq(alignLog2, uleb(offset));
export const i32Load = (offset = 0): number[] => seq(0x28, memarg(2, offset));
const i64Load = (offset = 0): number[] => seq(0x29, memarg(3, offset));
export const i32Store = (offset = 0): number[] => seq(0x36, memarg(2, offset));
export const i64Store = (offset = 0): number[] => seq(0x37, memarg(3, offset));
export const i64Const = (n: number): number[] => seq(0x42, sleb(n));
/** The i32, the i64 at byte `offset` from the address `ptr` (a local, or the instructions that push it). */
export const load32 = (ptr: Operand, offset = 0): number[] => seq(get(ptr), i32Load(offset));
export const load64 = (ptr: Operand, offset = 0): number[] => seq(get(ptr), i64Load(offset));
export const v128Load = (offset = 0): number[] => seq(simd(0x00), memarg(4, offset));
export const v128Store = (offset = 0): number[] => seq(simd(0x0b), memarg(4, offset));

export const OP = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Popcnt: 0x69,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i64Popcnt: 0x7b,
  i64Add: 0x7c,
  i64And: 0x83,
  i32WrapI64: 0xa7,
  f64Floor: 0x9c,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  i32TruncF64U: 0xab,
  f64ConvertI32U: 0xb8,
  v128And: simd(0x4e),
  v128Or: simd(0x50),
  v128Xor: simd(0x51),
  v128AnyTrue: simd(0x53),
  i16x8Eq: simd(0x2d),
  i32x4Eq: simd(0x37),
  i8x16Popcnt: simd(0x62),
  i16x8ExtaddPairwiseI8x16U: simd(0x7d),
  i32x4ExtaddPairwiseI16x8U: simd(0x7f),
  i16x8Add: simd(0x8e),
  i32x4Add: simd(0xae),
  i32x4ExtractLane: (lane: number): number[] => simd(0x1b, lane),
  i32Eq: 0x46,
  i32LtS: 0x48,
  i32GeS: 0x4e,
  i64Sub: 0x7d,
  i64Or: 0x84,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
  /** v128.const of sixteen zero bytes. */
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  i8x16Bitmask: simd(0x64),
  i8x16NarrowI16x8S: simd(0x65),
  i8x16Add: simd(0x6e),
  i16x8NarrowI32x4S: simd(0x85),
  i32x4Splat: simd(0x11),
  i32x4GtS: simd(0x3b),
  i32x4Sub: simd(0xb1),
  i32x4MaxU: simd(0xb9),
} as const;

// ---------------------------------------------------------------------------------------------------
// Structured code over locals: what every kernel writes its loops and address arithmetic with.
// An operand is a local's index or the instructions that push the value.

export type Operand = number | number[];

/** The instructions that push `x` (a local, or already instructions). */
export const get = (x: Operand): number[] => (typeof x === 'number' ? localGet(x) : x);
/** `local = value`. */
export const set = (local: number, value: Operand): number[] => seq(get(value), localSet(local));
/** `local = value`, the value left on the stack too. */
export const tee = (local: number, value: Operand): number[] => seq(get(value), localTee(local));
/**
 * `x op y` for a binary instruction `op`: the one form of every operation below, and of those a
 * single kernel writes for itself.
 */
export const binary =
  (op: number) =>
  (x: Operand, y: Operand): number[] =>
    seq(get(x), get(y), op);
/** `x + y`, `x − y`, `x · y`, `x & y`, `x << y`, `x >>> y` (i32). */
export const add = binary(OP.i32Add);
export const sub = binary(OP.i32Sub);
export const mul = binary(OP.i32Mul);
export const and = binary(OP.i32And);
export const shl = binary(OP.i32Shl);
export const shrU = binary(OP.i32ShrU);
/** `x == y`, `x != y`, `x < y` and `x ≥ y` unsigned (i32, leaving 1 or 0). */
export const eq = binary(OP.i32Eq);
export const ne = binary(OP.i32Ne);
export const ltU = binary(OP.i32LtU);
export const geU = binary(OP.i32GeU);
/** `x + y` (i64). */
export const add64 = binary(OP.i64Add);
/** The low 32 bits of the i64 `x`, as an i32. */
export const wrap = (x: Operand): number[] => seq(get(x), OP.i32WrapI64);
/** `local += step` (a constant). */
export const advance = (local: number, step: number): number[] => set(local, add(local, i32Const(step)));
/** `local += 1`. */
export const increment = (local: number): number[] => advance(local, 1);
/** `min(x, y)`, `max(x, y)`, unsigned, branch-free (`select`). */
export const minU = (x: Operand, y: Operand): number[] =>
  seq(get(x), get(y), get(x), get(y), OP.i32LtU, OP.select);
export const maxU = (x: Operand, y: Operand): number[] =>
  seq(get(x), get(y), get(x), get(y), OP.i32GtU, OP.select);

/** `do body while (cond)` (cond leaves an i32). */
export const doWhile = (body: number[], cond: number[]): number[] =>
  seq(OP.loop, body, cond, OP.brIf, 0, OP.end);
/** `if (!skip) code`, as a block left early (skip leaves an i32): code's own branches stay relative to it. */
export const unless = (skip: number[], code: number[]): number[] =>
  seq(OP.block, skip, OP.brIf, 0, code, OP.end);
/** `while (!done) body` (done leaves an i32). */
export const until = (done: number[], body: number[]): number[] =>
  seq(OP.block, OP.loop, done, OP.brIf, 1, body, OP.br, 0, OP.end, OP.end);
/** `while (cond) body` (cond leaves an i32). */
export const whileTrue = (cond: number[], body: number[]): number[] => until(seq(cond, OP.i32Eqz), body);
/** `while (p < end) { body; p += step }` (p, end: i32 locals, unsigned). */
export const forPointer = (p: number, end: number, step: number, body: number[]): number[] =>
  until(geU(p, end), seq(body, advance(p, step)));
/** `for (counter = 0; counter < limit; counter++) body` (i32 locals, unsigned; no pass when limit is 0). */
export const forCount = (counter: number, limit: number, body: number[]): number[] =>
  seq(
    set(counter, i32Const(0)),
    unless(seq(get(limit), OP.i32Eqz), doWhile(body, ltU(tee(counter, add(counter, i32Const(1))), limit))),
  );

export interface WasmFunction {
  readonly name: string;
  /** Parameter count; every parameter and the result are i32. */
  readonly params: number;
  /** Extra locals, in runs of one type: [count, type]. */
  readonly locals: readonly (readonly [number, number])[];
  /** The instructions, without the final `end`. */
  readonly code: readonly number[];
}

/**
 * A module of `functions` (each (i32 × params) → i32) and one memory of `pages` 64 KiB pages,
 * exported as `memory`; functions are exported under their names.
 */
export function encodeModule(functions: readonly WasmFunction[], pages: number): Uint8Array {
  const arities = [...new Set(functions.map((f) => f.params))];
  const types = arities.map((n) => seq(0x60, vec(Array.from({ length: n }, () => [I32])), vec([[I32]])));
  const exports = [
    seq(name('memory'), 0x02, 0),
    ...functions.map((f, i) => seq(name(f.name), 0x00, uleb(i))),
  ];
  const bodies = functions.map((f) => {
    const body = seq(vec(f.locals.map(([count, type]) => seq(uleb(count), type))), f.code, OP.end);
    return seq(uleb(body.length), body);
  });
  return new Uint8Array(
    seq(
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, vec(types)),
      section(3, vec(functions.map((f) => uleb(arities.indexOf(f.params))))),
      section(5, vec([seq(0x00, uleb(pages))])),
      section(7, vec(exports)),
      section(10, vec(bodies)),
    ),
  );
}

/** An instance's exported memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Bytes in a WebAssembly memory page. */
export const WASM_PAGE_BYTES = 65_536;

/** Grows `memory` to at least `bytes` (views taken before are then detached). */
export function reserveMemory(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (have < bytes) memory.grow(ceilDiv(bytes - have, WASM_PAGE_BYTES));
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

/**
 * Compiles and instantiates `module`; undefined when this engine has no WebAssembly or rejects the
 * module (no SIMD on an old engine, `--jitless`): callers then use their portable JavaScript path.
 */
export function instantiate(module: Uint8Array): Record<string, unknown> | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return undefined;
  try {
    if (!wasm.validate(module)) return undefined;
    return new wasm.Instance(new wasm.Module(module)).exports;
  } catch {
    return undefined;
  }
}
