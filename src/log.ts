import pino, { type DestinationStream, type Logger, type LoggerOptions, stdSerializers } from 'pino';

/** Paths pino censors in every log line: tokens, secrets, signatures and auth headers. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-slack-signature"]',
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_APP_TOKEN',
  '*.SLACK_SIGNING_SECRET',
];

/** Slack tokens (xoxb-, xoxp-, xapp-, …) and redis passwords in URLs, wherever they appear in a message. */
const TOKEN_PATTERN = /\b(xox[abposr]|xapp)-[A-Za-z0-9-]+/g;
const URL_PASSWORD = /(redis(?:s)?:\/\/[^:/@\s]*:)[^@\s]+@/g;
/** "Authorization: Bearer …" / "Basic …" echoed inside a body or a header dump. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/**
 * Field names whose value is a credential wherever they appear (any depth, any case): error
 * bodies, request/response headers, client configs.
 */
const SECRET_KEY =
  /^(?:.*token|.*secret|password|passwd|authorization|proxy-authorization|cookie|set-cookie|x-slack-signature|(?:.*[-_])?api[-_]?key|private[-_]?key|signing[-_]?key)$/i;

export const CENSOR = '[REDACTED]';

export function scrubSecrets(s: string): string {
  return s
    .replace(TOKEN_PATTERN, '$1-[REDACTED]')
    .replace(URL_PASSWORD, '$1[REDACTED]@')
    .replace(AUTH_SCHEME, '$1 [REDACTED]');
}

const MAX_DEPTH = 10;
/** Fields visited per log line at most: an HTTP client's error can hold sockets and agents. */
const MAX_NODES = 5000;

/**
 * A copy of `value` safe to log: every string scrubbed, every field named like a credential
 * censored, at any depth (an error's `data`/`body`, `headers`, `config`, `cause`, `errors`), errors
 * turned into plain objects with their type, message and stack. Cycles and depth are bounded.
 */
export function redactDeep(
  value: unknown,
  depth = 0,
  seen: WeakSet<object> = new WeakSet(),
  budget = { nodes: MAX_NODES },
): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH || --budget.nodes < 0) return '[Truncated]';
  seen.add(value);
  try {
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${(value as ArrayBufferView).byteLength} bytes]`;
    if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen, budget));
    if (value instanceof Map) return redactDeep(Object.fromEntries(value), depth + 1, seen, budget);
    if (value instanceof Date) return value.toISOString();
    const source: Record<string, unknown> =
      value instanceof Error ? errorFields(value) : (value as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      const v = source[key];
      if (typeof v === 'function') continue;
      out[key] =
        SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean'
          ? CENSOR
          : redactDeep(v, depth + 1, seen, budget);
    }
    return out;
  } catch {
    return '[Unserialisable]';
  } finally {
    // only ancestors count as cycles; an object logged twice side by side is shown twice
    seen.delete(value);
  }
}

/** pino's own error shape (type, message with causes, stack, enumerable fields), before redaction. */
function errorFields(err: Error): Record<string, unknown> {
  const s = stdSerializers.err(err) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(s)) out[key] = s[key];
  if (err.cause !== undefined && out.cause === undefined) out.cause = err.cause;
  return out;
}

export function createLogger(opts: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    // formatters.log below has already turned errors into redacted plain objects.
    serializers: { err: (v: unknown) => v },
    hooks: {
      // Tokens inside free text (messages, interpolated arguments) are scrubbed too.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
    formatters: {
      // Every field of every line, at any depth: a Web API error's body or an HTTP client's
      // config echoes the Authorization header, and path-based redaction cannot know every shape.
      log(obj) {
        return redactDeep(obj) as Record<string, unknown>;
      },
    },
  };
  if (opts.name) options.name = opts.name;
  return withRedactedChildren(destination ? pino(options, destination) : pino(options));
}

/**
 * A child logger's bindings are serialised once, when the child is made, and never pass through
 * `formatters.log` (pino applies `formatters.bindings` to the root logger only): they are
 * redacted here, for children of children too.
 */
function withRedactedChildren<L extends Logger>(logger: L): L {
  const child = logger.child.bind(logger) as unknown as (bindings: object, options?: object) => Logger;
  const redacted = (bindings: object, options?: object): Logger =>
    withRedactedChildren(child(redactDeep(bindings) as object, options));
  (logger as unknown as { child: typeof redacted }).child = redacted;
  return logger;
}
