import type { Redis } from 'ioredis';

/**
 * A Lua script run atomically in Redis, declared with its keys beside it and called with one
 * structured argument: the caller passes its keys by name and one JSON object, which the script
 * reads as `args` (cjson-decoded). No positional ARGV to count, no key count kept elsewhere.
 */
export interface LuaScript<K extends string, A, R> {
  /** Command name on the connection (defined once per connection, sent by SHA after the first call). */
  readonly name: string;
  /** KEYS in order; the script sees each one as a local variable of that name. */
  readonly keys: readonly K[];
  /** The whole source Redis runs: helpers, the key locals, `args`, then the body. */
  readonly lua: string;
  /** Carries the argument and result types; never set. */
  readonly types?: { args: A; result: R };
}

export interface LuaScriptSource<K extends string> {
  name: string;
  keys: readonly K[];
  /** Lua functions the body uses (shared snippets), placed before it. */
  helpers?: readonly string[];
  body: string;
}

/**
 * Declares a script whose argument is `A` (a JSON object: in Lua, a missing or undefined field is
 * nil, a null one is cjson.null, which is truthy) and whose reply is `R`:
 * `luaScript<Args, Reply>()({ name, keys: ['meta', 'stream'], body })`.
 */
export function luaScript<A extends object, R>() {
  return <const K extends string>(src: LuaScriptSource<K>): LuaScript<K, A, R> => {
    const bad = src.keys.find((k) => !/^[a-z][A-Za-z0-9_]*$/.test(k));
    if (bad !== undefined) throw new Error(`script ${src.name}: key name "${bad}" is not a Lua identifier`);
    const locals =
      src.keys.length > 0
        ? `local ${src.keys.join(', ')} = ${src.keys.map((_, i) => `KEYS[${i + 1}]`).join(', ')}\n`
        : '';
    const lua = `${(src.helpers ?? []).join('')}${locals}local args = cjson.decode(ARGV[1])\n${src.body}`;
    return { name: src.name, keys: src.keys, lua };
  };
}

/** Sources defined per connection, so one name never silently stands for two scripts. */
const defined = new WeakMap<Redis, Map<string, string>>();

function ensureDefined(redis: Redis, script: LuaScript<string, unknown, unknown>): void {
  let names = defined.get(redis);
  if (!names) {
    names = new Map();
    defined.set(redis, names);
  }
  const known = names.get(script.name);
  if (known === script.lua) return;
  if (known !== undefined || script.name in redis)
    throw new Error(`another script is already defined as ${script.name} on this connection`);
  redis.defineCommand(script.name, { numberOfKeys: script.keys.length, lua: script.lua });
  names.set(script.name, script.lua);
}

/** Runs `script` with its keys (by name) and its one argument. */
export function runScript<K extends string, A, R>(
  redis: Redis,
  script: LuaScript<K, A, R>,
  keys: { readonly [k in K]: string },
  args: A,
): Promise<R> {
  ensureDefined(redis, script);
  // ioredis custom commands are untyped; this is their one call site.
  const fn = (redis as unknown as Record<string, (...a: string[]) => Promise<R>>)[script.name];
  if (!fn) throw new Error(`script ${script.name} not defined`);
  return fn.call(redis, ...script.keys.map((k) => keys[k]), JSON.stringify(args));
}
