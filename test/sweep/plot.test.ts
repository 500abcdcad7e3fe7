import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';
import { type PlotPoint, plotFront } from '../../src/sweep/plot.js';
import { formatParamValue } from '../../src/sweep/sweep-report.js';

/** Four designs coloured by a size in bytes; #2 and #3 are the latency/energy front. */
const POINTS: PlotPoint[] = [
  { index: 0, x: 4e-4, y: 6e8, onFront: false, color: 32768, label: '#0' },
  { index: 1, x: 3e-4, y: 5e8, onFront: false, color: 131072, label: '#1' },
  { index: 2, x: 1.4e-4, y: 1.35e8, onFront: true, color: 131072, label: '#2' },
  { index: 3, x: 1.5e-4, y: 1.3e8, onFront: true, color: 32768, label: '#3' },
];

async function texts(points: readonly PlotPoint[], formatted: boolean): Promise<string[]> {
  const svg = await plotFront(points, {
    title: 't',
    colorBy: 'sram.filter',
    ...(formatted ? { formatColor: (v) => formatParamValue('sram.filter', v) } : {}),
    x: 'latency',
    y: 'energy',
  });
  const { document } = parseHTML(svg);
  return [...document.querySelectorAll('text')].map((t) => t.textContent ?? '');
}

describe('plotFront', () => {
  it('names colour values as the spec writes them, in numeric order, and lists the front by design number', async () => {
    const all = await texts(POINTS, true);
    const legend = all.filter((t) => /KiB$/.test(t));
    expect(legend).toEqual(['32 KiB', '128 KiB']);
    expect(all).not.toContain('32768');
    const heading = all.indexOf('Pareto front');
    expect(heading).toBeGreaterThan(all.indexOf('128 KiB'));
    // The front by latency, each figure in its axis unit.
    expect(all.slice(heading + 1, heading + 3)).toEqual(['#2  140 µs, 135 µJ', '#3  150 µs, 130 µJ']);
    expect(all).toContain('latency (µs)');
    expect(all).toContain('energy (µJ)');
  });

  it('without a formatter the legend shows the raw values', async () => {
    expect((await texts(POINTS, false)).filter((t) => /^\d+$/.test(t) && t.length > 3)).toEqual([
      '32768',
      '131072',
    ]);
  });

  it('counts the front designs past the listed ones', async () => {
    const many: PlotPoint[] = Array.from({ length: 11 }, (_, i) => ({
      index: i,
      x: 1 + i,
      y: 20 - i,
      onFront: true,
      color: 'os',
      label: `#${i}`,
    }));
    const all = await texts(many, false);
    expect(all.filter((t) => /^#\d+ /.test(t))).toHaveLength(8);
    expect(all).toContain('+3 more');
  });
});
