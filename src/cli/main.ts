import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import { checkRun, type GateReport } from '../engine.js';
import { errorMessage, GateError } from '../errors.js';
import { readPolicyFile } from '../policy/load.js';
import {
  addReportOptions,
  checkOutputPath,
  describeTarget,
  EXIT,
  emitReport,
  exitCodeFor,
  explainExit,
  type Io,
  parseTarget,
  type ReportOutputOptions,
  type TargetFlag,
  terminalStyle,
} from './output.js';
import { ProgressLine } from './progress.js';

export { EXIT, emitReport, exitCodeFor, FORMATS, type Format, type Io, parseTarget } from './output.js';

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

/** --sign-key/--attestation-out: loads the key before any check runs, so a bad key fails fast (exit 2). */
async function ciSigning(o: {
  signKey?: string;
  attestationOut?: string;
}): Promise<((report: GateReport, io: Io) => Promise<number>) | null> {
  if (o.signKey === undefined && o.attestationOut === undefined) return null;
  if (o.signKey === undefined || o.attestationOut === undefined)
    throw new GateError('USAGE', '--sign-key and --attestation-out go together');
  const [{ readSigningKey }, { signCiAttestation }] = await Promise.all([
    import('../attestation/keys.js'),
    import('../attestation/ci.js'),
  ]);
  const key = await readSigningKey(o.signKey, '--sign-key');
  const out = o.attestationOut;
  return async (report, io) => {
    const r = await signCiAttestation(report, key, out);
    io.stderr.write(`${r.message}\n`);
    return r.written ? 0 : Math.max(1, exitCodeFor(report));
  };
}

interface CheckFlags extends ReportOutputOptions {
  signKey?: string;
  attestationOut?: string;
  target?: TargetFlag;
  policy?: string;
  skipHeavy?: boolean;
  allowSkippedHeavy?: boolean;
  quiet?: boolean;
}

/** Builds the CLI. Subcommands that need Redis or Slack register themselves from their modules (extensions.ts). */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command();
  const helpWidth = () => terminalStyle(io.stdout, io.env).width;
  program
    .name('readiness')
    .description('Production readiness gate for trained ML models')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
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
    .option(
      '--target <percent>',
      'test accuracy target, overrides the policy: a percent (85) or a fraction (0.85)',
      parseTarget,
    )
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
      await checkOutputPath(o.output);
      await checkOutputPath(o.attestationOut, '--attestation-out');
      const signing = await ciSigning(o);
      describeTarget(o.target, io);
      const policyLayer = o.policy ? await readPolicyFile(o.policy) : undefined;
      const progress = new ProgressLine(io.stderr, AUTOMATED_CHECKS.length, !o.quiet);
      // heavy checks run in a child process under the policy's time and memory limits
      const { HeavyRunner } = await import('../worker/heavy-runner.js');
      const heavy = o.skipHeavy ? null : new HeavyRunner();
      const report = await checkRun(runDir, {
        policyLayer,
        flags: o.target === undefined ? undefined : { target_accuracy: o.target.percent },
        skipHeavy: Boolean(o.skipHeavy),
        ...(heavy ? { runHeavy: heavy.executor() } : {}),
        onResult: (r) => progress.result(r),
        onProgress: (id, p) => progress.check(id, p),
        onManifestProgress: (d, t) => progress.manifest(d, t),
      }).finally(() => heavy?.close());
      progress.finish();
      await emitReport(report, o, io);
      const code = signing
        ? await signing(report, io)
        : exitCodeFor(report, { allowSkippedHeavy: Boolean(o.allowSkippedHeavy) });
      explainExit(code, io);
      setExit(code);
    });
  return program;
}

/** A usage error says what is wrong and where the options are, not the whole help. */
function shortUsageErrors(program: Command): void {
  for (const cmd of [program, ...program.commands]) {
    const name = cmd === program ? 'readiness' : `readiness ${cmd.name()}`;
    cmd.showHelpAfterError(`(${name} --help lists the options)`);
  }
}

export async function main(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let code = 0;
  const setExit = (c: number) => {
    code = c;
  };
  const program = buildProgram(io, setExit);
  const { register } = await import('./extensions.js');
  await register(program, io, setExit);
  shortUsageErrors(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other parse error is a usage error.
      return err.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (err instanceof GateError) {
      io.stderr.write(`readiness: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`readiness: unexpected error: ${errorMessage(err)}\n`);
    return EXIT.usage;
  }
}
