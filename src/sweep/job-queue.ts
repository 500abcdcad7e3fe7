import { UsageError } from '../common/input-error.js';
import type { PointTask } from './evaluate-point.js';
import type { Metrics } from './objectives.js';
import type { PointPool } from './point-pool.js';
import type { JobExecutor } from './run-sweep.js';

/** The BullMQ queue every sweep coordinator fills and every `sweep-worker` drains. */
export const QUEUE_NAME = 'deltasim-sweep';

export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  /** BullMQ workers block on Redis: ioredis must not give up on a slow reply. */
  readonly maxRetriesPerRequest: null;
}

/** `redis://[user:password@]HOST[:PORT][/DB]` as ioredis options. */
export function parseRedisUrl(text: string, flag: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(flag, '', `"${text}" is not a URL (redis://HOST:PORT)`);
  }
  if (url.protocol !== 'redis:') throw new UsageError(flag, '', `"${text}" is not a redis:// URL`);
  if (!url.hostname) throw new UsageError(flag, '', `"${text}" names no host`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db))
    throw new UsageError(flag, '', `"${db}" is not a Redis database number`);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Job payloads and results cross Redis as JSON, which has no Infinity (an unbounded buffer or
 * bandwidth): it travels as a marker string and is restored on the other side.
 */
const INFINITY = '∞';
export const encodeForQueue = (value: unknown): string =>
  JSON.stringify(value, (_key, v) => (v === Number.POSITIVE_INFINITY ? INFINITY : v));
export const decodeFromQueue = <T>(text: string): T =>
  JSON.parse(text, (_key, v) => (v === INFINITY ? Number.POSITIVE_INFINITY : v)) as T;

/** Jobs a coordinator keeps queued and waited on at once. */
const IN_FLIGHT = 256;

/**
 * Runs jobs through Redis: each is added with its content key as job id (adding it again is a no-op,
 * and a finished job's result is read back), retried with exponential backoff, and its result comes
 * back to this process, which writes the database.
 */
export async function createQueueExecutor(connection: RedisConnection): Promise<JobExecutor> {
  const { Queue, QueueEvents } = await import('bullmq');
  const queue = new Queue(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  await events.waitUntilReady();
  // Every job in flight listens on both for its end; Node would warn past 10 listeners.
  queue.setMaxListeners(IN_FLIGHT * 2);
  events.setMaxListeners(IN_FLIGHT * 2);
  return {
    parallelism: IN_FLIGHT,
    async run(key: string, task: PointTask): Promise<Metrics> {
      const job = await queue.add(
        'point',
        { task: encodeForQueue(task) },
        {
          jobId: key,
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 7 * 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      );
      const result: unknown = await job.waitUntilFinished(events);
      if (typeof result !== 'string') throw new Error(`queue job ${key} returned no result`);
      return decodeFromQueue<Metrics>(result);
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}

export interface QueueWorkerHandle {
  close(): Promise<void>;
  /** Resolves once the queue has had nothing waiting or running for `idleMs`. */
  idle(idleMs: number): Promise<void>;
  readonly processed: () => number;
}

/**
 * A worker process's side: takes jobs from the queue and runs them on the local pool. A job whose
 * worker dies (its lock lapses) goes back to the queue and another worker takes it.
 */
/** How long a worker's lock on a job lasts without renewal: a dead worker's job is free after it. */
export const DEFAULT_LOCK_MS = 10_000;

export async function startQueueWorker(
  connection: RedisConnection,
  pool: PointPool,
  options: { readonly lockMs?: number } = {},
): Promise<QueueWorkerHandle> {
  const lockMs = options.lockMs ?? DEFAULT_LOCK_MS;
  const { Queue, Worker } = await import('bullmq');
  let processed = 0;
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      const metrics = await pool.run(decodeFromQueue<PointTask>((job.data as { task: string }).task));
      processed++;
      return encodeForQueue(metrics);
    },
    // A live worker renews its locks every lockMs / 2; every worker checks for lapsed ones as often.
    {
      connection,
      concurrency: pool.threads,
      lockDuration: lockMs,
      stalledInterval: Math.max(100, lockMs / 2),
    },
  );
  await worker.waitUntilReady();
  const queue = new Queue(QUEUE_NAME, { connection });
  return {
    processed: () => processed,
    async idle(idleMs: number) {
      let quietSince = Date.now();
      for (;;) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        const busy = Object.values(counts).some((n) => n > 0);
        if (busy) quietSince = Date.now();
        else if (Date.now() - quietSince >= idleMs) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
