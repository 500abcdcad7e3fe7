/**
 * Interop against real numpy (/usr/bin/python3; Debian's python3-numpy, installed by .ci/run).
 * These tests never skip: without numpy they fail and say how to install it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportTraceToNpy } from '../../src/trace/npy-export.js';
import { openTrace } from '../../src/trace/reader.js';
import { validateTrace } from '../../src/trace/validate.js';
import { TINY_LAYERS, writeTinyTrace } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const scriptsDir = fileURLToPath(new URL('./python/', import.meta.url));

function python(args: readonly string[]): string {
  const result = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error)
    throw new Error(`cannot run ${PYTHON}: ${result.error.message} (install python3 + python3-numpy)`);
  if (result.status !== 0)
    throw new Error(`${PYTHON} ${args.join(' ')} exited ${result.status}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

let dir: string;
beforeAll(async () => {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `numpy is required at ${PYTHON} for the trace interop tests: apt-get install python3-numpy (.ci/run does this). ${probe.stderr ?? ''}`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'deltasim-numpy-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('numpy reads our traces', () => {
  for (const dtype of ['F32', 'F16', 'I8'] as const) {
    test(`${dtype}: shapes, stored values, CRCs and packbits masks`, async () => {
      const path = join(dir, `ours-${dtype}.safetensors`);
      const tensors = await writeTinyTrace(path, { dtype, steps: 3 });
      const expectations = join(dir, `ours-${dtype}.json`);
      await writeFile(
        expectations,
        JSON.stringify({
          layers: TINY_LAYERS.map((l) => l.name),
          steps: 3,
          tensors: tensors.map((t) => ({ name: t.name, dtype, shape: t.shape, f32: b64(t.values) })),
        }),
      );
      expect(python([join(scriptsDir, 'read_trace.py'), path, expectations])).toMatch(/^ok \d+ tensors/);
    });
  }
});

describe('we read numpy-written traces', () => {
  test('a trace written from docs/trace-format.md alone reads back identically and validates', async () => {
    const path = join(dir, 'numpy.safetensors');
    const expectations = join(dir, 'numpy.json');
    python([join(scriptsDir, 'write_trace.py'), path, expectations, '11']);
    const expected = JSON.parse(await readFile(expectations, 'utf8')) as {
      tensors: { name: string; shape: number[]; values: string; mask: string }[];
    };
    const reader = await openTrace(path);
    try {
      expect(reader.manifest.producer).toBe('numpy-example');
      expect(new Set(reader.tensors().map((t) => t.dtype))).toEqual(new Set(['F32', 'F16', 'I8', 'U8']));
      for (const t of expected.tensors) {
        const values = await reader.readValues(t.name);
        expect(reader.info(t.name).shape).toEqual(t.shape);
        expect(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).toEqual(
          fromB64(t.values),
        );
        expect(await reader.readMask(t.name)).toEqual(fromB64(t.mask));
      }
    } finally {
      await reader.close();
    }
    expect(await validateTrace(path)).toEqual([]);
  });
});

describe('trace export --npy', () => {
  test('numpy.load opens every exported file with the stored dtype, shape and bytes', async () => {
    const path = join(dir, 'export.safetensors');
    await writeTinyTrace(path, { dtype: 'F16', steps: 2 });
    const out = join(dir, 'export-npy');
    const reader = await openTrace(path);
    try {
      const summary = await exportTraceToNpy(reader, out);
      expect(summary.files).toBe(reader.tensors().length);
      const loaded = JSON.parse(
        python([
          '-c',
          [
            'import json, sys, base64, numpy as np',
            'd = sys.argv[1]',
            "table = json.load(open(d + '/tensors.json'))",
            "manifest = json.load(open(d + '/manifest.json'))",
            'out = {}',
            'for name, t in table.items():',
            "    a = np.load(d + '/' + t['file'])",
            "    assert list(a.shape) == t['shape'], name",
            "    assert a.dtype == {'F32': '<f4', 'F16': '<f2', 'I8': 'i1', 'U8': 'u1'}[t['dtype']], name",
            '    out[name] = base64.b64encode(a.tobytes()).decode()',
            "print(json.dumps({'layers': [l['name'] for l in manifest['layers']], 'tensors': out}))",
          ].join('\n'),
          out,
        ]),
      ) as { layers: string[]; tensors: Record<string, string> };
      expect(loaded.layers).toEqual(TINY_LAYERS.map((l) => l.name));
      expect(Object.keys(loaded.tensors).sort()).toEqual(
        reader
          .tensors()
          .map((t) => t.name)
          .sort(),
      );
      for (const info of reader.tensors()) {
        expect(fromB64(loaded.tensors[info.name]!)).toEqual(await reader.readBytes(info.name));
      }
    } finally {
      await reader.close();
    }
  });
});

describe('docs/trace-format.md', () => {
  test('the numpy-only snippet runs on the golden trace', async () => {
    const docs = await readFile(
      fileURLToPath(new URL('../../docs/trace-format.md', import.meta.url)),
      'utf8',
    );
    const section = docs.slice(docs.indexOf('## 7.'));
    const snippet = section.slice(section.indexOf('```python\n') + 10, section.indexOf('```\n', 10));
    const out = spawnSync(PYTHON, ['-c', snippet], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^conv1 conv2d/);
    expect(out.stdout).toMatch(/density 0\.\d+/);
  });
});
