import { webApi } from '@slack/bolt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolvePolicy } from '../../src/policy/load.js';
import { type ChatClient, GateRenderer, type RendererStore, type RenderLedger } from '../../src/slack/renderer.js';
import type { EvaluationState } from '../../src/store/types.js';
import { allChecks, DIGEST } from './blocks/fixtures.js';

/** An in-memory store whose evaluation changes when the test says so. */
function memoryStore(): RendererStore & { bump(): void; state: EvaluationState } {
  const effective = resolvePolicy([]);
  const state: EvaluationState = {
    evaluation: {
      id: 'ev-test-1',
      run: 'run',
      manifest: { entries: [], digest: DIGEST, bytes: 0 },
      digest: DIGEST,
      policy: effective,
      requester: 'U0REQ',
      channel: 'C0GATE',
      message: null,
      supersedes: null,
      superseded_by: null,
      created_at: '2024-05-01T00:00:00Z',
      updated_at: '2024-05-01T00:00:00Z',
      version: 1,
    },
    checks: allChecks('pending'),
    signoffs: [],
    gate: 'pending',
  };
  return {
    state,
    bump() {
      state.evaluation.version++;
    },
    async getState() {
      return structuredClone(state);
    },
    async setMessageRef(_id, ref) {
      state.evaluation.message = ref;
      return ++state.evaluation.version;
    },
    async versions(ids) {
      return ids.map((id) => (id === state.evaluation.id ? state.evaluation.version : null));
    },
    async listOpen() {
      return [structuredClone(state)];
    },
    async listRecent() {
      return [structuredClone(state)];
    },
  };
}

function memoryLedger(): RenderLedger {
  const rendered = new Map<string, number>();
  const notified = new Map<string, string>();
  const claims = new Map<string, string>();
  const attempts = new Map<string, number>();
  const threads = new Map<string, { channel: string; ts: string }>();
  const opened = new Map<string, number>();
  const onceKeys = new Set<string>();
  return {
    async renderedVersion(id) {
      return rendered.get(id) ?? 0;
    },
    async renderedVersions(ids) {
      return ids.map((id) => rendered.get(id) ?? 0);
    },
    async setRenderedVersion(id, v) {
      rendered.set(id, Math.max(v, rendered.get(id) ?? 0));
    },
    async notifiedGate(id) {
      return notified.get(id) ?? null;
    },
    async setNotifiedGate(id, g) {
      notified.set(id, g);
    },
    async claimPost(key, owner) {
      const holder = claims.get(key);
      if (holder && holder !== owner) return false;
      claims.set(key, owner);
      return true;
    },
    async releasePost(key, owner) {
      if (claims.get(key) === owner) claims.delete(key);
    },
    async postAttempt(key) {
      return attempts.get(key) ?? null;
    },
    async recordPostAttempt(key, at) {
      if (!attempts.has(key)) attempts.set(key, at);
    },
    async noticeThread(id) {
      return threads.get(id) ?? null;
    },
    async setNoticeThread(id, ref) {
      if (!threads.has(id)) threads.set(id, ref);
    },
    async openedAt(id) {
      return opened.get(id) ?? null;
    },
    async markOpened(id, at) {
      if (!opened.has(id)) opened.set(id, at);
    },
    async once(key) {
      if (onceKeys.has(key)) return false;
      onceKeys.add(key);
      return true;
    },
    async hasOnce(key) {
      return onceKeys.has(key);
    },
  };
}

describe('GateRenderer coalescing (fake clock)', () => {
  let updates: { at: number; version: string }[];
  let posts: number;
  let rateLimitNext: number;
  let client: ChatClient;

  beforeEach(() => {
    vi.useFakeTimers();
    updates = [];
    posts = 0;
    rateLimitNext = 0;
    client = {
      chat: {
        async postMessage() {
          posts++;
          return { ok: true, channel: 'C0GATE', ts: '1.000001' };
        },
        async update(args) {
          if (rateLimitNext > 0) {
            rateLimitNext--;
            throw new webApi.WebAPIRateLimitedError(5);
          }
          updates.push({ at: Date.now(), version: args.text });
          return { ok: true };
        },
      },
    };
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function renderer(store: RendererStore): GateRenderer {
    return new GateRenderer({
      store,
      ledger: memoryLedger(),
      client,
      log: pino({ level: 'silent' }),
      minIntervalMs: 1000,
      pollMs: 60_000,
      timers: {
        now: () => Date.now(),
        setTimeout: (f, ms) => setTimeout(f, ms),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
    });
  }

  it('100 changes within 10 s make at most one chat.update per second, and the last state is rendered', async () => {
    const store = memoryStore();
    const r = renderer(store);
    r.watch('ev-test-1');
    await vi.advanceTimersByTimeAsync(10);
    expect(posts).toBe(1);
    for (let i = 0; i < 100; i++) {
      store.bump();
      r.schedule('ev-test-1');
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(2000);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < updates.length; i++)
      expect((updates[i]?.at ?? 0) - (updates[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    // nothing pending: the last version was rendered
    const calls = r.calls.get('ev-test-1');
    expect(calls?.update).toBe(updates.length);
    expect(await lastVersionRendered(r, store)).toBe(true);
    await r.stop();
  });

  it('a 429 pauses the message for Retry-After seconds, then the latest state is sent', async () => {
    const store = memoryStore();
    const r = renderer(store);
    r.watch('ev-test-1');
    await vi.advanceTimersByTimeAsync(10);
    rateLimitNext = 1;
    store.bump();
    r.schedule('ev-test-1');
    await vi.advanceTimersByTimeAsync(1500);
    expect(updates).toHaveLength(0);
    const limitedAt = Date.now();
    store.bump();
    r.schedule('ev-test-1');
    await vi.advanceTimersByTimeAsync(3000);
    expect(updates).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(updates).toHaveLength(1);
    expect((updates[0]?.at ?? 0) - limitedAt).toBeGreaterThanOrEqual(3000);
    await r.stop();
  });
});

async function lastVersionRendered(r: GateRenderer, store: ReturnType<typeof memoryStore>): Promise<boolean> {
  // schedule once more: if the last version was already rendered, no further update is made
  const before = r.calls.get('ev-test-1')?.update ?? 0;
  r.schedule('ev-test-1');
  await vi.advanceTimersByTimeAsync(2000);
  return (r.calls.get('ev-test-1')?.update ?? 0) === before && store.state.evaluation.version > 0;
}
