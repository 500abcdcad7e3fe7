import { largest } from '../common/extremes.js';
import { OBJECTIVES, type ObjectiveName } from './objectives.js';
import type { ParamValue } from './parameters.js';

/** One design on the plot: its two plotted figures (summed over the workloads), and whether it is on the front. */
export interface PlotPoint {
  readonly x: number;
  readonly y: number;
  readonly onFront: boolean;
  readonly color: ParamValue | undefined;
  readonly label: string;
}

/** What we use of the element Plot returns (the project compiles without the DOM lib). */
interface SvgElement {
  setAttribute(name: string, value: string): void;
  readonly outerHTML: string;
}

export interface PlotOptions {
  readonly title: string;
  readonly colorBy?: string;
  readonly x: ObjectiveName;
  readonly y: ObjectiveName;
}

/** Colour values listed in the legend; more are drawn but not named. */
const LEGEND_ENTRIES_MAX = 20;

/** A unit that puts the largest value between 1 and 1000. */
function scaleFor(
  maxValue: number,
  units: readonly (readonly [string, number])[],
): readonly [string, number] {
  for (const unit of units) if (maxValue >= unit[1]) return unit;
  return units[units.length - 1]!;
}

const TIME_UNITS = [
  ['s', 1],
  ['ms', 1e-3],
  ['µs', 1e-6],
  ['ns', 1e-9],
] as const;
const ENERGY_UNITS = [
  ['J', 1e12],
  ['mJ', 1e9],
  ['µJ', 1e6],
  ['nJ', 1e3],
  ['pJ', 1],
] as const;
const PJ_PER_MAC_UNITS = [
  ['nJ/MAC', 1e3],
  ['pJ/MAC', 1],
  ['fJ/MAC', 1e-3],
] as const;

/**
 * An objective's axis: its name and the unit that puts the largest value between 1 and 1000
 * (values are in the objective's metric unit: s, pJ, pJ·s, mm², pJ per MAC, ×).
 */
export function axisFor(
  objective: ObjectiveName,
  values: readonly number[],
): { label: string; scale: number } {
  const max = largest(
    values.filter((v) => Number.isFinite(v)),
    0,
  );
  const named = (name: string, [unit, scale]: readonly [string, number]) => ({
    label: `${name} (${unit})`,
    scale,
  });
  switch (objective) {
    case 'latency':
      return named('latency', scaleFor(max, TIME_UNITS));
    case 'energy':
      return named('energy', scaleFor(max, ENERGY_UNITS));
    case 'edp': {
      const [unit, scale] = scaleFor(max, ENERGY_UNITS);
      return { label: `energy-delay product (${unit}·s)`, scale };
    }
    case 'area':
      return { label: 'area (mm²)', scale: 1 };
    case 'pj-per-mac':
      return named('energy per dense MAC', scaleFor(max, PJ_PER_MAC_UNITS));
    case 'speedup':
      return { label: 'speedup over dense (×)', scale: 1 };
  }
}

/**
 * Two objectives of every design (latency vs energy by default), the Pareto front of those two drawn
 * as a line through its points and ringed, colour by a parameter: an SVG document rendered by
 * Observable Plot on a server-side DOM (linkedom).
 */
export async function plotFront(points: readonly PlotPoint[], options: PlotOptions): Promise<string> {
  const Plot = await import('@observablehq/plot');
  const { parseHTML } = await import('linkedom');
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const xAxis = axisFor(
    options.x,
    points.map((p) => p.x),
  );
  const yAxis = axisFor(
    options.y,
    points.map((p) => p.y),
  );
  const data = points.map((p) => ({
    x: p.x / xAxis.scale,
    y: p.y / yAxis.scale,
    color: p.color === undefined ? 'all' : String(p.color),
    front: p.onFront,
    label: p.label,
  }));
  const front = data.filter((d) => d.front).sort((a, b) => a.x - b.x || a.y - b.y);
  const numericColor = points.every((p) => typeof p.color === 'number');
  const colorValues = [...new Set(points.map((p) => p.color))];
  const colorDomain = numericColor
    ? (colorValues as number[]).sort((a, b) => a - b).map(String)
    : colorValues.map(String);
  const legend = colorDomain.length > 1 ? colorDomain.slice(0, LEGEND_ENTRIES_MAX) : [];
  const chart = Plot.plot({
    // biome-ignore lint/suspicious/noExplicitAny: linkedom's document stands in for the DOM type Plot expects (no DOM lib here).
    document: document as any,
    width: 760,
    height: 500,
    marginTop: 72,
    marginLeft: 80,
    marginRight: 130,
    marginBottom: 46,
    style: { background: 'white', fontSize: '12px' },
    x: { label: xAxis.label, labelAnchor: 'center', labelArrow: 'none', grid: true, nice: true },
    y: { label: yAxis.label, labelAnchor: 'center', labelArrow: 'none', grid: true, nice: true },
    color: { type: 'ordinal', domain: colorDomain, scheme: numericColor ? 'viridis' : 'tableau10' },
    marks: [
      Plot.frame({ strokeOpacity: 0.3 }),
      // Both minimised: the front is a staircase; with a maximised objective it is joined straight.
      Plot.line(front, {
        x: 'x',
        y: 'y',
        stroke: 'black',
        strokeWidth: 1.5,
        curve:
          OBJECTIVES[options.x].goal === 'min' && OBJECTIVES[options.y].goal === 'min'
            ? 'step-after'
            : 'linear',
      }),
      Plot.dot(data, { x: 'x', y: 'y', fill: 'color', r: 3.5, fillOpacity: 0.85, title: 'label' }),
      Plot.dot(front, { x: 'x', y: 'y', stroke: 'black', r: 7, strokeWidth: 1.5, className: 'pareto-front' }),
      // Title, subtitle and legend as marks anchored to the frame, so the file is one <svg>.
      Plot.text([options.title], {
        frameAnchor: 'top-left',
        dy: -58,
        fontSize: 15,
        fontWeight: 'bold',
        textAnchor: 'start',
      }),
      Plot.text([`${points.length} designs, ${front.length} on the Pareto front (ringed, joined)`], {
        frameAnchor: 'top-left',
        dy: -40,
        textAnchor: 'start',
      }),
      ...(legend.length > 0
        ? [
            Plot.text([options.colorBy ?? 'colour'], {
              frameAnchor: 'top-right',
              dx: 16,
              dy: 4,
              textAnchor: 'start',
              lineAnchor: 'middle',
              fontWeight: 'bold',
            }),
            ...legend.map((value, k) =>
              Plot.dot([value], {
                frameAnchor: 'top-right',
                dx: 22,
                dy: 22 + 16 * k,
                fill: (d: string) => d,
                r: 5,
              }),
            ),
            ...legend.map((value, k) =>
              Plot.text([value], {
                frameAnchor: 'top-right',
                dx: 32,
                dy: 22 + 16 * k,
                textAnchor: 'start',
                lineAnchor: 'middle',
              }),
            ),
          ]
        : []),
    ],
  }) as unknown as SvgElement;
  chart.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${chart.outerHTML}\n`;
}
