import { describe, expect, it } from 'vitest';
import { hardwareFromDocument } from '../../src/config/hardware-file.js';

const load = (doc: unknown) => hardwareFromDocument(doc, 'hw.yaml', '.', 'hw');

describe('hardware file: N:M structured weights', () => {
  it('reads support.weights: nm with support.nm', async () => {
    const hw = await load({
      support: { activations: 'none', weights: 'nm', deltas: 'none', nm: { n: 2, m: 4 } },
    });
    expect(hw.support.weights).toBe('nm');
    expect(hw.support.nm).toEqual({ n: 2, m: 4 });
  });

  it('names the file and field when the pattern is missing or impossible', async () => {
    await expect(load({ support: { weights: 'nm' } })).rejects.toThrow(/hw\.yaml.*support\.nm\.m/);
    await expect(load({ support: { weights: 'nm', nm: { n: 5, m: 4 } } })).rejects.toThrow(/support\.nm\.n/);
    await expect(load({ support: { weights: 'structured' } })).rejects.toThrow(/support\.weights/);
  });
});
