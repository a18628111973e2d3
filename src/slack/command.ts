import { z } from 'zod';
import { checkRelativePath } from '../artifacts/run.js';
import { CHECK_IDS } from '../checks/registry.js';
import { errorMessage, GateError } from '../errors.js';
import { type Accuracy, parseTargetValue } from '../parse/numbers.js';

/** A parsed `/readiness …` command. */
export type ReadinessCommand =
  /** `targetAsFraction`: the --target as written, when it was a fraction (0.9 → target 90). */
  | { kind: 'run'; run: string; target?: number; targetAsFraction?: string; policy?: string }
  | { kind: 'status'; run?: string }
  | { kind: 'rerun'; run: string; check?: string }
  | { kind: 'report'; run: string }
  | { kind: 'list'; filter: ListFilter }
  | { kind: 'help' };

/** `/readiness list`: every open evaluation, those I requested, or those waiting for my sign-off. */
export type ListFilter = 'open' | 'mine' | 'waiting';

export const USAGE = [
  '`/readiness run <run> [--target N] [--policy NAME]` — evaluate a run folder (relative to the artifact root)',
  '`/readiness status [run]` — the gate status of a run, or of the open evaluations',
  '`/readiness rerun <run> [check-id]` — evaluate again (a new evaluation: earlier approvals do not carry over); with a check id, run just that check again on unchanged artifacts',
  '`/readiness report <run>` — the final report as markdown',
  '`/readiness list [mine|waiting]` — open evaluations (newest first) with links; `mine`: those you requested; `waiting`: those waiting for your sign-off',
  '`/readiness help` — this help',
].join('\n');

export class CommandUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandUsageError';
  }
}

/** A run name: relative to the artifact root, no "..", no absolute path (symlinks are checked on the filesystem later). */
const RunName = z
  .string()
  .min(1)
  .max(500)
  .transform((s, ctx) => {
    try {
      return checkRelativePath(s, 'run name');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof GateError ? err.message : errorMessage(err) });
      return z.NEVER;
    }
  });
/** `--target` by the CLI's rule: a percent (85, 85%) or a fraction at most 1 (0.85 is 85 %). */
function targetFlag(value: string): Accuracy {
  const a = parseTargetValue(value);
  if (a) return a;
  if (/^\s*\d+(\.\d+)?\s*%?\s*$/.test(value))
    throw new CommandUsageError(`--target: a target is between 0 and 100, got "${value}"`);
  throw new CommandUsageError(`--target: expected a percentage (85, 85%) or a fraction (0.85), got "${value}"`);
}
const PolicyName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a policy name (letters, digits, "-", "_", ".")');
const CheckId = z
  .string()
  .refine((s) => CHECK_IDS.includes(s) && !s.startsWith('signoff.'), { message: 'unknown check id' });

function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

function field<T>(schema: z.ZodType<T>, value: string, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new CommandUsageError(`${what} "${value}": ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}

function noExtra(args: string[], max: number, sub: string): void {
  if (args.length > max)
    throw new CommandUsageError(
      `\`${sub}\` takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'}`}; unexpected "${args[max]}"`,
    );
}

export interface ParseOptions {
  /**
   * The team's named policies (READINESS_CONFIG `policies`): `--policy` must name one of them.
   * From Slack a policy is never a file: a requester must not pick the bar from whatever file the
   * app process can read. Omitted: only the name's syntax is checked.
   */
  policies?: readonly string[];
}

/** `--policy NAME` when the team's policies are known: one of them, or a usage error naming them. */
function teamPolicy(value: string, policies: readonly string[] | undefined): string {
  const name = field(PolicyName, value, '--policy');
  if (policies === undefined || policies.includes(name)) return name;
  throw new CommandUsageError(
    policies.length === 0
      ? `--policy "${name}": this team defines no named policies, so --policy cannot be used here`
      : `--policy "${name}" is not one of the team's policies (allowed: ${[...policies].sort().join(', ')})`,
  );
}

/** Parses the text after `/readiness`. Pure: no filesystem or network. Throws CommandUsageError. */
export function parseCommand(text: string, opts: ParseOptions = {}): ReadinessCommand {
  const [sub, ...rest] = tokenize(text.trim());
  switch (sub) {
    case undefined:
    case 'help':
      noExtra(rest, 0, 'help');
      return { kind: 'help' };
    case 'run': {
      const positional: string[] = [];
      let target: Accuracy | undefined;
      let policy: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const tok = rest[i] ?? '';
        const m = /^--(target|policy)(?:=(.*))?$/.exec(tok);
        if (m) {
          const value = m[2] ?? rest[++i];
          if (value === undefined || value === '') throw new CommandUsageError(`--${m[1]} needs a value`);
          if (m[1] === 'target') target = targetFlag(value);
          else policy = teamPolicy(value, opts.policies);
        } else if (tok.startsWith('--')) {
          throw new CommandUsageError(`unknown option ${tok} (run takes --target N and --policy NAME)`);
        } else positional.push(tok);
      }
      if (positional.length === 0)
        throw new CommandUsageError('`run` needs the run folder, e.g. `/readiness run team/resnet18-v3`');
      noExtra(positional, 1, 'run');
      return {
        kind: 'run',
        run: field(RunName, positional[0] ?? '', 'run'),
        ...(target !== undefined ? { target: target.percent } : {}),
        ...(target?.read === 'fraction' ? { targetAsFraction: target.raw } : {}),
        ...(policy ? { policy } : {}),
      };
    }
    case 'status':
      noExtra(rest, 1, 'status');
      return rest[0] ? { kind: 'status', run: field(RunName, rest[0], 'run') } : { kind: 'status' };
    case 'rerun': {
      if (!rest[0]) throw new CommandUsageError('`rerun` needs the run folder');
      noExtra(rest, 2, 'rerun');
      const run = field(RunName, rest[0], 'run');
      return rest[1] ? { kind: 'rerun', run, check: field(CheckId, rest[1], 'check') } : { kind: 'rerun', run };
    }
    case 'report':
      if (!rest[0]) throw new CommandUsageError('`report` needs the run folder');
      noExtra(rest, 1, 'report');
      return { kind: 'report', run: field(RunName, rest[0], 'run') };
    case 'list': {
      noExtra(rest, 1, 'list');
      const f = rest[0];
      if (f === undefined) return { kind: 'list', filter: 'open' };
      if (f === 'mine' || f === 'waiting') return { kind: 'list', filter: f };
      throw new CommandUsageError(`\`list\` takes \`mine\` or \`waiting\`; unexpected "${f}"`);
    }
    default:
      throw new CommandUsageError(`unknown subcommand "${sub}"`);
  }
}
