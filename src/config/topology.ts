import { StringDecoder } from 'node:string_decoder';
import { InputError } from '../common/input-error.js';
import { gemmRowAsLayer, outputExtent } from '../core/lowering.js';
import type { TopologyKind, TopologyLayer } from '../core/topology-layer.js';
import { openRegularFile } from './read-text.js';

/** A topology CSV broke a rule: names the file, the row (1-based line of the file) and the field. */
export class TopologyError extends InputError {}

/** SCALE-Sim's column names, used in error messages exactly as its header spells them. */
export const CONV_FIELDS = [
  'Layer name',
  'IFMAP Height',
  'IFMAP Width',
  'Filter Height',
  'Filter Width',
  'Channels',
  'Num Filter',
  'Strides',
] as const;
/** Optional ninth column: a separate stride along the width. */
export const STRIDE_WIDTH_FIELD = 'Stride Width';
export const GEMM_FIELDS = ['Layer', 'M', 'N', 'K'] as const;

/**
 * Parses a SCALE-Sim topology CSV as SCALE-Sim reads it: the first line is a header and skipped,
 * blank lines are skipped, cells are trimmed, one trailing comma per row is allowed (SCALE-Sim
 * requires it; we accept rows without it too), CRLF or LF. Conv rows have 8 cells (a 9th is the
 * stride along the width); GEMM rows (`gemm: true`) have 4: `Layer, M, N, K`. Cells past those
 * are ignored, as SCALE-Sim does. Depthwise (`DP`) splitting happens at lowering, not here.
 */
export function parseTopologyCsv(text: string, source: string, kind: TopologyKind): readonly TopologyLayer[] {
  const layers: TopologyLayer[] = [];
  for (const [i, raw] of text.split(/\r\n|\r|\n/).entries()) {
    const layer = parseTopologyLine(raw, i + 1, source, kind);
    if (layer) layers.push(layer);
  }
  return requireLayers(layers, source);
}

function requireLayers<T>(layers: T[], source: string): T[] {
  if (layers.length === 0) {
    throw new TopologyError(
      source,
      '',
      'no layers (the first line is the header; layers follow, one per line)',
    );
  }
  return layers;
}

