import { largest } from '../common/extremes.js';
import { OBJECTIVES, type ObjectiveName } from './objectives.js';
import type { ParamValue } from './parameters.js';

/** One design on the plot: its two plotted figures (summed over the workloads), and whether it is on the front. */
export interface PlotPoint {
  /** The design's index in the sweep (`point_index`), named on the front list. */
  readonly index: number;
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
  /** How a colour value is named in the legend (a size in bytes as `32 KiB`); default String. */
  readonly formatColor?: (value: ParamValue) => string;
  readonly x: ObjectiveName;
  readonly y: ObjectiveName;
}

/** Colour values listed in the legend; more are drawn but not named. */
const LEGEND_ENTRIES_MAX = 12;
/** Front designs listed under the legend (number and both figures); the rest are counted. */
const FRONT_ENTRIES_MAX = 8;
const PANEL_LINE_PX = 15;

/** A figure in its axis unit, four significant digits. */
const axisValue = (value: number): string => Number(value.toPrecision(4)).toString();

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
    index: p.index,
  }));
  const front = data.filter((d) => d.front).sort((a, b) => a.x - b.x || a.y - b.y);
  const numericColor = points.every((p) => typeof p.color === 'number');
  const colorValues = [...new Set(points.map((p) => p.color))];
  if (numericColor) (colorValues as number[]).sort((a, b) => a - b);
  const colorDomain = colorValues.map(String);
  // The scale keys on the raw value (numeric order); the legend names it as the spec would.
  const colorName = (value: ParamValue | undefined): string =>
    value === undefined ? 'all' : (options.formatColor ?? String)(value);
  const legend = colorDomain.length > 1 ? colorValues.slice(0, LEGEND_ENTRIES_MAX) : [];
  const unitOf = (label: string): string => /\(([^)]*)\)$/.exec(label)?.[1] ?? '';
  // The right-hand panel, line by line: the legend, then the front's designs by number, so a
  // ringed dot can be found in the tables (`point_index`).
  type PanelLine = { text: string; bold?: boolean; swatch?: string };
  const panel: PanelLine[] = [];
  if (legend.length > 0) {
    panel.push({ text: options.colorBy ?? 'colour', bold: true });
    for (const value of legend) panel.push({ text: colorName(value), swatch: String(value) });
    if (colorDomain.length > legend.length)
      panel.push({ text: `+${colorDomain.length - legend.length} more` });
    panel.push({ text: '' });
  }
  panel.push({ text: 'Pareto front', bold: true });
  for (const d of front.slice(0, FRONT_ENTRIES_MAX))
    panel.push({
      text: `#${d.index}  ${axisValue(d.x)} ${unitOf(xAxis.label)}, ${axisValue(d.y)} ${unitOf(yAxis.label)}`,
    });
  if (front.length > FRONT_ENTRIES_MAX) panel.push({ text: `+${front.length - FRONT_ENTRIES_MAX} more` });
  const panelDy = (k: number): number => 4 + PANEL_LINE_PX * k;
  const chart = Plot.plot({
    // biome-ignore lint/suspicious/noExplicitAny: linkedom's document stands in for the DOM type Plot expects (no DOM lib here).
    document: document as any,
    width: 860,
    height: 500,
    marginTop: 72,
    marginLeft: 80,
    marginRight: 230,
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
      // Title, subtitle and the panel as marks anchored to the frame, so the file is one <svg>.
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
      ...panel.flatMap((line, k) => [
        ...(line.swatch !== undefined
          ? [
              Plot.dot([line.swatch], {
                frameAnchor: 'top-right',
                dx: 22,
                dy: panelDy(k),
                fill: (d: string) => d,
                r: 5,
              }),
            ]
          : []),
        Plot.text([line.text], {
          frameAnchor: 'top-right',
          dx: line.swatch !== undefined ? 32 : 16,
          dy: panelDy(k),
          textAnchor: 'start',
          lineAnchor: 'middle',
          ...(line.bold ? { fontWeight: 'bold' } : {}),
          className: line.swatch !== undefined ? 'legend-entry' : line.bold ? 'panel-heading' : 'panel-line',
        }),
      ]),
    ],
  }) as unknown as SvgElement;
  chart.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${chart.outerHTML}\n`;
}
