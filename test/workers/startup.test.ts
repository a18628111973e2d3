import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdingProxy } from '../helpers/net.js';
import { OwnRedis } from '../helpers/redis-server.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { uniquePrefix } from '../helpers/store.js';
import { WorkerProcess } from '../helpers/workers.js';

const artifactRoot = path.dirname(EXAMPLE_RUN);
let evicting: OwnRedis;
const started: WorkerProcess[] = [];
function worker(extra: Record<string, string> = {}, artifacts = artifactRoot): WorkerProcess {
  const w = new WorkerProcess({
    redisUrl: evicting.url,
    prefix: uniquePrefix('evict'),
    artifactRoot: artifacts,
    extra,
  });
  started.push(w);
  return w;
}

beforeAll(async () => {
  evicting = await OwnRedis.start({ maxmemoryPolicy: 'allkeys-lru' });
});

afterAll(async () => {
  await Promise.all(started.map((w) => w.stop('SIGKILL')));
  await evicting.stop();
});

describe('worker start-up', () => {
  it('refuses to start when Redis may evict keys (maxmemory-policy not noeviction)', async () => {
    const w = worker();
    expect(await w.exited).toBe(2);
    expect(w.output).toMatch(/maxmemory-policy is "allkeys-lru"; BullMQ needs "noeviction"/);
  });

  it('starts with a loud error log when REDIS_MAXMEMORY_CHECK=warn', async () => {
    const w = worker({ REDIS_MAXMEMORY_CHECK: 'warn' });
    await w.ready();
    expect(w.output).toMatch(/"level":50.*maxmemory-policy is \\"allkeys-lru\\"/);
    expect(await w.stop('SIGTERM')).toBe(0);
  });

  it('stops with the variable name when configuration is missing', async () => {
    const w = worker({}, '');
    expect(await w.exited).toBe(2);
    expect(w.output).toMatch(/ARTIFACT_ROOT is not set/);
  });
});

describe('worker shutdown without Redis', () => {
  it('SIGTERM still ends the process (bounded) when Redis went away', async () => {
    const gone = await OwnRedis.start();
    // Redis behind a proxy that can cut the network without closing a connection: the worker's
    // Redis calls then hang (as in a partition) instead of failing fast
    const proxy = await holdingProxy(Number(new URL(gone.url).port));
    proxy.release();
    const w = new WorkerProcess({
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      prefix: uniquePrefix('gone'),
      artifactRoot,
      extra: { WORKER_SHUTDOWN_TIMEOUT_MS: '500' },
    });
    started.push(w);
    await w.ready();
    proxy.freeze();
    await gone.stop();
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(1);
    expect(w.output).toMatch(/shutdown did not complete in time/);
    await proxy.close();
  });
});
