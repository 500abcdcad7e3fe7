import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueExecutor, parseRedisUrl, QUEUE_NAME } from '../../src/sweep/job-queue.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { loadSweepSpec } from '../../src/sweep/spec.js';
import { assertBuiltCli, runBuiltCli } from '../cli/built-cli.js';
import { NO_REDIS_REASON, REDIS_AVAILABLE, startTestRedis, type TestRedis } from './redis-server.js';
import { directExecutor, GEMM_SPEC, storedRows, tempDir } from './sweep-helpers.js';

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
});
