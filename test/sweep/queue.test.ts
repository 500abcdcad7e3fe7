import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueExecutor, parseRedisUrl, QUEUE_NAME } from '../../src/sweep/job-queue.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { loadSweepSpec } from '../../src/sweep/spec.js';
import { assertBuiltCli, BUILT_MAIN, ROOT, runBuiltCli } from '../cli/built-cli.js';
import { NO_REDIS_REASON, REDIS_AVAILABLE, startTestRedis, type TestRedis } from './redis-server.js';
import { directExecutor, FIXTURES, GEMM_SPEC, storedRows, tempDir } from './sweep-helpers.js';

if (!REDIS_AVAILABLE) console.warn(`queue tests skipped: ${NO_REDIS_REASON}`);

describe.skipIf(!REDIS_AVAILABLE)('sweep through a Redis queue', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
    const { Queue } = await import('bullmq');
    const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url, 'test') });
    await queue.obliterate({ force: true });
    await queue.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('two sweep-worker processes give the local run, each job once', async () => {
    assertBuiltCli();
    const spec = await loadSweepSpec(GEMM_SPEC);
    const dir = tempDir();
    const local = join(dir, 'local.duckdb');
    await runSweep({ spec, dbPath: local, toolVersion: 'test', executor: directExecutor() });
    const workers = [0, 1].map(() =>
      runBuiltCli(['sweep-worker', redis.url, '--workers', '1', '--exit-when-idle', '6'], {
        timeoutMs: 120_000,
      }),
    );
    const executor = await createQueueExecutor(parseRedisUrl(redis.url, 'test'));
    const queued = join(dir, 'queued.duckdb');
    try {
      const summary = await runSweep({ spec, dbPath: queued, toolVersion: 'test', executor });
      expect(summary.computed).toBe(24);
    } finally {
      await executor.close();
    }
    const results = await Promise.all(workers);
    const ran = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return Number(/ran (\d+) jobs/.exec(r.stderr)?.[1]);
    });
    expect(ran[0]! + ran[1]!).toBe(24);
    expect(await storedRows(queued, spec)).toEqual(await storedRows(local, spec));
  });

  it('a sweep-worker killed (SIGKILL) while holding a job loses nothing: another worker runs it after the lock lapses', async () => {
    assertBuiltCli();
    const { Queue, QueueEvents } = await import('bullmq');
    const connection = parseRedisUrl(redis.url, 'test');
    const queue = new Queue(QUEUE_NAME, { connection });
    await queue.obliterate({ force: true });
    const spec = await loadSweepSpec(join(FIXTURES, 'trace-sweep.yaml'));
    const dir = tempDir();
    const local = join(dir, 'local.duckdb');
    await runSweep({ spec, dbPath: local, toolVersion: 'test', executor: directExecutor() });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    await events.waitUntilReady();
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => void stalled.push(jobId));
    const executor = await createQueueExecutor(connection);
    const queued = join(dir, 'queued.duckdb');
    const sweep = runSweep({ spec, dbPath: queued, toolVersion: 'test', executor });
    // Worker A takes the first job; it is killed as soon as the job is active (thread start-up and a
    // trace replay take far longer), so it dies holding the job's lock.
    const a = spawn(
      process.execPath,
      [BUILT_MAIN, 'sweep-worker', redis.url, '--workers', '1', '--lock-seconds', '1'],
      {
        cwd: ROOT,
        stdio: 'ignore',
      },
    );
    const held = await new Promise<string>((resolve) =>
      events.once('active', ({ jobId }) => {
        a.kill('SIGKILL');
        resolve(jobId);
      }),
    );
    await new Promise((r) => a.once('exit', r));
    expect(a.signalCode).toBe('SIGKILL');
    const b = await runBuiltCli(
      ['sweep-worker', redis.url, '--workers', '1', '--lock-seconds', '1', '--exit-when-idle', '3'],
      { timeoutMs: 120_000 },
    );
    try {
      const summary = await sweep;
      expect(summary.computed).toBe(3);
    } finally {
      await executor.close();
      await events.close();
    }
    expect(b.code, b.stderr).toBe(0);
    // The killed worker's job went back to the queue once its lock lapsed, and B ran all three.
    expect(stalled).toContain(held);
    expect(b.stderr).toMatch(/ran 3 jobs/);
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
    await queue.close();
    expect(await storedRows(queued, spec)).toEqual(await storedRows(local, spec));
  }, 300_000);
});
