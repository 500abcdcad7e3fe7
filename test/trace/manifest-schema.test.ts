import { describe, expect, test } from 'vitest';
import { isMacOp } from '../../src/core/sparse/layer-lowering.js';
import { LAYER_OPS } from '../../src/trace/manifest.js';

/**
 * The manifest schema is the file format's own type, not the core's re-exported: the core may learn
 * new ops without the format changing, but every op the format names must be one the core lowers.
 */
describe('trace manifest schema', () => {
  test('every MAC op the format names is one the core lowers; elementwise is the only other', () => {
    const others = LAYER_OPS.filter((op) => !isMacOp(op));
    expect(others).toEqual(['elementwise']);
  });
});