/** One line of a topology file (1-based `row`): its layer, or undefined for the header and blank lines. */
function parseTopologyLine(
  raw: string,
  row: number,
  source: string,
  kind: TopologyKind,
): TopologyLayer | undefined {
  if (row === 1) return undefined;
  const cells = raw.split(',');
  for (let i = 0; i < cells.length; i++) cells[i] = cells[i]!.trim();
  if (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
  if (cells.every((c) => c === '')) return undefined;
  return kind === 'gemm' ? parseGemmRow(cells, source, row) : parseConvRow(cells, source, row);
}

/**
 * Longest line a topology file may have. Real rows are under 100 characters; the cap keeps the
 * reader's memory bounded whatever the file holds (a file with no newline at all is one line).
 */
export const TOPOLOGY_MAX_LINE_CHARS = 4096;

/** Bytes read per chunk while streaming a topology file. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Streams a topology file's layers in file order, reading it in fixed-size chunks and yielding the
 * layers of each chunk together (one promise per chunk, not per row): the reader's memory does not
 * grow with the number of rows. Errors name the file and row as parseTopologyCsv's do.
 */
export async function* readTopology(
  path: string,
  kind: TopologyKind,
  source = path,
): AsyncGenerator<readonly TopologyLayer[], void, void> {
  const failFile = (rule: string): TopologyError => new TopologyError(source, '', rule);
  const { handle } = await openRegularFile(path, failFile);
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let pending = '';
    let row = 0;
    let any = false;
    let first = true;
    const tooLong = (at: number): TopologyError =>
      new TopologyError(source, `row ${at}`, `line longer than ${TOPOLOGY_MAX_LINE_CHARS} characters`);
    const lineOf = (raw: string): TopologyLayer | undefined => {
      row++;
      if (raw.length > TOPOLOGY_MAX_LINE_CHARS) {
        throw tooLong(row);
      }
      return parseTopologyLine(raw, row, source, kind);
    };
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null));
      } catch (error) {
        throw failFile(`cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      const chunk = bytesRead > 0 ? decoder.write(buffer.subarray(0, bytesRead)) : decoder.end();
      let text = pending + chunk;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      // Lines end at \n, \r\n or a lone \r; a \r at the end of a chunk waits for the next one.
      let start = 0;
      const end = bytesRead > 0 && text.endsWith('\r') ? text.length - 1 : text.length;
      const batch: TopologyLayer[] = [];
      for (let i = 0; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        const layer = lineOf(text.slice(start, i));
        if (layer) batch.push(layer);
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      pending = text.slice(start);
      if (pending.length > TOPOLOGY_MAX_LINE_CHARS) {
        throw tooLong(row + 1);
      }
      if (bytesRead === 0 && pending !== '') {
        const layer = lineOf(pending);
        if (layer) batch.push(layer);
      }
      if (batch.length > 0) {
        any = true;
        yield batch;
      }
      if (bytesRead === 0) break;
    }
    if (!any) requireLayers([], source);
  } finally {
    await handle.close();
  }
}

function fail(source: string, row: number, field: string | undefined, rule: string): TopologyError {
  return new TopologyError(source, field ? `row ${row}, field "${field}"` : `row ${row}`, rule);
}

function positiveInt(cell: string, source: string, row: number, field: string): number {
  if (/^[+-]?\d+$/.test(cell)) {
    const n = Number(cell);
    if (n < 0) throw fail(source, row, field, `must be a positive integer, got ${cell} (negative)`);
    if (n === 0) {
      const what = field.startsWith('Stride') ? 'stride' : 'value';
      throw fail(source, row, field, `${what} must be at least 1, got 0`);
    }
    if (!Number.isSafeInteger(n)) throw fail(source, row, field, `too large: ${cell}`);
    return n;
  }
  if (cell === '') throw fail(source, row, field, 'is empty; expected a positive integer');
  throw fail(source, row, field, `must be a positive integer, got "${cell}"`);
}

function parseName(cells: readonly string[], source: string, row: number, field: string): string {
  const name = cells[0] ?? '';
  if (name === '') throw fail(source, row, field, 'is empty');
  return name;
}

function parseConvRow(cells: readonly string[], source: string, row: number): TopologyLayer {
  if (cells.length < CONV_FIELDS.length) {
    const hint = cells.length === GEMM_FIELDS.length ? ' — is this a GEMM file? pass --gemm' : '';
    throw fail(
      source,
      row,
      undefined,
      `expected ${CONV_FIELDS.length} fields (${CONV_FIELDS.join(', ')}), found ${cells.length}${hint}`,
    );
  }
  const name = parseName(cells, source, row, CONV_FIELDS[0]);
  const v = (i: number): number => positiveInt(cells[i]!, source, row, CONV_FIELDS[i]!);
  const [ifmapHeight, ifmapWidth, filterHeight, filterWidth, channels, numFilters, strideHeight] = [
    v(1),
    v(2),
    v(3),
    v(4),
    v(5),
    v(6),
    v(7),
  ];
  const widthCell = cells[8];
  const strideWidth =
    widthCell !== undefined && widthCell !== ''
      ? positiveInt(widthCell, source, row, STRIDE_WIDTH_FIELD)
      : strideHeight;
  if (filterHeight > ifmapHeight) {
    throw fail(
      source,
      row,
      'Filter Height',
      `filter (${filterHeight}) is larger than the input (IFMAP Height ${ifmapHeight})`,
    );
  }
  if (filterWidth > ifmapWidth) {
    throw fail(
      source,
      row,
      'Filter Width',
      `filter (${filterWidth}) is larger than the input (IFMAP Width ${ifmapWidth})`,
    );
  }
  const layer: TopologyLayer = {
    name,
    ifmapHeight,
    ifmapWidth,
    filterHeight,
    filterWidth,
    channels,
    numFilters,
    strideHeight,
    strideWidth,
  };
  checkExactCount(layer, source, row);
  return layer;
}

function parseGemmRow(cells: readonly string[], source: string, row: number): TopologyLayer {
  if (cells.length < GEMM_FIELDS.length) {
    throw fail(
      source,
      row,
      undefined,
      `expected ${GEMM_FIELDS.length} fields (${GEMM_FIELDS.join(', ')}), found ${cells.length}`,
    );
  }
  const name = parseName(cells, source, row, GEMM_FIELDS[0]);
  const m = positiveInt(cells[1]!, source, row, 'M');
  const n = positiveInt(cells[2]!, source, row, 'N');
  const k = positiveInt(cells[3]!, source, row, 'K');
  const layer = gemmRowAsLayer(name, m, n, k);
  checkExactCount(layer, source, row);
  return layer;
}

/** MAC counts are exact integers: refuse a layer whose count would not fit a double exactly. */
function checkExactCount(layer: TopologyLayer, source: string, row: number): void {
  const e = outputExtent(layer.ifmapHeight, layer.filterHeight, layer.strideHeight);
  const f = outputExtent(layer.ifmapWidth, layer.filterWidth, layer.strideWidth);
  const macs = e * f * layer.filterHeight * layer.filterWidth * layer.channels * layer.numFilters;
  if (!Number.isSafeInteger(macs)) {
    throw fail(
      source,
      row,
      undefined,
      `layer too large: ${macs} MACs exceeds 2^53, exact counting impossible`,
    );
  }
}

/** Reads and parses a topology file (streamed, see readTopology); errors name it as `source`. */
export async function loadTopology(
  path: string,
  kind: TopologyKind,
  source = path,
): Promise<readonly TopologyLayer[]> {
  const layers: TopologyLayer[] = [];
  for await (const batch of readTopology(path, kind, source)) for (const layer of batch) layers.push(layer);
  return layers;
}
