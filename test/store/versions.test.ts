import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolvePolicy } from '../../src/policy/load.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { connect, describeRun, distinctManifest, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
let store: EvaluationStore;

beforeAll(() => {
  redis = connect(inject('redisUrl'));
  store = new EvaluationStore(redis, { prefix: uniquePrefix('versions') });
});
afterAll(async () => {
  await redis.quit();
});

describe('versions of many evaluations at once (the renderer poll)', () => {
  it('gives each evaluation its current version in order, null for one that does not exist or a malformed id', async () => {
    const run = await describeRun();
    const made = [];
    for (const label of ['a', 'b']) {
      const { evaluation } = await store.createEvaluation({
        run: `runs/${label}`,
        manifest: distinctManifest(run.manifest, label),
        policy: resolvePolicy([]),
        requester: 'U0REQ',
        channel: null,
      });
      made.push(evaluation);
    }
    const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
    await store.setMessageRef(b.id, { channel: 'C1', ts: '1.2' });
    const ids = [b.id, 'ev-missing-0000', a.id, 'not an id', b.id];
    const expected = [await store.version(b.id), null, await store.version(a.id), null, await store.version(b.id)];
    expect(expected[0]).toBeGreaterThan(expected[2] as number);
    expect(await store.versions(ids)).toEqual(expected);
    expect(await store.versions([])).toEqual([]);
  });
});
