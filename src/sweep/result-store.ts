import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { InputError } from '../common/input-error.js';
import { METRIC_NAMES, type MetricName, type Metrics } from './objectives.js';
import { type ParamValue, SWEEP_PARAMETERS } from './parameters.js';

/** The results database could not be opened or does not hold this sweep. */
export class ResultStoreError extends InputError {}

/** One result: a design point on one workload. */
export interface ResultRow {
  readonly key: string;
  readonly pointIndex: number;
  readonly workloadIndex: number;
  readonly workload: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly metrics: Metrics;
}

/** A job the sweep expects a row for (the whole space, every shard's share). */
export interface ExpectedRow {
  readonly key: string;
  readonly pointIndex: number;
  readonly workloadIndex: number;
  readonly workload: string;
  readonly params: Readonly<Record<string, ParamValue>>;
}

export const RESULTS_TABLE = 'results';
export const EXPECTED_TABLE = 'sweep_points';
export const META_TABLE = 'sweep_meta';

/** Runs `work` in one transaction (one WAL sync for all it writes), rolled back if it throws. */
async function inTransaction(connection: DuckDBConnection, work: () => Promise<void>): Promise<void> {
  await connection.run('BEGIN TRANSACTION');
  try {
    await work();
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A DuckDB identifier, quoted (parameter names carry dots). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
/** A DuckDB string literal. */
export const quoteString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

function paramColumnType(name: string): string {
  const kind = SWEEP_PARAMETERS[name]?.kind;
  if (!kind) return 'VARCHAR';
  if (kind.type === 'boolean') return 'BOOLEAN';
  if (kind.type === 'quantity' || (kind.type === 'int' && !kind.unbounded)) return 'DOUBLE';
  return 'VARCHAR';
}

/** The columns of the results table, in order: key, position, workload, one per parameter, one per metric. */
export function resultColumns(parameterNames: readonly string[]): { name: string; type: string }[] {
  return [
    { name: 'key', type: 'VARCHAR PRIMARY KEY' },
    { name: 'point_index', type: 'INTEGER' },
    { name: 'workload_index', type: 'INTEGER' },
    { name: 'workload', type: 'VARCHAR' },
    ...parameterNames.map((name) => ({ name, type: paramColumnType(name) })),
    ...METRIC_NAMES.map((name) => ({ name, type: 'DOUBLE' })),
    { name: 'tool_version', type: 'VARCHAR' },
  ];
}

/**
 * Starts loading DuckDB's module (its native library: about 150 ms of the main thread's CPU and as
 * much on other threads, once per process) without waiting for it. A sweep calls it first thing,
 * so the load runs while the spec is read and the worker threads start, not at the first `open`
 * beside the first designs. A failed load is reported by `open`.
 */
export function preloadDuckDb(): void {
  import('@duckdb/node-api').catch(() => {});
}

/**
 * The sweep's DuckDB file: one row per result, written (and committed) the moment it finishes, so a
 * killed run loses nothing it finished and a rerun skips what is there.
 */
export class ResultStore {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly path: string,
    private readonly parameterNames: readonly string[],
    private readonly toolVersion: string,
    private commitIntervalMs: number,
  ) {}

  /** Opens (or creates) the database for a sweep over `parameterNames`. */
  static async open(
    path: string,
    sweep: {
      readonly name: string;
      readonly parameterNames: readonly string[];
      readonly toolVersion: string;
      /**
       * How long a finished row may wait for company before its commit (0: committed at once,
       * grouped only with the rows arriving while a commit runs). See `insert`.
       */
      readonly commitIntervalMs?: number;
      /** DuckDB's threads (default: one per core). */
      readonly threads?: number;
    },
  ): Promise<ResultStore> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(
        path,
        sweep.threads !== undefined ? { threads: String(sweep.threads) } : {},
      );
    } catch (error) {
      throw new ResultStoreError(path, '', `cannot open the results database: ${firstLine(error)}`);
    }
    const connection = await instance.connect();
    const store = new ResultStore(
      instance,
      connection,
      path,
      sweep.parameterNames,
      sweep.toolVersion,
      sweep.commitIntervalMs ?? 0,
    );
    // One transaction for the tables: a commit that writes costs a WAL sync (milliseconds of CPU).
    try {
      await inTransaction(connection, async () => {
        await connection.run(
          `CREATE TABLE IF NOT EXISTS ${META_TABLE} (name VARCHAR, parameters VARCHAR, points INTEGER, workloads INTEGER)`,
        );
        const meta = (await connection.runAndReadAll(`SELECT parameters FROM ${META_TABLE}`)).getRowObjects();
        const wanted = JSON.stringify(sweep.parameterNames);
        if (meta.length > 0 && meta[0]!.parameters !== wanted)
          throw new ResultStoreError(
            path,
            '',
            `holds a sweep over ${String(meta[0]!.parameters)}, not ${wanted}: give another --out directory`,
          );
        const columns = resultColumns(sweep.parameterNames)
          .map((c) => `${quoteIdent(c.name)} ${c.type}`)
          .join(', ');
        await connection.run(`CREATE TABLE IF NOT EXISTS ${RESULTS_TABLE} (${columns})`);
        await connection.run(
          `CREATE TABLE IF NOT EXISTS ${EXPECTED_TABLE} (key VARCHAR PRIMARY KEY, point_index INTEGER, workload_index INTEGER, workload VARCHAR, params VARCHAR)`,
        );
      });
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  /** Records the whole space (once): merge names missing points from it. */
  async recordSpace(
    name: string,
    expected: readonly ExpectedRow[],
    points: number,
    workloads: number,
  ): Promise<void> {
    const count = Number(
      (await this.connection.runAndReadAll(`SELECT count(*) AS n FROM ${EXPECTED_TABLE}`)).getRowObjects()[0]!
        .n,
    );
    if (count === expected.length) return;
    // One transaction: the space is there whole or not at all, for one WAL sync.
    await inTransaction(this.connection, async () => {
      await this.connection.run(`DELETE FROM ${EXPECTED_TABLE}`);
      await this.connection.run(`DELETE FROM ${META_TABLE}`);
      const appender = await this.connection.createAppender(EXPECTED_TABLE);
      for (const row of expected) {
        appender.appendVarchar(row.key);
        appender.appendInteger(row.pointIndex);
        appender.appendInteger(row.workloadIndex);
        appender.appendVarchar(row.workload);
        appender.appendVarchar(JSON.stringify(row.params));
        appender.endRow();
      }
      appender.closeSync();
      await this.connection.run(`INSERT INTO ${META_TABLE} VALUES ($1, $2, $3, $4)`, [
        name,
        JSON.stringify(this.parameterNames),
        points,
        workloads,
      ]);
    });
  }

  async existingKeys(): Promise<Set<string>> {
    const reader = await this.connection.runAndReadAll(`SELECT key FROM ${RESULTS_TABLE}`);
    return new Set(reader.getColumns()[0]?.map(String) ?? []);
  }

  /**
   * Inserts one result (ignored when its key is there), committed before the promise resolves.
   * A commit costs a WAL sync and milliseconds of CPU, as much as a small design: committed row by
   * row, a sweep's commits competed with its workers for the cores. So rows are grouped: those
   * arriving while a commit runs go into the next one, and with a `commitIntervalMs` a commit
   * starts at most that often, taking every row finished meanwhile (one transaction). A row is
   * done only once committed, so a killed run loses at most the rows of that interval.
   */
  insert(row: ResultRow): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`${this.path}: the results database is closed`));
        return;
      }
      this.pending.push({ row, resolve, reject });
      this.schedule();
    });
  }

  /** Commits the waiting rows now, and every later row without waiting (a run ends or stops). */
  commitNow(): void {
    this.commitIntervalMs = 0;
    this.schedule();
  }

  /**
   * Commits the waiting rows, then folds the write-ahead log into the database file (DuckDB's
   * CHECKPOINT) while no commit runs: the checkpoint at `close` then covers only the rows after it.
   * A sweep calls it once no job is left to hand out, while its last jobs run. A failed checkpoint
   * changes nothing: the rows are committed in the log, and `close` checkpoints them.
   */
  async settle(): Promise<void> {
    this.commitNow();
    while (this.flushing) await this.flushing;
    if (this.closed) return;
    this.flushing = this.connection.run('CHECKPOINT').then(
      () => this.afterFlush(),
      () => this.afterFlush(),
    );
    await this.flushing;
  }

  private pending: { row: ResultRow; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** The commit (or checkpoint) running now: one at a time on the connection. */
  private flushing: Promise<void> | undefined;
  private closed = false;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private schedule(): void {
    if (this.flushing || this.pending.length === 0) return;
    const waitMs = this.lastCommitAt + this.commitIntervalMs - performance.now();
    if (waitMs > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, waitMs);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastCommitAt = performance.now();
    const batch = this.pending.splice(0);
    this.flushing = this.writeRows(batch.map((b) => b.row)).then(
      () => {
        for (const b of batch) b.resolve();
        this.afterFlush();
      },
      (error: unknown) => {
        for (const b of batch) b.reject(error);
        this.afterFlush();
      },
    );
  }

  private afterFlush(): void {
    this.flushing = undefined;
    this.schedule();
  }

  /** Keys in the results table: read once, then kept as rows are written (one process owns the file). */
  private present: Set<string> | undefined;

  /**
   * Appends the rows whose key is not there yet, in one transaction. Checking the keys here rather
   * than with `INSERT OR IGNORE` matters: DuckDB's conflict handling made each commit several times
   * dearer, and commits run beside the workers on the same cores. An appender skips SQL parsing,
   * planning and parameter binding: a commit of ten rows cost about half the CPU of prepared
   * `INSERT`s (DuckDB alone, loaded machine).
   */
  private async writeRows(rows: readonly ResultRow[]): Promise<void> {
    this.present ??= await this.existingKeys();
    const present = this.present;
    const fresh: ResultRow[] = [];
    const batchKeys = new Set<string>();
    for (const row of rows) {
      // The same key twice in one batch: the first is the one kept, as row by row.
      if (present.has(row.key) || batchKeys.has(row.key)) continue;
      batchKeys.add(row.key);
      fresh.push(row);
    }
    if (fresh.length === 0) return;
    const paramTypes = this.parameterNames.map(paramColumnType);
    await inTransaction(this.connection, async () => {
      const appender = await this.connection.createAppender(RESULTS_TABLE);
      try {
        for (const row of fresh) {
          appender.appendVarchar(row.key);
          appender.appendInteger(row.pointIndex);
          appender.appendInteger(row.workloadIndex);
          appender.appendVarchar(row.workload);
          this.parameterNames.forEach((name, i) => {
            const value = row.params[name]!;
            if (paramTypes[i] === 'VARCHAR') appender.appendVarchar(String(value));
            else if (paramTypes[i] === 'BOOLEAN') appender.appendBoolean(value as boolean);
            else appender.appendDouble(value as number);
          });
          for (const name of METRIC_NAMES) appender.appendDouble(row.metrics[name]);
          appender.appendVarchar(this.toolVersion);
          appender.endRow();
        }
      } finally {
        // Flushes the rows into the transaction (or throws, and the transaction is rolled back).
        appender.closeSync();
      }
    });
    for (const key of batchKeys) present.add(key);
  }

  /** Every result, in point then workload order. */
  async rows(): Promise<ResultRow[]> {
    const reader = await this.connection.runAndReadAll(
      `SELECT * FROM ${RESULTS_TABLE} ORDER BY point_index, workload_index`,
    );
    return reader
      .getRowObjectsJS()
      .map((r) => rowFromRecord(r as Record<string, unknown>, this.parameterNames));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const b of this.pending.splice(0))
      b.reject(new Error(`${this.path}: closed before this row was committed`));
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export function rowFromRecord(r: Record<string, unknown>, parameterNames: readonly string[]): ResultRow {
  const metrics = Object.fromEntries(METRIC_NAMES.map((m) => [m, Number(r[m])])) as Record<
    MetricName,
    number
  >;
  return {
    key: String(r.key),
    pointIndex: Number(r.point_index),
    workloadIndex: Number(r.workload_index),
    workload: String(r.workload),
    params: Object.fromEntries(parameterNames.map((p) => [p, r[p] as ParamValue])),
    metrics,
  };
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Writes the results of `connection`'s `source` (a table or a SELECT) as Parquet or CSV — DuckDB's
 * own writers — to a temporary name, then renames it into place.
 */
export async function exportTable(connection: DuckDBConnection, source: string, path: string): Promise<void> {
  const { commitFile, temporaryPathFor } = await import('../common/atomic-write.js');
  const format = path.toLowerCase().endsWith('.csv') ? "(HEADER, DELIMITER ',')" : '(FORMAT parquet)';
  const tmp = temporaryPathFor(path);
  await connection.run(`COPY (${source}) TO ${quoteString(tmp)} ${format}`);
  await commitFile(tmp, path, { overwrite: true });
}
