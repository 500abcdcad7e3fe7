import { describe, expect, test } from 'vitest';
import { parseTopologyCsv, TopologyError } from '../../src/config/topology.js';

const HEADER =
  'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,';

function errorOf(text: string, gemm = false): TopologyError {
  try {
    parseTopologyCsv(text, 'net.csv', gemm ? 'gemm' : 'conv');
  } catch (error) {
    if (error instanceof TopologyError) return error;
    throw error;
  }
  throw new Error('expected a TopologyError');
}

describe('parseTopologyCsv: SCALE-Sim files as they are', () => {
  test('header skipped, trailing comma, spaces in cells', () => {
    const [l] = parseTopologyCsv(`${HEADER}\n Conv1 , 224 ,224, 7, 7, 3, 64, 2,\n`, 'x.csv', 'conv');
    expect(l).toEqual({
      name: 'Conv1',
      ifmapHeight: 224,
      ifmapWidth: 224,
      filterHeight: 7,
      filterWidth: 7,
      channels: 3,
      numFilters: 64,
      strideHeight: 2,
      strideWidth: 2,
    });
  });

  test('CRLF, no trailing comma, blank lines', () => {
    const layers = parseTopologyCsv(
      `${HEADER}\r\na,8,8,3,3,1,1,1\r\n\r\nb,8,8,3,3,1,1,1\r\n`,
      'x.csv',
      'conv',
    );
    expect(layers.map((l) => l.name)).toEqual(['a', 'b']);
  });

  test('optional ninth column is the stride along the width', () => {
    const [l] = parseTopologyCsv(`${HEADER} Stride Width,\nr,30,40,5,3,8,20,2,3,\n`, 'x.csv', 'conv');
    expect([l!.strideHeight, l!.strideWidth]).toEqual([2, 3]);
  });

  test('GEMM rows map to H = M, W = K, Fh = 1, Fw = K, C = 1, filters = N, stride 1', () => {
    const [l] = parseTopologyCsv('Layer, M, N, K,\ng, 128, 64, 256,\n', 'g.csv', 'gemm');
    expect(l).toEqual({
      name: 'g',
      ifmapHeight: 128,
      ifmapWidth: 256,
      filterHeight: 1,
      filterWidth: 256,
      channels: 1,
      numFilters: 64,
      strideHeight: 1,
      strideWidth: 1,
    });
  });
});

describe('parseTopologyCsv: errors name file, row (line of the file) and field', () => {
  test.each([
    [
      'non-numeric',
      'a,8,8,3,3,x,1,1,',
      'net.csv: row 2, field "Channels": must be a positive integer, got "x"',
    ],
    [
      'negative',
      'a,8,-8,3,3,1,1,1,',
      'net.csv: row 2, field "IFMAP Width": must be a positive integer, got -8 (negative)',
    ],
    ['zero stride', 'a,8,8,3,3,1,1,0,', 'net.csv: row 2, field "Strides": stride must be at least 1, got 0'],
    [
      'zero filters',
      'a,8,8,3,3,1,0,1,',
      'net.csv: row 2, field "Num Filter": value must be at least 1, got 0',
    ],
    [
      'filter larger than input',
      'a,8,8,9,3,1,1,1,',
      'net.csv: row 2, field "Filter Height": filter (9) is larger than the input (IFMAP Height 8)',
    ],
    [
      'empty cell',
      'a,8,,3,3,1,1,1,',
      'net.csv: row 2, field "IFMAP Width": is empty; expected a positive integer',
    ],
    ['empty name', ',8,8,3,3,1,1,1,', 'net.csv: row 2, field "Layer name": is empty'],
    [
      'fraction',
      'a,8,8,3,3,1.5,1,1,',
      'net.csv: row 2, field "Channels": must be a positive integer, got "1.5"',
    ],
  ])('%s', (_what, row, message) => {
    const error = errorOf(`${HEADER}\n${row}\n`);
    expect(error.message).toBe(message);
    expect(error.toLine()).toBe(`TopologyError: ${message}`);
  });

  test('row numbers count the lines of the file, blank ones included', () => {
    expect(errorOf(`${HEADER}\n\na,8,8,3,3,1,1,1,\n\nb,8,8,3,3,1,1,zz,\n`).location).toBe(
      'row 5, field "Strides"',
    );
  });

  test('too few fields, with a hint when it looks like a GEMM file', () => {
    expect(errorOf(`${HEADER}\na,8,8,3,3,\n`).message).toBe(
      'net.csv: row 2: expected 8 fields (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides), found 5',
    );
    expect(errorOf('Layer, M, N, K,\ng, 1, 2, 3,\n').message).toContain('is this a GEMM file? pass --gemm');
  });

  test('GEMM fields are named M, N, K', () => {
    expect(errorOf('Layer, M, N, K,\ng, 1, -2, 3,\n', true).message).toBe(
      'net.csv: row 2, field "N": must be a positive integer, got -2 (negative)',
    );
  });

  test('a file with only a header has no layers', () => {
    expect(errorOf(`${HEADER}\n`).message).toContain('no layers');
  });

  test('a layer whose MAC count exceeds 2^53 is refused', () => {
    expect(errorOf('Layer, M, N, K,\ng, 100000000, 100000000, 100000000,\n', true).message).toContain(
      'exceeds 2^53',
    );
  });
});
