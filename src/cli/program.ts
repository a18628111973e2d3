/**
 * Every `readiness` command, registered up front with its arguments and options. Each action
 * imports its implementation (src/cli/commands/) only when that command runs, so `readiness check`
 * never loads Bolt, BullMQ or the store. Implementations end with an exit code other than 0 by
 * throwing ExitError; main() turns that, and every other error, into the process's exit code.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AUDIT_FORMATS } from '../audit/export.js';
import type { CheckQueueKind } from '../queue/names.js';
import type { AuditFlags } from './commands/audit.js';
import type { CheckFlags } from './commands/check.js';
import type { ServeFlags } from './commands/serve.js';
import type { SubmitFlags } from './commands/submit.js';
import type { VerifyFlags } from './commands/verify.js';
import { addReportOptions, parseQueues, parseSeconds, parseSequence, parseTarget } from './options.js';
import { type Io, type ReportOutputOptions, terminalStyle } from './output.js';

/** The package's version, from the package.json above this module (src/ in development, dist/src/ when built). */
export function packageVersion(): string {
  for (let url = new URL('../', import.meta.url); url.pathname !== '/'; url = new URL('../', url)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'readiness-gate' && pkg.version) return pkg.version;
    } catch {
      // not here; one folder up
    }
  }
  return 'unknown';
}

const TARGET_HELP = 'test accuracy target, overrides the policy: a percent (85) or a fraction (0.85)';

