import { describe, expect, it } from 'vitest';
import { hardwareFromDocument } from '../../src/config/hardware-file.js';

const load = (doc: unknown) => hardwareFromDocument(doc, 'hw.yaml', '.', 'hw');

describe('hardware file: formats.rlePackBits and weightFetch', () => {
  it('absent: entries back to back and whole weights (the existing behaviour)', async () => {
    const hw = await load({});
    expect(hw.rlePackBits).toBeUndefined();
    expect(hw.weightFetch).toBeUndefined();
  });

  it('reads them', async () => {
    const hw = await load({
      precision: 'fp16',
      formats: { activations: 'rle', rleRunBits: 5, rlePackBits: 64 },
      weightFetch: 'nonzero-inputs',
    });
    expect(hw.rlePackBits).toBe(64);
    expect(hw.weightFetch).toBe('nonzero-inputs');
  });

  it('names the file and field when a value is impossible', async () => {
    // 16-bit words and 5-bit runs do not fit one entry in 20 bits.
    await expect(load({ precision: 'fp16', formats: { rleRunBits: 5, rlePackBits: 20 } })).rejects.toThrow(
      /hw\.yaml.*formats\.rlePackBits/,
    );
    await expect(load({ weightFetch: 'columns' })).rejects.toThrow(/hw\.yaml.*weightFetch/);
  });
});
