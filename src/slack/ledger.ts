import type { Redis } from 'ioredis';
import { runScript } from '../store/lua.js';
import { RELEASE_POST_CLAIM, SET_IF_GREATER } from '../store/scripts.js';

/** What the renderer has durably done per evaluation (survives an app restart), and who may post now. */
export interface RenderLedger {
  renderedVersion(evaluationId: string): Promise<number>;
  setRenderedVersion(evaluationId: string, version: number): Promise<void>;
  notifiedGate(evaluationId: string): Promise<string | null>;
  setNotifiedGate(evaluationId: string, gate: string): Promise<void>;
  /** One app process at a time may post `key`; true if `owner` holds the claim now (it expires after `ttlMs`). */
  claimPost(key: string, owner: string, ttlMs: number): Promise<boolean>;
  releasePost(key: string, owner: string): Promise<void>;
  /** When `key` was first about to be posted (epoch ms), recorded before the call; null: never tried. */
  postAttempt(key: string): Promise<number | null>;
  /** Records the first attempt (later ones keep the first time). */
  recordPostAttempt(key: string, atMs: number): Promise<void>;
}

/** Ledger in Redis under the app's own keys (`<prefix>:slack:*`). */
export function redisRenderLedger(redis: Redis, prefix: string): RenderLedger {
  const rendered = `${prefix}:slack:rendered`;
  const notified = `${prefix}:slack:notified`;
  const attempts = `${prefix}:slack:post_attempts`;
  const claim = (key: string): string => `${prefix}:slack:posting:${key}`;
  return {
    async renderedVersion(id) {
      return Number((await redis.hget(rendered, id)) ?? 0);
    },
    async setRenderedVersion(id, version) {
      // never move backwards (two processes may render one message)
      await runScript(redis, SET_IF_GREATER, { hash: rendered }, { field: id, value: version });
    },
    async notifiedGate(id) {
      return redis.hget(notified, id);
    },
    async setNotifiedGate(id, gate) {
      await redis.hset(notified, id, gate);
    },
    async claimPost(key, owner, ttlMs) {
      if ((await redis.set(claim(key), owner, 'PX', ttlMs, 'NX')) === 'OK') return true;
      return (await redis.get(claim(key))) === owner;
    },
    async releasePost(key, owner) {
      await runScript(redis, RELEASE_POST_CLAIM, { claim: claim(key) }, { owner });
    },
    async postAttempt(key) {
      const v = await redis.hget(attempts, key);
      return v === null ? null : Number(v);
    },
    async recordPostAttempt(key, atMs) {
      await redis.hsetnx(attempts, key, String(atMs));
    },
  };
}
