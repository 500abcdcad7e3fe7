/**
 * `parseJsonObject` finds duplicate keys by counting (text keys vs parsed keys) and only then looks
 * for the key: checked against a tree whose duplicates are known by construction, with keys that
 * need escapes, nested objects under arrays, and a duplicate that replaces a whole subtree.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseJsonObject } from '../../src/trace/safetensors.js';
import { TraceError } from '../../src/trace/trace-error.js';

/** An object as its entries in document order (keys may repeat), or an array, or a leaf. */
type Node =
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, Node])[] }
  | { readonly kind: 'array'; readonly items: readonly Node[] }
  | { readonly kind: 'leaf'; readonly value: number | string | null };

const key = fc.constantFrom('a', 'b', 'c', '__proto__', 'q"uote', 'back\\slash', 'ü', '1', '');
const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('leaf' as const),
      value: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    }),
    fc.record({
      kind: fc.constant('object' as const),
      entries: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('array' as const), items: fc.array(tie('node'), { maxLength: 3 }) }),
  ),
}));
const root = fc
  .array(fc.tuple(key, node), { maxLength: 5 })
  .map((entries): Node => ({ kind: 'object', entries }));

function text(n: Node): string {
  if (n.kind === 'leaf') return JSON.stringify(n.value);
  if (n.kind === 'array') return `[${n.items.map(text).join(',')}]`;
  return `{${n.entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`;
}

/** The first key seen a second time in one object, in document order (the oracle). */
function firstDuplicate(n: Node): string | undefined {
  if (n.kind === 'leaf') return undefined;
  if (n.kind === 'array') {
    for (const item of n.items) {
      const d = firstDuplicate(item);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (const [k, v] of n.entries) {
    if (seen.has(k)) return k;
    seen.add(k);
    const d = firstDuplicate(v);
    if (d !== undefined) return d;
  }
  return undefined;
}

describe('parseJsonObject duplicate keys', () => {
  test('rejected exactly when an object repeats a key, naming the first repeat', () => {
    fc.assert(
      fc.property(root, (tree) => {
        const json = text(tree);
        const duplicate = firstDuplicate(tree);
        if (duplicate === undefined) {
          expect(parseJsonObject('f', 'header', json)).toEqual(JSON.parse(json));
        } else {
          expect(() => parseJsonObject('f', 'header', json)).toThrow(
            new TraceError('f', 'header', `duplicate key ${JSON.stringify(duplicate)}`),
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a repeat whose first value had more keys than the object keeps', () => {
    expect(() => parseJsonObject('f', 'header', '{"a":{"x":1,"y":2},"b":[{"c":1}],"a":3}')).toThrow(
      /duplicate key "a"/,
    );
    expect(() => parseJsonObject('f', 'header', '{"a":[{"k":1,"k":2}]}')).toThrow(/duplicate key "k"/);
  });
});
