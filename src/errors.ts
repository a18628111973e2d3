/**
 * Coded errors: every error a user can see carries a stable code and a sentence they can act on.
 * `hostile` marks input that looks malicious (path escape, pickle gadget, zip bomb): such errors
 * are reported as security findings and never retried.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'POLICY_INVALID'
  | 'PATH_ESCAPE'
  | 'NOT_FOUND'
  | 'NOT_A_FILE'
  | 'TOO_LARGE'
  | 'UNREADABLE'
  | 'PARSE_ERROR'
  | 'UNSAFE_ARTIFACT'
  | 'UNSUPPORTED_FORMAT'
  | 'SHAPE_MISMATCH'
  | 'CANCELLED'
  | 'REDIS_UNAVAILABLE'
  | 'INTERNAL';

export class GateError extends Error {
  readonly code: ErrorCode;
  readonly hostile: boolean;
  /** Run-relative file the error is about, when there is one. */
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { file?: string; hostile?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GateError';
    this.code = code;
    this.hostile = opts.hostile ?? false;
    this.file = opts.file;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
