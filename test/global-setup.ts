import type { TestProject } from 'vitest/node';
import { OwnRedis } from './helpers/redis-server.js';

export { freePort } from './helpers/net.js';

let redis: OwnRedis | undefined;

/**
 * Starts a throwaway redis-server for the whole test run on a free port; tests never touch the
 * machine's shared Redis. The URL reaches tests as the `redisUrl` provided value.
 */
export async function setup(project: TestProject): Promise<void> {
  redis = await OwnRedis.start();
  project.provide('redisUrl', redis.url);
  project.provide('redisDir', redis.dir);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisDir: string;
  }
}
