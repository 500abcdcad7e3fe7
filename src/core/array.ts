/** Which operand stays put in the PEs while the others stream (SCALE-Sim's three dataflows). */
export type Dataflow = 'os' | 'ws' | 'is';

export const DATAFLOWS: readonly Dataflow[] = ['os', 'ws', 'is'];

/** A systolic array of `rows` × `cols` PEs (SCALE-Sim's ArrayHeight × ArrayWidth). */
export interface ArrayShape {
  readonly rows: number;
  readonly cols: number;
}

export function isDataflow(value: string): value is Dataflow {
  return (DATAFLOWS as readonly string[]).includes(value);
}
