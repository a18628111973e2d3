import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { luaScript, runScript } from '../../src/store/lua.js';
import { connect, uniquePrefix } from '../helpers/store.js';

let redis: Redis;
const prefix = uniquePrefix('lua');

beforeAll(() => {
  redis = connect(inject('redisUrl'));
});

afterAll(async () => {
  await redis.quit();
});

const SET_PAIR = luaScript<
  { first: string; second: string; n: number; flag: boolean },
  [string, string, number, number]
>()({
  name: 'rgTestSetPair',
  keys: ['left', 'right'],
  body: `
redis.call('SET', left, args.first)
redis.call('SET', right, args.second)
return {left, right, args.n, args.flag and 1 or 0}
`,
});

describe('Lua scripts with named keys and one structured argument', () => {
  it('passes keys in declared order whatever the order of the object, and the argument decoded', async () => {
    const keys = { right: `${prefix}:r`, left: `${prefix}:l` };
    const reply = await runScript(redis, SET_PAIR, keys, {
      first: 'a b',
      second: 'ü"\\',
      n: 1764590000000,
      flag: true,
    });
    expect(reply).toEqual([`${prefix}:l`, `${prefix}:r`, 1764590000000, 1]);
    expect(await redis.mget(`${prefix}:l`, `${prefix}:r`)).toEqual(['a b', 'ü"\\']);
    const again = await runScript(redis, SET_PAIR, keys, { first: 'x', second: 'y', n: 0, flag: false });
    expect(again[3]).toBe(0);
  });

  it('refuses a second script under a name already in use on the connection', () => {
    const other = luaScript<Record<string, never>, number>()({
      name: 'rgTestSetPair',
      keys: ['left'],
      body: 'return 1',
    });
    expect(() => runScript(redis, other, { left: `${prefix}:l` }, {})).toThrow(/already defined/);
  });

  it('refuses key names that are not Lua identifiers', () => {
    expect(() =>
      luaScript<Record<string, never>, number>()({ name: 'rgTestBad', keys: ['a-b'], body: 'return 1' }),
    ).toThrow(/not a Lua identifier/);
  });
});
