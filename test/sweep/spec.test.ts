import { describe, expect, it } from 'vitest';
import { enumeratePoints, sampleIndices } from '../../src/sweep/enumerate.js';
import { SweepSpecError } from '../../src/sweep/spec.js';
import { gemmSpec } from './sweep-helpers.js';

async function specError(
  parameters: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  try {
    const spec = await gemmSpec(parameters, extra);
    await enumeratePoints(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(SweepSpecError);
    const line = (error as SweepSpecError).toLine();
    expect(line).not.toContain('\n');
    return line;
  }
  throw new Error('the spec was accepted');
}

describe('sweep spec', () => {
  it('expands lists, ranges and expressions with units into base units', async () => {
    const spec = await gemmSpec({
      rows: '2.^(3:6)',
      cols: '8:8:24',
      clock: ['800 MHz', '1 GHz'],
      'sram.filter': '[32, 64] KiB',
      'bandwidth.dram': '16 B/cycle',
      dataflow: ['os', 'ws'],
    });
    const values = Object.fromEntries(spec.parameters.map((p) => [p.name, p.values]));
    expect(values).toEqual({
      rows: [8, 16, 32, 64],
      cols: [8, 16, 24],
      clock: [8e8, 1e9],
      'sram.filter': [32768, 65536],
      'bandwidth.dram': [16],
      dataflow: ['os', 'ws'],
    });
  });

  it.each([
    [{ bogus: [1, 2] }, {}, /parameters\.bogus: unknown parameter/],
    [{ clock: ['800 MB'] }, {}, /parameters\.clock\[0\]: bad unit: 800 MB is not convertible to Hz/],
    [{ clock: [800] }, {}, /parameters\.clock\[0\]: 800 needs a unit/],
    [{ rows: '2.^(3:' }, {}, /parameters\.rows: "2\.\^\(3:" does not evaluate/],
    [{ rows: 'import({x: 1})' }, {}, /parameters\.rows: .*import is not available in a sweep spec/],
    [{ rows: 'createUnit("foo")' }, {}, /parameters\.rows: .*createUnit is not available/],
    [{ rows: 'evaluate("2")' }, {}, /parameters\.rows: .*evaluate is not available/],
    [{ rows: 'parse("2")' }, {}, /parameters\.rows: .*parse is not available/],
    [{ rows: [0, 4] }, {}, /parameters\.rows\[0\]: 0 is not an integer ≥ 1/],
    [{ dataflow: ['rs'] }, {}, /parameters\.dataflow\[0\]: "rs" is not one of os, ws, is/],
    [
      { rows: [4] },
      { constraints: ['area <= 4 mm^2 and nope > 1'] },
      /constraints\[0\]: .*Undefined symbol nope/,
    ],
    [{ rows: [4] }, { constraints: ['rows + 1'] }, /constraints\[0\]: "rows \+ 1" is not a comparison/],
    [{ rows: [4] }, { objectives: ['latency', 'joy'] }, /objectives\[1\]: must be one of/],
    [{ rows: [4] }, { sampling: { method: 'random' } }, /sampling\.count: must be an integer/],
    [{ rows: [4] }, { plot: { color: 'cols' } }, /plot\.color: must name one of the swept parameters/],
  ])('%j %j → one line naming the key', async (parameters, extra, expected) => {
    expect(await specError(parameters, extra)).toMatch(expected);
  });

  it('constraints drop designs, with units and the area model', async () => {
    const spec = await gemmSpec(
      { rows: [8, 64], cols: [8, 64] },
      { constraints: ['area <= 1 mm^2', 'pes >= 64'] },
    );
    const { points, rejectedByConstraints, enumerated } = await enumeratePoints(spec);
    expect(enumerated).toBe(4);
    for (const p of points) expect(p.area.total).toBeLessThanOrEqual(1);
    expect(points.length + rejectedByConstraints).toBe(4);
    expect(points.map((p) => p.params)).toContainEqual({ rows: 8, cols: 8 });
    expect(points.map((p) => p.params)).not.toContainEqual({ rows: 64, cols: 64 });
  });

  it('Latin hypercube uses every stratum of every parameter once, and a seed fixes the sample', async () => {
    const spec = await gemmSpec(
      { rows: '1:8', cols: '1:8' },
      { sampling: { method: 'latin-hypercube', count: 8 }, seed: 7 },
    );
    const sample = [...sampleIndices(spec)];
    for (const j of [0, 1]) expect(sample.map((idx) => idx[j]).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...sampleIndices(spec)]).toEqual(sample);
    const other = await gemmSpec(
      { rows: '1:8', cols: '1:8' },
      { sampling: { method: 'latin-hypercube', count: 8 }, seed: 8 },
    );
    expect([...sampleIndices(other)]).not.toEqual(sample);
  });
});
