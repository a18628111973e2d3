import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import { checkRun, type GateReport } from '../engine.js';
import { GateError, errorMessage } from '../errors.js';
import { readPolicyFile } from '../policy/load.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderText } from '../report/text.js';
import { ProgressLine } from './progress.js';

export const FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

export function renderReport(report: GateReport, format: Format): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report);
    case 'markdown':
      return renderMarkdown(report);
    default:
      return renderText(report);
  }
}

/** Exit codes: 0 no automated check failing, 1 gate blocked, 2 usage or configuration error. */
export function exitCodeFor(report: GateReport): number {
  return report.gate === 'blocked' ? 1 : 0;
}

export function parseTarget(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError(`expected a percentage between 0 and 100, got "${v}"`);
  }
  return n;
}

export interface Io {
  stdout: { write(s: string): boolean };
  stderr: { write(s: string): boolean; isTTY?: boolean };
}

export interface ReportOutputOptions {
  format: Format;
  output?: string;
}

/** Writes the report as asked: to --output (and the text checklist to stdout), or to stdout. */
export async function emitReport(report: GateReport, opts: ReportOutputOptions, io: Io): Promise<void> {
  const rendered = renderReport(report, opts.format);
  if (opts.output) {
    await writeFile(opts.output, rendered);
    io.stdout.write(renderText(report));
    io.stderr.write(`${opts.format} report written to ${opts.output}\n`);
  } else {
    io.stdout.write(rendered);
  }
}

/** --sign-key/--attestation-out: loads the key before any check runs, so a bad key fails fast (exit 2). */
async function ciSigning(o: { signKey?: string; attestationOut?: string }): Promise<((report: GateReport, io: Io) => Promise<number>) | null> {
  if (o.signKey === undefined && o.attestationOut === undefined) return null;
  if (o.signKey === undefined || o.attestationOut === undefined) throw new GateError('USAGE', '--sign-key and --attestation-out go together');
  const [{ readSigningKey }, { signCiAttestation }] = await Promise.all([import('../attestation/keys.js'), import('../attestation/ci.js')]);
  const key = await readSigningKey(o.signKey, '--sign-key');
  const out = o.attestationOut;
  return async (report, io) => {
    const r = await signCiAttestation(report, key, out);
    io.stderr.write(`${r.message}\n`);
    return r.written ? 0 : Math.max(1, exitCodeFor(report));
  };
}

function formatOption(): Option {
  return new Option('--format <format>', 'output format').choices(FORMATS).default('text');
}

/** Builds the CLI. Subcommands that need Redis or Slack register themselves from their modules. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('readiness')
    .description('Production readiness gate for trained ML models')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  program
    .command('check')
    .description('verify a run folder against the production readiness checklist (no Slack, no Redis)')
    .argument('<run-dir>', 'the run folder')
    .option('--target <percent>', 'test accuracy target, overrides the policy', parseTarget)
    .option('--policy <file>', 'policy file (YAML or JSON) applied over the defaults')
    .addOption(formatOption())
    .option('--output <file>', 'write the formatted report to this file (the text checklist still goes to stdout)')
    .option('--skip-heavy', 'do not run the heavy checks (ONNX parity, latency); the gate stays pending')
    .option('--quiet', 'no progress on stderr')
    .option('--sign-key <file>', 'Ed25519 PKCS#8 PEM key: sign an attestation of a PASSED CI-only gate (policy requires no sign-offs)')
    .option('--attestation-out <file>', 'with --sign-key: where to write the attestation (DSSE envelope)')
    .action(async (runDir: string, o: { target?: number; policy?: string; format: Format; output?: string; skipHeavy?: boolean; quiet?: boolean; signKey?: string; attestationOut?: string }) => {
      const signing = await ciSigning(o);
      const policyLayer = o.policy ? await readPolicyFile(o.policy) : undefined;
      const progress = new ProgressLine(io.stderr, AUTOMATED_CHECKS.length, !o.quiet);
      const report = await checkRun(runDir, {
        policyLayer,
        flags: o.target === undefined ? undefined : { target_accuracy: o.target },
        skipHeavy: Boolean(o.skipHeavy),
        onResult: (r) => progress.result(r),
        onProgress: (id, p) => progress.check(id, p),
        onManifestProgress: (d, t) => progress.manifest(d, t),
      });
      progress.finish();
      await emitReport(report, { format: o.format, ...(o.output ? { output: o.output } : {}) }, io);
      setExit(signing ? await signing(report, io) : exitCodeFor(report));
    });
  return program;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  const { register } = await import('./extensions.js');
  await register(program, io, (c: number) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other parse error is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof GateError) {
      io.stderr.write(`readiness: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`readiness: unexpected error: ${errorMessage(err)}\n`);
    return 2;
  }
}
