import { Redis } from 'ioredis';
import { GateError } from '../errors.js';
import { scrubSecrets } from '../log.js';

export interface ConnectOptions {
  /** Give up at start-up after this many failed connection attempts (CLI commands); afterwards reconnect forever. */
  startupAttempts?: number;
  connectionName?: string;
}

/** A URL safe to print (password removed). */
export function displayRedisUrl(url: string): string {
  return scrubSecrets(url);
}

/**
 * Connects to Redis for the store and BullMQ (`maxRetriesPerRequest: null`, as BullMQ workers
 * require). Unreachable at start-up → GateError naming the URL; once connected, reconnects
 * with backoff forever, so a Redis restart does not kill workers or a waiting `submit`.
 */
export async function connectRedis(url: string, opts: ConnectOptions = {}): Promise<Redis> {
  let connectedOnce = false;
  const startupAttempts = opts.startupAttempts ?? 3;
  let lastError: Error | undefined;
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    enableReadyCheck: true,
    ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
    retryStrategy: (times) => {
      if (!connectedOnce && times >= startupAttempts) return null;
      return Math.min(100 * 2 ** Math.min(times, 5), 2000);
    },
  });
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  redis.on('ready', () => {
    connectedOnce = true;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const why = (lastError ?? (err as Error)).message;
    throw new GateError('REDIS_UNAVAILABLE', `cannot reach Redis at ${displayRedisUrl(url)} (REDIS_URL): ${why}`, {
      cause: err,
    });
  }
  return redis;
}
