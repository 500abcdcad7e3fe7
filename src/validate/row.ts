/** The six validation cases (docs/validation.md). */
export const CASE_NAMES = [
  'eyeriss-v2-pe',
  'eyeriss-v1-dram',
  'dstc',
  'stc-2of4',
  'scnn-trend',
  'delta-trend',
] as const;
export type CaseName = (typeof CASE_NAMES)[number];

/**
 * One compared figure. `published` is the source's number (null for a figure we only report, e.g. a
 * point of a curve); `errorPct` = (measured − published) / published · 100. `pass` is null for an
 * informational row (it does not decide the case), else whether `rule` holds.
 */
export interface ValidationRow {
  readonly name: CaseName;
  readonly metric: string;
  readonly published: number | null;
  readonly measured: number;
  readonly errorPct: number | null;
  readonly tolerancePct: number | null;
  readonly pass: boolean | null;
  /** The pass rule in words when it is not |errorPct| ≤ tolerancePct (e.g. "< 1", "within 0.75–0.95"). */
  readonly rule?: string;
  /** A figure the case's mean error averages (a published figure, not an invariant check). */
  readonly headline: boolean;
}

export interface CaseResult {
  readonly name: CaseName;
  readonly rows: readonly ValidationRow[];
  /** Sparseloop's (MICRO 2022) mean |error| on the same comparison, where it publishes one. */
  readonly sparseloopMeanErrorPct?: number;
}

export function errorPct(measured: number, published: number): number {
  return ((measured - published) / published) * 100;
}

/** A row that passes when |error| ≤ tolerance (in % of the published figure). */
export function toleranceRow(
  name: CaseName,
  metric: string,
  published: number,
  measured: number,
  tolerancePct: number,
  headline = true,
): ValidationRow {
  const error = errorPct(measured, published);
  // A tolerance of 0 means "exactly": compare the figures, not a rounded percentage.
  const pass = tolerancePct === 0 ? measured === published : Math.abs(error) <= tolerancePct;
  return { name, metric, published, measured, errorPct: error, tolerancePct, pass, headline };
}

/** A row whose pass rule is not a symmetric tolerance around the published figure. */
export function ruleRow(
  name: CaseName,
  metric: string,
  published: number | null,
  measured: number,
  rule: string,
  pass: boolean,
  headline = false,
): ValidationRow {
  return {
    name,
    metric,
    published,
    measured,
    errorPct: published === null ? null : errorPct(measured, published),
    tolerancePct: null,
    pass,
    rule,
    headline,
  };
}

/** A figure we report beside the published one without deciding the case by it. */
export function infoRow(
  name: CaseName,
  metric: string,
  published: number | null,
  measured: number,
): ValidationRow {
  const { rule: _rule, ...row } = ruleRow(name, metric, published, measured, '', false);
  return { ...row, pass: null };
}

/** Mean |error| over the headline rows (published figures that decide the case). */
export function meanAbsErrorPct(rows: readonly ValidationRow[]): number | null {
  const errors = rows.filter((r) => r.headline && r.errorPct !== null).map((r) => Math.abs(r.errorPct!));
  return errors.length > 0 ? errors.reduce((a, b) => a + b, 0) / errors.length : null;
}

export function casePassed(result: CaseResult): boolean {
  return result.rows.every((r) => r.pass !== false);
}
