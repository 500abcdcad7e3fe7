import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../common/input-error.js';
import {
  EXPECTED_TABLE,
  exportTable,
  firstLine,
  META_TABLE,
  quoteString,
  RESULTS_TABLE,
} from './result-store.js';

/** A bad merge input or query. */
export class SweepDataError extends InputError {}

/** Problems named one per line, the rest counted. */
const NAMED_MAX = 20;

export interface MergeInput {
  readonly path: string;
  readonly label: string;
}

export interface MergeReport {
  readonly inputs: number;
  readonly rows: number;
  /** Jobs the shard databases say the sweep has; undefined when only tables were given. */
  readonly expected?: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly problems: readonly string[];
}

async function memoryConnection(): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

const rowsOf = async (c: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> =>
  (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];

/**
 * Joins shard results into one table. Every design × workload the shards' databases list must be
 * there exactly once: missing and duplicate ones are named (the output still holds each result once).
 * Two rows with one key but different figures are refused: the shards did not run the same simulator.
 */
export async function mergeResults(inputs: readonly MergeInput[], out: string): Promise<MergeReport> {
  const { connection: c, close } = await memoryConnection();
  try {
    const sources: string[] = [];
    const expectedSources: string[] = [];
    const metas: { label: string; parameters: string }[] = [];
    for (const [i, input] of inputs.entries()) {
      const lower = input.path.toLowerCase();
      try {
        if (lower.endsWith('.duckdb')) {
          await c.run(`ATTACH ${quoteString(input.path)} AS s${i} (READ_ONLY)`);
          sources.push(`SELECT *, ${i} AS src FROM s${i}.${RESULTS_TABLE}`);
          expectedSources.push(`SELECT * FROM s${i}.${EXPECTED_TABLE}`);
          for (const m of await rowsOf(c, `SELECT parameters FROM s${i}.${META_TABLE}`))
            metas.push({ label: input.label, parameters: String(m.parameters) });
        } else if (lower.endsWith('.parquet')) {
          sources.push(
            `SELECT * EXCLUDE (on_front), ${i} AS src FROM read_parquet(${quoteString(input.path)})`,
          );
        } else if (lower.endsWith('.csv')) {
          sources.push(
            `SELECT * EXCLUDE (on_front), ${i} AS src FROM read_csv_auto(${quoteString(input.path)})`,
          );
        } else throw new SweepDataError(input.label, '', 'is not a .duckdb, .parquet or .csv file');
        // Reading one row now turns a missing or foreign file into an error naming it.
        await c.run(`SELECT key FROM (${sources[sources.length - 1]}) LIMIT 1`);
      } catch (error) {
        if (error instanceof InputError) throw error;
        throw new SweepDataError(input.label, '', `not a sweep result: ${firstLine(error)}`);
      }
    }
    const differing = metas.find((m) => m.parameters !== metas[0]!.parameters);
    if (differing)
      throw new SweepDataError(
        differing.label,
        '',
        `sweeps ${differing.parameters}, not ${metas[0]!.parameters} like ${metas[0]!.label}`,
      );
    await c.run(`CREATE TABLE all_rows AS ${sources.join(' UNION ALL BY NAME ')}`);
    const problems: string[] = [];
    const label = (i: unknown): string => inputs[Number(i)]!.label;
    const dups = await rowsOf(
      c,
      `SELECT key, any_value(point_index) AS p, any_value(workload) AS w, list(src ORDER BY src) AS srcs,
              count(DISTINCT (cycles, energyPj, areaMm2)) AS variants
       FROM all_rows GROUP BY key HAVING count(*) > 1 ORDER BY p, w`,
    );
    const conflict = dups.find((d) => Number(d.variants) > 1);
    if (conflict)
      throw new SweepDataError(
        (conflict.srcs as unknown[]).map(label).join(' and '),
        `point #${conflict.p} on ${conflict.w}`,
        'the same design and workload have different figures (different simulator builds?)',
      );
    for (const d of dups.slice(0, NAMED_MAX))
      problems.push(
        `duplicate: point #${d.p} on ${d.w} (key ${d.key}) in ${(d.srcs as unknown[]).map(label).join(', ')}`,
      );
    if (dups.length > NAMED_MAX) problems.push(`… and ${dups.length - NAMED_MAX} more duplicates`);
    let expected: number | undefined;
    let missing = 0;
    if (expectedSources.length > 0) {
      await c.run(`CREATE TABLE expected AS SELECT DISTINCT * FROM (${expectedSources.join(' UNION ALL ')})`);
      expected = Number((await rowsOf(c, 'SELECT count(*) AS n FROM expected'))[0]!.n);
      const gone = await rowsOf(
        c,
        'SELECT e.* FROM expected e ANTI JOIN all_rows r ON e.key = r.key ORDER BY point_index, workload_index',
      );
      missing = gone.length;
      for (const g of gone.slice(0, NAMED_MAX))
        problems.push(`missing: point #${g.point_index} ${String(g.params)} on ${g.workload} (key ${g.key})`);
      if (gone.length > NAMED_MAX) problems.push(`… and ${gone.length - NAMED_MAX} more missing`);
    } else problems.push('no sweep database among the inputs: missing points cannot be named');
    const merged = `SELECT * EXCLUDE (src) FROM (SELECT DISTINCT ON (key) * FROM all_rows ORDER BY key, src) ORDER BY point_index, workload_index`;
    const rows = Number((await rowsOf(c, `SELECT count(DISTINCT key) AS n FROM all_rows`))[0]!.n);
    if (out.toLowerCase().endsWith('.duckdb'))
      await writeMergedDatabase(c, merged, out, expectedSources.length > 0, inputs);
    else await exportTable(c, merged, out);
    return {
      inputs: inputs.length,
      rows,
      ...(expected !== undefined ? { expected } : {}),
      missing,
      duplicates: dups.length,
      problems,
    };
  } finally {
    close();
  }
}

/** A merged database a later `sweep` run can resume into: results keyed as the shards', the space, the meta. */
async function writeMergedDatabase(
  c: DuckDBConnection,
  merged: string,
  out: string,
  haveSpace: boolean,
  inputs: readonly MergeInput[],
): Promise<void> {
  const { commitFile, temporaryPathFor } = await import('../common/atomic-write.js');
  const tmp = temporaryPathFor(out);
  await c.run(`ATTACH ${quoteString(tmp)} AS merged_out`);
  try {
    await c.run(`CREATE TABLE merged_out.${RESULTS_TABLE} AS ${merged}`);
    await c.run(`ALTER TABLE merged_out.${RESULTS_TABLE} ADD PRIMARY KEY (key)`);
    if (haveSpace) {
      await c.run(`CREATE TABLE merged_out.${EXPECTED_TABLE} AS SELECT * FROM expected`);
      await c.run(`ALTER TABLE merged_out.${EXPECTED_TABLE} ADD PRIMARY KEY (key)`);
      const first = inputs.findIndex((i) => i.path.toLowerCase().endsWith('.duckdb'));
      await c.run(`CREATE TABLE merged_out.${META_TABLE} AS SELECT * FROM s${first}.${META_TABLE}`);
    }
  } finally {
    await c.run('DETACH merged_out');
  }
  await commitFile(tmp, out, { overwrite: true });
}

/** Runs one SQL statement on a sweep database opened read-only: column names and rows. */
export async function queryDatabase(
  path: string,
  source: string,
  sql: string,
): Promise<{ columns: string[]; rows: unknown[][] }> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(path)) throw new SweepDataError(source, '', 'no such database');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  let instance: Awaited<ReturnType<typeof DuckDBInstance.create>>;
  try {
    instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  } catch (error) {
    throw new SweepDataError(source, '', `cannot open: ${firstLine(error)}`);
  }
  const c = await instance.connect();
  try {
    const reader = await c.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowsJS() as unknown[][] };
  } catch (error) {
    throw new SweepDataError(source, 'SQL', firstLine(error));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
