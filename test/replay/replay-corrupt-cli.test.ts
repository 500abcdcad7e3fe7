/**
 * A corrupted trace fails `replay` as a user meets it: a fresh `node dist/cli/main.js replay`
 * process, exit code 2, one line on stderr naming the file and the tensor, no report. The
 * layer is large enough (F16 input 401 KB, F32 803 KB) that its checksum and its mask check run in
 * the WebAssembly kernel, not the small-tensor fallback.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorName } from '../../src/trace/manifest.js';
import { synthesizeTrace, syntheticLayers } from '../../src/trace/synthesize.js';
import { assertBuiltCli, BUILT_MAIN } from '../cli/built-cli.js';
import { tensorOffset, withoutTensorCrcs } from '../trace/corrupt.js';

assertBuiltCli();

const LAYER = 'layer1.0.conv1';
const INPUT = tensorName(LAYER, 'input', 0);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltasim-replay-corrupt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function replay(path: string) {
  const r = spawnSync(process.execPath, [BUILT_MAIN, 'replay', path, '--preset', 'sparten-like', '--json'], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Index of the first zero element at or after `from` (sign bit ignored) in little-endian values. */
function firstZero(bytes: Uint8Array, at: number, width: 2 | 4, from: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = from; ; i++) {
    const bits =
      width === 2 ? view.getUint16(at + 2 * i, true) & 0x7fff : view.getUint32(at + 4 * i, true) << 1;
    if (bits === 0) return i;
  }
}

describe.each([
  ['F16', 2],
  ['F32', 4],
] as const)('replay of a corrupted %s trace (fresh CLI process)', (dtype, width) => {
  let good: Uint8Array;
  const write = async (name: string, bytes: Uint8Array): Promise<string> => {
    const path = join(dir, `${dtype}-${name}.safetensors`);
    await writeFile(path, bytes);
    return path;
  };
  beforeAll(async () => {
    const path = join(dir, `${dtype}-good.safetensors`);
    const layers = syntheticLayers('resnet18').filter((l) => l.name === LAYER);
    await synthesizeTrace(path, { shape: 'resnet18', layers, density: 0.5, steps: 1, seed: 1, dtype });
    good = new Uint8Array(await readFile(path));
  }, 120_000);

  it('the intact trace replays', () => {
    const r = replay(join(dir, `${dtype}-good.safetensors`));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(events.map((e) => e.type)).toContain('run-done');
  }, 120_000);

  it('one flipped bit of a checksummed tensor: CRC-32 mismatch naming the file and the tensor', async () => {
    const b = good.slice();
    b[tensorOffset(b, INPUT) + 5001 * width]! ^= 0x04;
    const path = await write('crc', b);
    const r = replay(path);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('"run-done"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${path}: tensor "${INPUT}": CRC-32 mismatch: data corrupted`);
  }, 120_000);

  it('a zero value made non-zero (checksums dropped): the mask disagrees, naming the mask', async () => {
    const b = withoutTensorCrcs(good);
    const at = tensorOffset(b, INPUT);
    // Past the first 4,096 values: inside the kernel's groups of 32, not the tail.
    const i = firstZero(b, at, width, 4099);
    b[at + width * i + width - 2]! ^= 0x01;
    const path = await write('mask', b);
    const r = replay(path);
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('"run-done"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${path}: tensor "${INPUT}#mask": mask disagrees with the values`);
  }, 120_000);

  it('a zero value made −0 (checksums dropped) is still zero: the replay runs', async () => {
    const b = withoutTensorCrcs(good);
    const at = tensorOffset(b, INPUT);
    const i = firstZero(b, at, width, 4099);
    b[at + width * i + width - 1]! ^= 0x80;
    const r = replay(await write('negative-zero', b));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);
});
