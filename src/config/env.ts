/**
 * The one place the process environment is read. A single zod schema; a wrong or missing setting
 * stops the command with the variable's name and what was expected (never its value: some are
 * secrets).
 */
import { z } from 'zod';
import { GateError } from '../errors.js';

const intFromEnv = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `expected a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `expected a whole number between ${min} and ${max}` })
        .max(max, { message: `expected a whole number between ${min} and ${max}` }),
    );

const redisUrl = z
  .string()
  .trim()
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'redis:' || u.protocol === 'rediss:';
      } catch {
        return false;
      }
    },
    { message: 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' },
  );

const httpUrl = z
  .string()
  .trim()
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'expected an http:// or https:// URL, e.g. https://slack.com/api/' },
  );

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const EnvSchema = z.object({
  REDIS_URL: redisUrl.optional().describe('Redis for the store and the queues.'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, { message: 'expected 1–40 letters, digits, "_" or "-" (no ":")' })
    .default('readiness')
    .describe(
      'Key prefix for the store (`<prefix>:…`) and BullMQ (`<prefix>-bull:…`), so deployments can share a Redis.',
    ),
  ARTIFACT_ROOT: z
    .string()
    .trim()
    .min(1, { message: 'expected the folder that holds the runs' })
    .optional()
    .describe('Folder that holds the runs; run names are relative to it.'),
  READINESS_CONFIG: z
    .string()
    .trim()
    .min(1, { message: 'expected the path of the readiness YAML config' })
    .optional()
    .describe('YAML file: policies, roles and approvers, notification channel.'),
  SLACK_BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^xoxb-/, { message: 'expected a bot token starting with "xoxb-"' })
    .optional()
    .describe('Bot token (OAuth & Permissions → Bot User OAuth Token); `serve` needs it.'),
  SLACK_SIGNING_SECRET: z
    .string()
    .trim()
    .min(8, { message: "expected the app's signing secret (Basic Information → App Credentials)" })
    .optional()
    .describe(
      'Signing secret (Basic Information → App Credentials); verifies every HTTP request from Slack. `serve` needs it in HTTP mode.',
    ),
  SLACK_APP_TOKEN: z
    .string()
    .trim()
    .regex(/^xapp-/, { message: 'expected an app-level token starting with "xapp-" (Socket Mode)' })
    .optional()
    .describe('App-level token with connections:write; when set, `serve` uses Socket Mode instead of HTTP.'),
  SLACK_API_URL: httpUrl
    .optional()
    .describe("Web API base URL, for proxies and tests (default Slack's own, https://slack.com/api/)."),
  PORT: intFromEnv(1, 65535)
    .default(3000)
    .describe('HTTP port of the Slack app in HTTP mode (requests at /slack/events).'),
  HEALTH_PORT: intFromEnv(1, 65535)
    .optional()
    .describe('Port of the /healthz, /readyz and /metrics listener of the app and of each worker; unset: no listener.'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })
    .default('info')
    .describe('pino log level.'),
  WORKER_LIGHT_CONCURRENCY: intFromEnv(1, 64)
    .default(4)
    .describe('Light-check jobs one worker process runs at a time. Heavy checks always run one at a time.'),
  WORKER_LOCK_DURATION_MS: intFromEnv(1000, 3_600_000)
    .default(30_000)
    .describe(
      "BullMQ job lock (BullMQ's default); renewed every half of it from the worker's event loop, which stays free because heavy checks compute in a child process.",
    ),
  WORKER_STALLED_INTERVAL_MS: intFromEnv(500, 3_600_000)
    .default(5_000)
    .describe(
      "How often workers look for jobs whose lock expired (their worker died). A job is moved back on the second look after its lock expired, and the look is shared by all workers (a dead worker's last one can hold off the others' for one interval), so a killed worker's job runs again elsewhere within lock + 2 × this (≤ 40 s by default).",
    ),
  WORKER_MAX_STALLED_COUNT: intFromEnv(0, 100)
    .default(2)
    .describe('A job that stalls more often than this fails instead of being retried again.'),
  WORKER_SHUTDOWN_TIMEOUT_MS: intFromEnv(0, 3_600_000)
    .default(30_000)
    .describe('On SIGTERM/SIGINT, how long running jobs may take to finish before they are returned to the queue.'),
  ATTESTATION_SIGNING_KEY_FILE: z
    .string()
    .trim()
    .min(1, { message: 'expected the path of a PKCS#8 PEM Ed25519 private key' })
    .optional()
    .describe(
      'PKCS#8 PEM file of the Ed25519 key that signs the attestation of every PASSED gate (docs/attestation.md); unset: no attestations.',
    ),
  SHUTDOWN_TIMEOUT_MS: intFromEnv(0, 3_600_000)
    .default(10_000)
    .describe(
      '`serve`: on SIGTERM/SIGINT, how long commands and clicks being processed may take to finish; then the process exits anyway (what was taken in stays queued in Redis and is processed after a restart). The process always ends within this (or WORKER_SHUTDOWN_TIMEOUT_MS with `--with-workers`, whichever is longer) + 5 s, even with Redis unreachable.',
    ),
  INTAKE_CONCURRENCY: intFromEnv(1, 1000)
    .default(32)
    .describe(
      '`serve`: commands and clicks processed at a time per app process (each waits mostly on Redis or Slack; a stalled Slack call holds one slot for at most SLACK_API_TIMEOUT_MS per try).',
    ),
  SLACK_API_TIMEOUT_MS: intFromEnv(100, 600_000)
    .default(10_000)
    .describe('`serve`: timeout of each Slack Web API request.'),
  SLACK_API_RETRIES: intFromEnv(0, 10)
    .default(2)
    .describe(
      '`serve`: retries of a failed Slack Web API request (network error, 5xx, 429 after Retry-After) before the call fails; gate messages retry on their own schedule.',
    ),
  REDIS_MAXMEMORY_CHECK: z
    .enum(['refuse', 'warn'], { message: 'expected "refuse" or "warn"' })
    .default('refuse')
    .describe(
      "`refuse` (default): a worker does not start unless Redis's maxmemory-policy is noeviction; `warn`: it starts and logs an error.",
    ),
});

export type Env = z.infer<typeof EnvSchema>;
export type EnvName = keyof Env;

type Needed<K extends EnvName> = Env & { [P in K]-?: NonNullable<Env[P]> };

export interface LoadConfigOptions<K extends EnvName> {
  /** Variables the command cannot run without. */
  need?: readonly K[];
}

const HINTS: Partial<Record<EnvName, string>> = {
  REDIS_URL: 'a redis:// URL, e.g. redis://127.0.0.1:6379',
  ARTIFACT_ROOT: 'the folder that holds the runs (run names are relative to it)',
  READINESS_CONFIG: 'the path of the readiness YAML config (policies, roles, notification channel)',
  SLACK_BOT_TOKEN: 'a bot token starting with "xoxb-"',
  SLACK_SIGNING_SECRET: "the app's signing secret",
  SLACK_APP_TOKEN: 'an app-level token starting with "xapp-"',
};

/**
 * Parses the environment. Empty strings count as unset. Throws GateError CONFIG_INVALID naming the
 * variable and what was expected.
 */
export function loadConfig<K extends EnvName = never>(
  env: Record<string, string | undefined>,
  opts: LoadConfigOptions<K> = {},
): Needed<K> {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') relevant[key] = v;
  }
  const parsed = EnvSchema.safeParse(relevant);
  if (!parsed.success) {
    const msg = parsed.error.issues
      .map((i) => `${i.path.map(String).join('.') || '(environment)'}: ${i.message}`)
      .join('; ');
    throw new GateError('CONFIG_INVALID', `invalid environment: ${msg}`);
  }
  const missing = (opts.need ?? []).filter((k) => parsed.data[k] === undefined);
  if (missing.length > 0) {
    const msg = missing.map((k) => `${k} is not set; expected ${HINTS[k] ?? 'a value'}`).join('; ');
    throw new GateError('CONFIG_INVALID', msg);
  }
  return parsed.data as Needed<K>;
}

/** The process's own environment: the only read of process.env in the codebase. */
export function loadProcessConfig<K extends EnvName = never>(opts: LoadConfigOptions<K> = {}): Needed<K> {
  return loadConfig(process.env, opts);
}

/** A variable named in READINESS_CONFIG (a webhook's secret_env); read here, so this stays the one reader of process.env. */
export function lookupProcessVariable(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}
