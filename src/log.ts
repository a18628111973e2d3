import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

export function scrubSecrets(s: string): string {
  return s.replace(TOKEN_PATTERN, '$1-[REDACTED]').replace(URL_PASSWORD, '$1[REDACTED]@');
}

export function createLogger(opts: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: {
      // Tokens inside free text (error messages, URLs) are scrubbed too.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
    formatters: {
      log(obj) {
        const err = obj.err as { message?: string; stack?: string } | undefined;
        if (err && typeof err === 'object') {
          return { ...obj, err: { ...err, message: err.message && scrubSecrets(err.message), stack: err.stack && scrubSecrets(err.stack) } };
        }
        return obj;
      },
    },
  };
  if (opts.name) options.name = opts.name;
  return destination ? pino(options, destination) : pino(options);
}
