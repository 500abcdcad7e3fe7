import type { ArrayShape, Dataflow } from './array.js';
import type { Gemm } from './gemm.js';

/**
 * How a GEMM's three dimensions land on the array (SCALE-Sim v2):
 *
 * | dataflow | on rows (Sr) | on columns (Sc) | streamed in time (T) |
 * |----------|--------------|-----------------|----------------------|
 * | os       | M            | N               | K                    |
 * | ws       | K            | N               | M                    |
 * | is       | K            | M               | N                    |
 *
 * The sparse engine needs the same assignment to know which mask bits a lane sees, so it is
 * exposed as `dims` (which GEMM dimension each role takes) as well as sizes.
 */
export type GemmDim = 'm' | 'n' | 'k';

export interface DimRoles {
  readonly rows: GemmDim;
  readonly cols: GemmDim;
  readonly time: GemmDim;
}

export const DATAFLOW_ROLES: Readonly<Record<Dataflow, DimRoles>> = {
  os: { rows: 'm', cols: 'n', time: 'k' },
  ws: { rows: 'k', cols: 'n', time: 'm' },
  is: { rows: 'k', cols: 'm', time: 'n' },
};

export interface Mapping {
  readonly roles: DimRoles;
  /** Extent of the GEMM dimension mapped onto array rows (Sr). */
  readonly spatialRows: number;
  /** Extent of the GEMM dimension mapped onto array columns (Sc). */
  readonly spatialCols: number;
  /** Extent of the GEMM dimension streamed through the array in time (T). */
  readonly temporal: number;
  readonly rowFolds: number;
  readonly colFolds: number;
  /** rowFolds × colFolds: how many times the array is refilled. */
  readonly folds: number;
}

export function mapGemm(gemm: Gemm, array: ArrayShape, dataflow: Dataflow): Mapping {
  const roles = DATAFLOW_ROLES[dataflow];
  const spatialRows = gemm[roles.rows];
  const spatialCols = gemm[roles.cols];
  const temporal = gemm[roles.time];
  const rowFolds = Math.ceil(spatialRows / array.rows);
  const colFolds = Math.ceil(spatialCols / array.cols);
  return { roles, spatialRows, spatialCols, temporal, rowFolds, colFolds, folds: rowFolds * colFolds };
}

/**
 * Mean over folds of the fraction of PEs a fold uses. The used rows summed over row folds is Sr
 * (likewise columns), so the mean collapses to Sr·Sc / (folds·R·C).
 */
export function mappingEfficiency(mapping: Mapping, array: ArrayShape): number {
  return (mapping.spatialRows * mapping.spatialCols) / (mapping.folds * array.rows * array.cols);
}