export function buildProgram(io: Io): Command {
  const program = new Command();
  const helpWidth = () => terminalStyle(io.stdout, io.env).width;
  program
    .name('readiness')
    .description('Production readiness gate for trained ML models')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // wrap descriptions down to 20 columns (commander's default gives up below 40, printing
    // 190-column lines on a 60-column terminal)
    .configureHelp({ minWidthToWrap: 20 })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      getOutHelpWidth: helpWidth,
      getErrHelpWidth: helpWidth,
    });

  const check = program
    .command('check')
    .description('verify a run folder against the production readiness checklist (no Slack, no Redis)')
    .argument('<run-dir>', 'the run folder')
    .option('--target <percent>', TARGET_HELP, parseTarget)
    .option('--policy <file>', 'policy file (YAML or JSON) applied over the defaults');
  addReportOptions(check)
    .option(
      '--skip-heavy',
      'do not run the heavy checks (ONNX parity, latency): the gate stays pending and the exit code is 3',
    )
    .option('--allow-skipped-heavy', 'with --skip-heavy: exit 0 instead of 3 when nothing failed')
    .option('--quiet', 'no progress on stderr')
    .option(
      '--sign-key <file>',
      'Ed25519 PKCS#8 PEM key: sign an attestation of a PASSED CI-only gate (policy requires no sign-offs)',
    )
    .option('--attestation-out <file>', 'with --sign-key: where to write the attestation (DSSE envelope)')
    .action(async (runDir: string, o: CheckFlags) => {
      const { checkCommand } = await import('./commands/check.js');
      await checkCommand(runDir, o, io);
    });

  program
    .command('worker')
    .description('run checks from the shared queues (REDIS_URL, ARTIFACT_ROOT) until SIGTERM/SIGINT')
    .option('--queues <list>', 'queues to serve: light, heavy or both', parseQueues, [
      'light',
      'heavy',
    ] as CheckQueueKind[])
    .action(async (o: { queues: CheckQueueKind[] }) => {
      // bullmq, ioredis and onnxruntime (via the checks) load only for this command
      const { workerCommand } = await import('./commands/worker.js');
      await workerCommand(o);
    });

  const submit = program
    .command('submit')
    .description('create an evaluation of a run (name relative to ARTIFACT_ROOT) on the shared workers (REDIS_URL)')
    .argument('<run>', 'run name relative to ARTIFACT_ROOT')
    .option('--target <percent>', TARGET_HELP, parseTarget)
    .option('--policy <name-or-file>', 'a policy named in READINESS_CONFIG, or a policy file (YAML or JSON)')
    .option(
      '--rerun <check-id>',
      "run this check again in the run's current evaluation when the run's files are unchanged (else a new evaluation)",
    )
    .option('--wait', 'wait for the automated checks and print the report as `readiness check` does (same exit codes)');
  addReportOptions(submit, 'with --wait: ')
    .option(
      '--timeout <seconds>',
      'with --wait: give up waiting after this long (exit 2; the evaluation continues)',
      parseSeconds,
      1800,
    )
    .option('--quiet', 'no progress on stderr')
    .option('--requester <id>', 'who asks (audit log); defaults to cli:<login name>')
    .action(async (run: string, o: SubmitFlags) => {
      const { submitCommand } = await import('./commands/submit.js');
      await submitCommand(run, o, io);
    });

  const status = program
    .command('status')
    .description('show an evaluation (by id, or the latest of a run) from the shared store (REDIS_URL)')
    .argument('<evaluation-id-or-run>', 'evaluation id, or a run name for its latest evaluation');
  addReportOptions(status).action(async (ref: string, o: ReportOutputOptions) => {
    const { statusCommand } = await import('./commands/status.js');
    await statusCommand(ref, o, io);
  });

  program
    .command('serve')
    .description(
      'run the Slack app (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET or SLACK_APP_TOKEN, REDIS_URL, ARTIFACT_ROOT, READINESS_CONFIG)',
    )
    .option('--with-workers', 'also run the check workers (light and heavy queues) in this process')
    .action(async (o: ServeFlags) => {
      const { serveCommand } = await import('./commands/serve.js');
      await serveCommand(o);
    });

  program
    .command('attestation')
    .description(
      'print the signed attestation (DSSE envelope) of a PASSED evaluation from the shared store (REDIS_URL)',
    )
    .argument('<evaluation-id-or-run>', 'evaluation id, or a run name for its latest PASSED evaluation')
    .option('--output <file>', 'write the envelope to this file instead of stdout')
    .option('--status', 'print whether the attestation is valid or revoked (JSON) instead')
    .option(
      '--sequence <n>',
      'an earlier attestation of the evaluation (0 = its first PASSED; default: the newest)',
      parseSequence,
    )
    .action(async (ref: string, o: { output?: string; status?: boolean; sequence?: number }) => {
      const { attestationCommand } = await import('./commands/attestation.js');
      await attestationCommand(ref, o, io);
    });

  program
    .command('verify')
    .description(
      'check that a run folder holds exactly the bytes a signed PASSED attestation names (no Redis, no Slack, no network)',
    )
    .argument('<run-dir>', 'the run folder to deploy from')
    .requiredOption('--attestation <file>', 'the DSSE envelope (readiness attestation … --output F)')
    .requiredOption('--public-key <file>', "the team's Ed25519 public key (PEM)")
    .option('--policy-digest <sha256>', 'require this policy digest')
    .option('--max-age <duration>', 'refuse a gate that passed longer ago than this (e.g. 7d, 12h)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (runDir: string, o: VerifyFlags) => {
      const { verifyCommand } = await import('./commands/verify.js');
      await verifyCommand(runDir, o, io);
    });

  program
    .command('audit')
    .description(
      'export the audit log of an evaluation, or of every evaluation of a run, from the shared store (REDIS_URL)',
    )
    .argument('<run-or-evaluation>', 'a run name (all its evaluations) or an evaluation id')
    .addOption(new Option('--format <format>', 'output format').choices(AUDIT_FORMATS).default('jsonl'))
    .option(
      '--since <when>',
      'only entries at or after this: an ISO 8601 timestamp (2026-11-24T09:00:00Z) or a duration back from now (7d, 12h)',
    )
    .option('--until <when>', 'only entries before this (same forms as --since)')
    .option(
      '--now <timestamp>',
      'the time durations count back from (ISO 8601; default the current time), for a reproducible export',
    )
    .addOption(
      new Option('--as <kind>', 'read the argument as a run or an evaluation id (when a name is both)').choices([
        'run',
        'evaluation',
      ]),
    )
    .action(async (ref: string, o: AuditFlags) => {
      const { auditCommand } = await import('./commands/audit.js');
      await auditCommand(ref, o, io);
    });

  shortUsageErrors(program);
  return program;
}

/** A usage error says what is wrong and where the options are, not the whole help. */
function shortUsageErrors(program: Command): void {
  for (const cmd of [program, ...program.commands]) {
    const name = cmd === program ? 'readiness' : `readiness ${cmd.name()}`;
    cmd.showHelpAfterError(`(${name} --help lists the options)`);
  }
}
