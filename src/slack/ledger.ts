import type { Redis } from 'ioredis';
import { runScript } from '../store/lua.js';
import { RELEASE_POST_CLAIM, SET_IF_GREATER } from '../store/scripts.js';

/** What the renderer has durably done per evaluation (survives an app restart), and who may post now. */
export interface RenderLedger {
  renderedVersion(evaluationId: string): Promise<number>;
  /** `renderedVersion` of each, in one read. */
  renderedVersions(evaluationIds: readonly string[]): Promise<number[]>;
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
  /** The first notification about an evaluation in a channel other than its gate message's: later ones reply in its thread. */
  noticeThread(evaluationId: string): Promise<{ channel: string; ts: string } | null>;
  /** Records it (the first one recorded stays). */
  setNoticeThread(evaluationId: string, ref: { channel: string; ts: string }): Promise<void>;
  /** When sign-off was first seen open (epoch ms, the app's clock); null: not yet. */
  openedAt(evaluationId: string): Promise<number | null>;
  /** Records it (the first time recorded stays). */
  markOpened(evaluationId: string, atMs: number): Promise<void>;
  /** True exactly once per `key`, across processes and restarts (a DM that must not go twice, a step done). */
  once(key: string): Promise<boolean>;
  /** Whether `once(key)` was called. */
  hasOnce(key: string): Promise<boolean>;
}

/** Ledger in Redis under the app's own keys (`<prefix>:slack:*`). */
export function redisRenderLedger(redis: Redis, prefix: string): RenderLedger {
  const rendered = `${prefix}:slack:rendered`;
  const notified = `${prefix}:slack:notified`;
  const attempts = `${prefix}:slack:post_attempts`;
  const claim = (key: string): string => `${prefix}:slack:posting:${key}`;
  const threads = `${prefix}:slack:notice_threads`;
  const opened = `${prefix}:slack:signoff_opened`;
  const onceKeys = `${prefix}:slack:once`;
  return {
    async renderedVersion(id) {
      return Number((await redis.hget(rendered, id)) ?? 0);
    },
    async renderedVersions(ids) {
      if (ids.length === 0) return [];
      return (await redis.hmget(rendered, ...ids)).map((v) => Number(v ?? 0));
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
    async noticeThread(id) {
      const v = await redis.hget(threads, id);
      const m = v ? /^([A-Z0-9]+) (\d+\.\d+)$/.exec(v) : null;
      return m?.[1] && m[2] ? { channel: m[1], ts: m[2] } : null;
    },
    async setNoticeThread(id, ref) {
      await redis.hsetnx(threads, id, `${ref.channel} ${ref.ts}`);
    },
    async openedAt(id) {
      const v = await redis.hget(opened, id);
      return v === null ? null : Number(v);
    },
    async markOpened(id, atMs) {
      await redis.hsetnx(opened, id, String(atMs));
    },
    async once(key) {
      return (await redis.hsetnx(onceKeys, key, '1')) === 1;
    },
    async hasOnce(key) {
      return (await redis.hexists(onceKeys, key)) === 1;
    },
  };
}
