import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { tensorName } from '../../src/trace/manifest.js';
import { editManifest, rewriteHeader, tensorOffset, withoutChecksums } from '../trace/corrupt.js';
import { TINY_LAYERS, writeTinyTrace } from '../trace/fixtures.js';
import { GOLDEN_TINY_OPTIONS, GOLDEN_TINY_TRACE } from '../trace/make-golden.js';

function fakeIo(cwd: string) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd,
  };
  return { io, out: () => stdout, err: () => stderr };
}

let dir: string;
let golden: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-cli-trace-'));
  golden = new Uint8Array(await readFile(GOLDEN_TINY_TRACE));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const f = fakeIo(dir);
  const code = await runCli(argv, f.io);
  return { code, out: f.out(), err: f.err() };
}

describe('deltasim trace inspect', () => {
  test('--json: MACs from the manifest, densities from the masks', async () => {
    const { code, out } = await run(['trace', 'inspect', GOLDEN_TINY_TRACE, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(out) as {
      steps: number;
      layers: {
        name: string;
        macs: number;
        activationDensity: number;
        deltaDensity: number | null;
        weightDensity: number | null;
      }[];
    };
    expect(summary.steps).toBe(GOLDEN_TINY_OPTIONS.steps);
    // Recompute from the values the fixture wrote.
    const expected = await writeTinyTrace(join(dir, 'again.safetensors'), GOLDEN_TINY_OPTIONS);
    const density = (names: string[]) => {
      const tensors = expected.filter((t) => names.includes(t.name));
      const nonZero = tensors.reduce((a, t) => a + t.values.filter((v) => v !== 0).length, 0);
      return nonZero / tensors.reduce((a, t) => a + t.values.length, 0);
    };
    const steps = [...Array(summary.steps).keys()];
    for (const layer of TINY_LAYERS) {
      const got = summary.layers.find((l) => l.name === layer.name)!;
      expect(got.macs).toBe(layer.gemm.m * layer.gemm.n * layer.gemm.k * layer.gemmCount * summary.steps);
      expect(got.activationDensity).toBeCloseTo(
        density(steps.map((s) => tensorName(layer.name, 'input', s))),
        12,
      );
      if (layer.roles.includes('delta')) {
        expect(got.deltaDensity).toBeCloseTo(
          density(steps.map((s) => tensorName(layer.name, 'delta', s))),
          12,
        );
      } else expect(got.deltaDensity).toBeNull();
      if (layer.roles.includes('weight')) {
        expect(got.weightDensity).toBeCloseTo(density([tensorName(layer.name, 'weight')]), 12);
      } else expect(got.weightDensity).toBeNull();
    }
  });

  test('plain: one row per layer', async () => {
    const { code, out } = await run(['trace', 'inspect', GOLDEN_TINY_TRACE]);
    expect(code).toBe(0);
    expect(out).toContain('tiny-example');
    for (const layer of TINY_LAYERS) expect(out).toMatch(new RegExp(`^${layer.name}\\s+${layer.op}`, 'm'));
  });

  test('a corrupt trace: one line, exit 2', async () => {
    const path = join(dir, 'inspect-bad.safetensors');
    await writeFile(path, golden.subarray(0, 100));
    const { code, err } = await run(['trace', 'inspect', path]);
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(path);
  });

  test.each([
    ['a missing file', undefined, /cannot read \(ENOENT\)/],
    ['an empty file', '', /header length: file has 0 bytes/],
    ['a text file', '# not a trace\n\nsome prose that is long enough\n', /header length: \d+ exceeds/],
  ] as const)('%s: one line naming the file, exit 2', async (name, content, message) => {
    const path = join(dir, `inspect-${name.replaceAll(' ', '-')}`);
    if (content !== undefined) await writeFile(path, content);
    const { code, err } = await run(['trace', 'inspect', path]);
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(path);
    expect(err).toMatch(message);
  });
});

/** Each corruption class, the rule its message must name, and the exit code. */
const CORRUPTIONS: readonly { name: string; make: (g: Uint8Array) => Uint8Array; message: RegExp }[] = [
  { name: 'truncated', make: (g) => g.subarray(0, g.length - 5), message: /truncated/ },
  {
    name: 'flipped data byte',
    make: (g) => {
      const b = g.slice();
      b[tensorOffset(b, tensorName('conv1', 'input', 1)) + 2]! ^= 0x10;
      return b;
    },
    message: /CRC-32 mismatch/,
  },
  {
    name: 'flipped header byte',
    make: (g) => {
      const b = g.slice();
      b[8]! ^= 0x01;
      return b;
    },
    message: /header JSON must start with|not valid JSON/,
  },
  {
    name: 'wrong offsets',
    make: (g) =>
      rewriteHeader(g, (h) => {
        (h[tensorName('fc3', 'weight')] as { data_offsets: number[] }).data_offsets[0]! += 8;
        return undefined;
      }),
    message: /data_offsets/,
  },
  {
    name: 'huge header length',
    make: (g) => {
      const b = g.slice();
      new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
      return b;
    },
    message: /header length: \d+ exceeds/,
  },
  {
    name: 'duplicate names',
    make: (g) =>
      rewriteHeader(g, (h) => {
        const json = JSON.stringify(h);
        const key = JSON.stringify(tensorName('fc3', 'weight'));
        return json.replace('{', `{${key}:${JSON.stringify(h[tensorName('fc3', 'weight')])},`);
      }),
    message: /duplicate key/,
  },
  {
    name: 'unknown dtype',
    make: (g) =>
      rewriteHeader(g, (h) => {
        (h[tensorName('fc3', 'weight')] as { dtype: string }).dtype = 'F64';
        return undefined;
      }),
    message: /dtype "F64" is not one of/,
  },
  {
    name: 'byte size ≠ dtype × shape',
    make: (g) =>
      rewriteHeader(g, (h) => {
        (h[tensorName('fc3', 'weight')] as { shape: number[] }).shape = [36, 4];
        return undefined;
      }),
    message: /needs \d+/,
  },
  {
    name: 'unknown manifest version',
    make: (g) => editManifest(g, (m) => (m.version = 2)),
    message: /version 2 is not known/,
  },
  {
    name: 'tensor named by a layer is missing',
    make: (g) =>
      rewriteHeader(g, (h) => {
        const name = tensorName('dw2', 'delta', 1);
        h[`${name}-renamed`] = h[name];
        delete h[name];
        return undefined;
      }),
    message: /named by the manifest but missing/,
  },
  {
    name: 'shape differs from the manifest',
    make: (g) =>
      editManifest(g, (m) => {
        (m.layers as { operandShape: number[] }[])[2]!.operandShape = [5, 36];
      }),
    message: /but the manifest implies/,
  },
  {
    name: 'mask disagrees with values',
    make: (g) => {
      const b = withoutChecksums(g);
      b[tensorOffset(b, `${tensorName('conv1', 'input', 0)}#mask`)]! ^= 0x01;
      return b;
    },
    message: /mask disagrees with the values/,
  },
  {
    name: 'NaN in values',
    make: (g) => {
      const b = withoutChecksums(g);
      new DataView(b.buffer).setFloat32(tensorOffset(b, tensorName('conv1', 'weight')) + 4, Number.NaN, true);
      return b;
    },
    message: /NaN or Infinity/,
  },
  {
    name: 'header starts with a byte-order mark',
    make: (g) => rewriteHeader(g, (h) => `\uFEFF${JSON.stringify(h)}`),
    message: /byte-order mark/,
  },
  {
    name: 'manifest nested 50,000 deep',
    make: (g) =>
      rewriteHeader(g, (h) => {
        const text = h.__metadata__['deltasim.manifest']!;
        h.__metadata__['deltasim.manifest'] =
          `${text.slice(0, -1)},"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
        delete h.__metadata__['deltasim.checksums'];
        return undefined;
      }),
    message: /nested deeper than 64 levels/,
  },
  {
    name: 'duplicate key in the manifest',
    make: (g) =>
      rewriteHeader(g, (h) => {
        h.__metadata__['deltasim.manifest'] =
          `${h.__metadata__['deltasim.manifest']!.slice(0, -1)},"seed":8}`;
        delete h.__metadata__['deltasim.checksums'];
        return undefined;
      }),
    message: /duplicate key "seed"/,
  },
  {
    name: 'every tensor aliasing one byte range',
    make: (g) =>
      rewriteHeader(g, (h) => {
        const first = h[tensorName('conv1', 'weight')] as { data_offsets: number[] };
        for (const [k, v] of Object.entries(h)) {
          if (k !== '__metadata__') (v as { data_offsets: number[] }).data_offsets = [...first.data_offsets];
        }
        return undefined;
      }),
    message: /overlap|needs \d+/,
  },
  {
    name: '100,000 zero-size tensors the manifest does not name',
    make: (g) =>
      rewriteHeader(g, (h) => {
        for (let i = 0; i < 100_000; i++) h[`z/${i}`] = { dtype: 'U8', shape: [0], data_offsets: [0, 0] };
        return undefined;
      }),
    message: /not named by the manifest/,
  },
  {
    name: 'gemm m inconsistent with the shapes',
    make: (g) => editManifest(g, (m) => ((m.layers as { gemm: { m: number } }[])[0]!.gemm.m = 35)),
    message: /manifest\.layers\[0\]\.gemm\.m: expected 6×6 = 36/,
  },
  {
    name: 'gemm k inconsistent with the kernel',
    make: (g) => editManifest(g, (m) => ((m.layers as { gemm: { k: number } }[])[0]!.gemm.k = 17)),
    message: /manifest\.layers\[0\]\.gemm\.k/,
  },
  {
    name: 'gemmCount of a depthwise layer ≠ its channels',
    make: (g) => editManifest(g, (m) => ((m.layers as { gemmCount: number }[])[1]!.gemmCount = 3)),
    message: /manifest\.layers\[1\]\.gemmCount/,
  },
  {
    name: 'stride that does not give the GEMM rows',
    make: (g) => editManifest(g, (m) => ((m.layers as { stride: number[] }[])[1]!.stride = [1, 1])),
    message: /manifest\.layers\[1\]\.gemm\.m/,
  },
  {
    name: 'a MAC layer without a B operand',
    make: (g) => editManifest(g, (m) => ((m.layers as { roles: string[] }[])[2]!.roles = ['input', 'delta'])),
    message: /manifest\.layers\[2\]\.roles: a MAC-bearing layer needs a weight or rhs/,
  },
  {
    name: 'gemm n the weight cannot hold (no operandShape)',
    make: (g) =>
      editManifest(g, (m) => {
        const layer = (m.layers as { operandShape?: number[]; gemm: { n: number } }[])[2]!;
        delete layer.operandShape;
        layer.gemm.n = 10_000_000;
      }),
    message: /holds 180 elements but manifest\.layers\[2\]/,
  },
  {
    name: 'a layer name with a newline',
    make: (g) => editManifest(g, (m) => ((m.layers as { name: string }[])[0]!.name = 'a\nb')),
    message: /"a\\u000ab" must not contain/,
  },
];

describe('deltasim trace validate', () => {
  test('the golden trace is valid: exit 0', async () => {
    const { code, out, err } = await run(['trace', 'validate', GOLDEN_TINY_TRACE]);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toContain('valid');
  });

  for (const c of CORRUPTIONS) {
    test(`rejects: ${c.name} (exit 1, one line naming file and rule)`, async () => {
      const path = join(dir, `bad-${c.name.replace(/\W+/g, '-')}.safetensors`);
      await writeFile(path, c.make(golden));
      const { code, err } = await run(['trace', 'validate', path]);
      expect(code).toBe(1);
      const lines = err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^deltasim: TraceError: /);
      expect(lines[0]).toContain(path);
      expect(lines[0]).toMatch(c.message);
    });

    test(`inspect, replay and export refuse it too: ${c.name} (exit 2, one line, nothing written)`, async () => {
      const path = join(dir, `refuse-${c.name.replace(/\W+/g, '-')}.safetensors`);
      await writeFile(path, c.make(golden));
      if (
        c.name !== 'mask disagrees with values' &&
        c.name !== 'NaN in values' &&
        c.name !== 'flipped data byte'
      ) {
        // inspect reads masks only; every structural or manifest rule stops it (no absurd MACs).
        const inspect = await run(['trace', 'inspect', path]);
        expect(inspect.code).toBe(2);
        expect(inspect.err.trim().split('\n')).toHaveLength(1);
        expect(inspect.err).toMatch(c.message);
      }
      const replay = await run(['replay', path, '--no-delta', '--json']);
      expect(replay.code).toBe(2);
      expect(replay.err.trim().split('\n')).toHaveLength(1);
      expect(replay.err).toMatch(c.message);
      const target = join(dir, `npy-refuse-${c.name.replace(/\W+/g, '-')}`);
      const exported = await run(['trace', 'export', path, '--npy', target]);
      expect(exported.code).toBe(2);
      expect(exported.err.trim().split('\n')).toHaveLength(1);
      expect(exported.err).toMatch(c.message);
      await expect(readdir(target)).rejects.toThrow();
      expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }

  test('an unreadable file: exit 2; a mix reports every trace', async () => {
    const { code, out, err } = await run([
      'trace',
      'validate',
      GOLDEN_TINY_TRACE,
      join(dir, 'missing.safetensors'),
    ]);
    expect(code).toBe(2);
    expect(out).toContain('valid');
    expect(err).toMatch(/missing\.safetensors: cannot read \(ENOENT\)/);
  });
});

describe('deltasim trace export', () => {
  test('writes one .npy per tensor + manifest.json atomically; refuses a non-empty target', async () => {
    const target = join(dir, 'npy-out');
    const first = await run(['trace', 'export', GOLDEN_TINY_TRACE, '--npy', target]);
    expect(first.code).toBe(0);
    const top = await readdir(target);
    expect(top).toEqual(expect.arrayContaining(['manifest.json', 'tensors.json', 'L', 'S0']));
    expect(await readdir(join(target, 'L', 'conv1'))).toEqual(['weight#mask.npy', 'weight.npy']);
    const second = await run(['trace', 'export', GOLDEN_TINY_TRACE, '--npy', target]);
    expect(second.code).toBe(2);
    expect(second.err).toMatch(/not empty/);
    // No temporary directories left beside the target.
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  test('an unusable --npy target: one line naming the flag, exit 2, nothing written', async () => {
    await writeFile(join(dir, 'npy-file'), 'x');
    for (const target of ['npy-file', 'npy-file/sub']) {
      const { code, err } = await run(['trace', 'export', GOLDEN_TINY_TRACE, '--npy', join(dir, target)]);
      expect(code, target).toBe(2);
      expect(err.trim().split('\n'), target).toHaveLength(1);
      expect(err, target).toMatch(/--npy: .*is not a directory/);
    }
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-') || f.includes('probe'))).toEqual([]);
  });

  test('a corrupt trace exports nothing', async () => {
    const path = join(dir, 'export-bad.safetensors');
    const b = golden.slice();
    b[tensorOffset(b, tensorName('fc3', 'input', 3)) + 1]! ^= 0x40;
    await writeFile(path, b);
    const target = join(dir, 'npy-bad');
    const { code, err } = await run(['trace', 'export', path, '--npy', target]);
    expect(code).toBe(2);
    expect(err).toMatch(/CRC-32 mismatch/);
    await expect(readdir(target)).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
