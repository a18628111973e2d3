import { appendFile, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublicKey } from '../../src/attestation/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE } from '../../src/attestation/statement.js';
import { verifyAttestation } from '../../src/attestation/verify.js';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { externaliseOnnxWeights } from '../helpers/external-onnx.js';
import { cleanupRuns, copyExampleRun, REPO_ROOT } from '../helpers/runs.js';
import { independentlyVerify, type KeyFiles, makeKeyFiles, tamperPayload, tamperSignature } from './helpers.js';

afterAll(cleanupRuns);

/** The CLI in this process (same main() as bin/readiness.js), for the many quick refusals. */
async function cliInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: {
      write: (t: string) => {
        stdout += t;
        return true;
      },
    },
    stderr: {
      write: (t: string) => {
        stderr += t;
        return true;
      },
    },
  });
  return { code, stdout, stderr };
}

/** A CI-only gate: the team policy requires no sign-offs, so `readiness check` may sign. */
const CI_POLICY = 'signoff:\n  required_roles: []\n';

// many real CLI processes: generous bounds for a loaded machine
describe('readiness check --sign-key and readiness verify (CI-only gate)', { timeout: 150_000 }, () => {
  let keys: KeyFiles;
  let other: KeyFiles;
  let run: string;
  let policy: string;
  let att: string;
  let envelope: string;

  beforeAll(async () => {
    keys = await makeKeyFiles();
    other = await makeKeyFiles();
    run = await copyExampleRun();
    policy = path.join(keys.dir, 'ci.yml');
    await writeFile(policy, CI_POLICY);
    att = path.join(keys.dir, 'att.json');
    const r = await runCli([
      'check',
      run,
      '--policy',
      policy,
      '--sign-key',
      keys.privatePem,
      '--attestation-out',
      att,
      '--quiet',
    ]);
    expect(r.stderr).toContain(`written to ${att}`);
    expect(r.code).toBe(0);
    envelope = await readFile(att, 'utf8');
  });

  it('signs an in-toto Statement over every manifest file that an independent DSSE verifier accepts', async () => {
    const { payloadType, statement } = independentlyVerify(envelope, await readFile(keys.publicPem, 'utf8'));
    expect(payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(statement._type).toBe(STATEMENT_TYPE);
    expect(statement.predicateType).toBe(PREDICATE_TYPE);
    const subjects = statement.subject as { name: string; digest: { sha256: string } }[];
    expect(subjects.map((s) => s.name)).toContain('models/production_model.onnx');
    expect(subjects.map((s) => s.name)).toContain('readiness.yml');
    expect(subjects).toHaveLength(16);
    const pred = statement.predicate as Record<string, unknown>;
    expect(pred.gate).toBe('PASSED');
    expect(pred.waivers).toEqual([]);
    expect(pred.signoffs).toEqual([]);
    expect((pred.checks as { id: string }[]).map((c) => c.id)).toContain('export.parity');
    expect(JSON.parse(envelope).signatures[0].keyid).toBe(keys.keyid);
    // the documented schema names exactly the predicate's fields
    const schema = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'docs/attestation-predicate.schema.json'), 'utf8'),
    ) as { $id: string; required: string[]; properties: Record<string, { required?: string[] }> };
    expect(schema.$id).toBe(PREDICATE_TYPE);
    expect(Object.keys(pred).sort()).toEqual([...schema.required].sort());
    expect(Object.keys(schema.properties).sort()).toEqual([...schema.required].sort());
    expect(Object.keys(pred.policy as object).sort()).toEqual([...(schema.properties.policy?.required ?? [])].sort());

    const ok = await runCli(['verify', run, '--attestation', att, '--public-key', keys.publicPem, '--format', 'json']);
    expect(ok.code).toBe(0);
    const res = JSON.parse(ok.stdout) as { ok: boolean; files: number; keyid: string; policy: { digest: string } };
    expect(res).toMatchObject({ ok: true, files: 16, keyid: keys.keyid });
    const pinned = await runCli([
      'verify',
      run,
      '--attestation',
      att,
      '--public-key',
      keys.publicPem,
      '--policy-digest',
      res.policy.digest,
      '--max-age',
      '1d',
    ]);
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toContain('VERIFIED');
  });

  it('one changed byte in any attested file fails with that file and both digests', async () => {
    const publicKey = await readPublicKey(keys.publicPem);
    const parsed = JSON.parse(envelope) as unknown;
    const subjects = independentlyVerify(envelope, await readFile(keys.publicPem, 'utf8')).statement.subject as {
      name: string;
      digest: { sha256: string };
    }[];
    for (const s of subjects) {
      const file = path.join(run, s.name);
      const original = await readFile(file);
      const changed = Buffer.from(original);
      const at = Math.floor(changed.length / 2);
      changed[at] = (changed[at] as number) ^ 0x01;
      await writeFile(file, changed);
      try {
        const r = await verifyAttestation({ runDir: run, envelope: parsed, publicKey });
        expect(r.ok, s.name).toBe(false);
        expect(!r.ok && r.reason, s.name).toMatch(
          new RegExp(`^${s.name.replace(/\./g, '\\.')}: sha256 [0-9a-f]{64} ≠ attested ${s.digest.sha256}$`),
        );
      } finally {
        await writeFile(file, original);
      }
    }
    // and through the CLI, for the model
    const model = path.join(run, 'models/production_model.onnx');
    const original = await readFile(model);
    await appendFile(model, Buffer.from([0]));
    const r = await runCli(['verify', run, '--attestation', att, '--public-key', keys.publicPem]);
    await writeFile(model, original);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^NOT VERIFIED: models\/production_model\.onnx: sha256 [0-9a-f]{64} ≠ attested [0-9a-f]{64}/,
    );
  });

  it('ONNX external data is attested with its model: one changed byte of it fails naming the data file', async () => {
    const ext = await copyExampleRun();
    const dataRel = await externaliseOnnxWeights(ext);
    const out = path.join(keys.dir, 'external.json');
    // export.present compares the .onnx file alone with the checkpoint; this team policy accepts the small graph file
    const extPolicy = path.join(keys.dir, 'ci-external.yml');
    await writeFile(extPolicy, `${CI_POLICY}export:\n  min_checkpoint_ratio: 0.001\n`);
    const signed = await runCli([
      'check',
      ext,
      '--policy',
      extPolicy,
      '--sign-key',
      keys.privatePem,
      '--attestation-out',
      out,
      '--quiet',
    ]);
    expect(signed.stderr).toContain('written to');
    expect(signed.code).toBe(0);
    const subjects = independentlyVerify(await readFile(out, 'utf8'), await readFile(keys.publicPem, 'utf8')).statement
      .subject as { name: string }[];
    expect(subjects.map((s) => s.name)).toContain(dataRel);
    expect((await runCli(['verify', ext, '--attestation', out, '--public-key', keys.publicPem])).code).toBe(0);
    const data = path.join(ext, dataRel);
    const bytes = await readFile(data);
    bytes[8] = (bytes[8] as number) ^ 0x01;
    await writeFile(data, bytes);
    const r = await runCli(['verify', ext, '--attestation', out, '--public-key', keys.publicPem]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^NOT VERIFIED: models\/production_model\.onnx\.data: sha256 [0-9a-f]{64} ≠ attested [0-9a-f]{64}/,
    );
  });

  it('a changed payload byte, a changed signature byte or another key fail the signature', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['payload', tamperPayload(envelope, 40), keys.publicPem, /^NOT VERIFIED: signature: does not verify with key/],
      ['signature', tamperSignature(envelope), keys.publicPem, /^NOT VERIFIED: signature: does not verify with key/],
      [
        'other key',
        envelope,
        other.publicPem,
        new RegExp(`^NOT VERIFIED: signature: signed by key ${keys.keyid}, not by the given public key ${other.keyid}`),
      ],
    ];
    for (const [what, text, pub, reason] of cases) {
      const f = path.join(keys.dir, `bad-${what.replace(' ', '-')}.json`);
      await writeFile(f, text);
      const r = await cliInProcess(['verify', run, '--attestation', f, '--public-key', pub]);
      expect(r.code, what).toBe(1);
      expect(r.stdout, what).toMatch(reason);
    }
    // a keyid that is only a hint: stripped, the other key still cannot verify it
    const env = JSON.parse(envelope) as { signatures: { sig: string }[] };
    const f = path.join(keys.dir, 'no-keyid.json');
    await writeFile(f, JSON.stringify({ ...env, signatures: [{ sig: env.signatures[0]?.sig }] }));
    const r = await cliInProcess(['verify', run, '--attestation', f, '--public-key', other.publicPem]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/signature: does not verify with key/);
  });

  it('a file the policy reads that the attestation lacks fails; so do policy digest and age mismatches', async () => {
    const partial = await copyExampleRun();
    const ref = path.join(partial, 'data/test/reference_outputs.npy');
    const saved = await readFile(ref);
    await rm(ref);
    const out = path.join(keys.dir, 'partial.json');
    const signed = await runCli([
      'check',
      partial,
      '--policy',
      policy,
      '--sign-key',
      keys.privatePem,
      '--attestation-out',
      out,
      '--quiet',
    ]);
    expect(signed.code).toBe(0);
    expect(
      await runCli(['verify', partial, '--attestation', out, '--public-key', keys.publicPem]).then((r) => r.code),
    ).toBe(0);
    await writeFile(ref, saved);
    const extra = await runCli(['verify', partial, '--attestation', out, '--public-key', keys.publicPem]);
    expect(extra.code).toBe(1);
    expect(extra.stdout).toContain(
      "NOT VERIFIED: data/test/reference_outputs.npy: read by the policy but not in the attestation's subjects",
    );

    // an attested file replaced by a symlink out of the run, or deleted
    const linked = await copyExampleRun();
    await rm(path.join(linked, 'final_report.md'));
    await symlink('/etc/hostname', path.join(linked, 'final_report.md'));
    const escaped = await cliInProcess(['verify', linked, '--attestation', att, '--public-key', keys.publicPem]);
    expect(escaped.code).toBe(1);
    expect(escaped.stdout).toMatch(/^NOT VERIFIED: final_report\.md: cannot be read in the run: .*symlink/);
    await rm(path.join(linked, 'final_report.md'));
    const missing = await cliInProcess(['verify', linked, '--attestation', att, '--public-key', keys.publicPem]);
    expect(missing.stdout).toContain('NOT VERIFIED: final_report.md: attested but missing from the run');

    const digest = await runCli([
      'verify',
      run,
      '--attestation',
      att,
      '--public-key',
      keys.publicPem,
      '--policy-digest',
      'a'.repeat(64),
    ]);
    expect(digest.code).toBe(1);
    expect(digest.stdout).toMatch(/policy: digest [0-9a-f]{64} ≠ required a{64}/);
    const publicKey = await readPublicKey(keys.publicPem);
    const aged = await verifyAttestation({
      runDir: run,
      envelope: JSON.parse(envelope) as unknown,
      publicKey,
      maxAgeMs: 7 * 86_400_000,
      now: new Date(Date.now() + 8 * 86_400_000),
    });
    expect(aged.ok).toBe(false);
    expect(!aged.ok && aged.reason).toMatch(/^age: the gate passed at .* older than the allowed 168 h$/);
  });

  it('usage errors exit 2; sign-offs required by the policy refuse signing with exit 2', async () => {
    expect((await cliInProcess(['verify', run, '--attestation', att])).code).toBe(2);
    expect(
      (
        await cliInProcess([
          'verify',
          run,
          '--attestation',
          path.join(keys.dir, 'missing.json'),
          '--public-key',
          keys.publicPem,
        ])
      ).code,
    ).toBe(2);
    expect((await cliInProcess(['verify', run, '--attestation', att, '--public-key', keys.privatePem])).code).toBe(2);
    expect(
      (await cliInProcess(['verify', run, '--attestation', att, '--public-key', keys.publicPem, '--max-age', 'soon']))
        .code,
    ).toBe(2);
    expect(
      (await cliInProcess(['verify', path.join(run, 'nope'), '--attestation', att, '--public-key', keys.publicPem]))
        .code,
    ).toBe(2);
    const notJson = path.join(keys.dir, 'not-json.json');
    await writeFile(notJson, 'hello');
    expect((await cliInProcess(['verify', run, '--attestation', notJson, '--public-key', keys.publicPem])).code).toBe(
      1,
    );

    const out = path.join(keys.dir, 'never.json');
    const refused = await cliInProcess([
      'check',
      run,
      '--sign-key',
      keys.privatePem,
      '--attestation-out',
      out,
      '--quiet',
      '--skip-heavy',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('requires sign-offs (technical, product, compliance)');
    await expect(readFile(out)).rejects.toThrow();
    expect((await cliInProcess(['check', run, '--sign-key', keys.privatePem, '--quiet', '--skip-heavy'])).code).toBe(2);
    expect(
      (
        await cliInProcess([
          'check',
          run,
          '--policy',
          policy,
          '--sign-key',
          keys.publicPem,
          '--attestation-out',
          out,
          '--quiet',
        ])
      ).code,
    ).toBe(2);
  });
});
