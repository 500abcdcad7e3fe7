/**
 * What a design-space sweep tells its front end: one event per finished design point, then the end.
 * Plain JSON-serialisable, like RunEvent, so a sweep can print them as NDJSON too.
 */
export type SweepParamValue = string | number | boolean;

export type SweepEvent =
  | {
      readonly type: 'point-done';
      /** Position of the point in the sweep's enumeration (stable across shards). */
      readonly index: number;
      /** The design point: array shape, dataflow, sparsity support, clock… as the sweep spec names them. */
      readonly params: Readonly<Record<string, SweepParamValue>>;
      /** What the point scored: `cycles`, `energyPj`, `areaMm2`… */
      readonly metrics: Readonly<Record<string, number>>;
    }
  | { readonly type: 'sweep-done'; readonly points: number };

/** A metric the sweep optimises, and in which direction. */
export interface SweepObjective {
  readonly metric: string;
  readonly goal: 'min' | 'max';
}
