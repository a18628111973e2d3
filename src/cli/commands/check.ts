import { AUTOMATED_CHECKS } from '../../checks/registry.js';
import { checkRun, type GateReport } from '../../engine.js';
import { GateError } from '../../errors.js';
import { readPolicyFile } from '../../policy/load.js';
import { describeTarget, type TargetFlag } from '../options.js';
import {
  checkOutputPath,
  emitReport,
  exitCodeFor,
  exitWith,
  explainExit,
  type Io,
  type ReportOutputOptions,
} from '../output.js';
import { ProgressLine } from '../progress.js';

export interface CheckFlags extends ReportOutputOptions {
  signKey?: string;
  attestationOut?: string;
  target?: TargetFlag;
  policy?: string;
  skipHeavy?: boolean;
  allowSkippedHeavy?: boolean;
  quiet?: boolean;
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
    import('../../attestation/keys.js'),
    import('../../attestation/ci.js'),
  ]);
  const key = await readSigningKey(o.signKey, '--sign-key');
  const out = o.attestationOut;
  return async (report, io) => {
    const r = await signCiAttestation(report, key, out);
    io.stderr.write(`${r.message}\n`);
    return r.written ? 0 : Math.max(1, exitCodeFor(report));
  };
}

/** `readiness check <run-dir>`: every check in this process (heavy ones in a child process), no Redis, no Slack. */
export async function checkCommand(runDir: string, o: CheckFlags, io: Io): Promise<void> {
  await checkOutputPath(o.output);
  await checkOutputPath(o.attestationOut, '--attestation-out');
  const signing = await ciSigning(o);
  describeTarget(o.target, io);
  const policyLayer = o.policy ? await readPolicyFile(o.policy) : undefined;
  const progress = new ProgressLine(io.stderr, AUTOMATED_CHECKS.length, !o.quiet);
  // heavy checks run in a child process under the policy's time and memory limits
  const heavy = o.skipHeavy ? null : new (await import('../../worker/heavy-runner.js')).HeavyRunner();
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
  exitWith(code);
}
