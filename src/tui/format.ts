/** Number formatting for narrow table cells: every figure fits in a few characters and keeps its unit. */

const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P'] as const;

/** 1234567 → "1.23M"; counts (MACs, cycles) below 1000 print whole. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const sign = value < 0 ? '-' : '';
  let magnitude = Math.abs(value);
  if (magnitude < 1000) return `${sign}${Math.round(magnitude)}`;
  let prefix = 0;
  while (magnitude >= 999.5 && prefix < SI_PREFIXES.length - 1) {
    magnitude /= 1000;
    prefix++;
  }
  return `${sign}${threeDigits(magnitude)}${SI_PREFIXES[prefix]}`;
}

/** Energy given in picojoules, printed in the unit that keeps three significant digits. */
export function formatEnergyPj(energyPj: number): string {
  if (!Number.isFinite(energyPj)) return '–';
  const units = ['pJ', 'nJ', 'µJ', 'mJ', 'J'] as const;
  let magnitude = Math.abs(energyPj);
  let unit = 0;
  while (magnitude >= 999.5 && unit < units.length - 1) {
    magnitude /= 1000;
    unit++;
  }
  return `${energyPj < 0 ? '-' : ''}${threeDigits(magnitude)} ${units[unit]}`;
}

/** A fraction in [0, 1] as a percentage with one decimal. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(1)}%`;
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  return `${ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

export function formatPjPerMac(pjPerMac: number): string {
  if (!Number.isFinite(pjPerMac)) return '–';
  return pjPerMac >= 100 ? pjPerMac.toFixed(0) : pjPerMac >= 10 ? pjPerMac.toFixed(1) : pjPerMac.toFixed(2);
}

export function formatClock(clockHz: number): string {
  if (clockHz >= 1e9) return `${threeDigits(clockHz / 1e9)} GHz`;
  if (clockHz >= 1e6) return `${threeDigits(clockHz / 1e6)} MHz`;
  return `${threeDigits(clockHz / 1e3)} kHz`;
}

function threeDigits(magnitude: number): string {
  if (magnitude >= 100) return magnitude.toFixed(0);
  if (magnitude >= 10) return magnitude.toFixed(1);
  return magnitude.toFixed(2);
}

/** Cuts a string to `width` characters, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width === 1) return '…';
  return `${text.slice(0, width - 1)}…`;
}

/**
 * A line made of parts (each a figure with its label), kept whole: the parts that fit in `width` in
 * order, joined by `separator`; a part that does not fit is dropped, never cut, so a shown figure is
 * always the whole figure. Only the first part may be cut (it is the line's label, e.g. a name).
 */
export function fitParts(parts: readonly string[], width: number, separator = ' '): string {
  const [first = '', ...rest] = parts;
  let line = truncate(first, width);
  if (line !== first) return line;
  for (const part of rest) {
    if (part !== '' && line.length + separator.length + part.length <= width) line += `${separator}${part}`;
  }
  return line;
}
