import { z } from 'zod';
import type { Manifest, ManifestEntry } from '../artifacts/manifest.js';
import { CATEGORIES, CHECK_STATUSES, type CheckResult } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import type { SignoffRecord } from '../gate/evaluate.js';
import { PolicySchema, SIGNOFF_ROLES } from '../policy/schema.js';
import type { WaiverView } from '../waivers/waivers.js';
import { heavySkipped } from './common.js';

/**
 * Version of the JSON report's shape. Bumped when a field is removed or changes meaning; new
 * optional fields do not bump it. The JSON Schema (docs/report.schema.json) is generated from
 * the zod schema below (`npm run docs:schemas`), and a test validates every format's output.
 */
export const REPORT_SCHEMA_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const CheckJsonSchema = z.strictObject({
  id: z.string().describe('Stable check id, e.g. "test.target" (signoff.<role> for approvals).'),
  category: z.enum(CATEGORIES.map((c) => c.id) as [string, ...string[]]).describe("The checklist's category."),
  title: z.string().describe("The checklist's wording."),
  status: z
    .enum(CHECK_STATUSES)
    .describe('pass and warn count as done; fail and error block; pending, running and skipped are outstanding.'),
  evidence: z.array(z.string()).describe('What was seen, with numbers and the file each came from.'),
  metrics: z
    .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
    .describe('Machine-readable numbers of the check; the keys of each check are listed in docs/report-formats.md.'),
  remediation: z
    .string()
    .nullable()
    .describe('The checklist\'s "If unchecked" text (or a symptom-specific one); null for sign-offs that need none.'),
  duration_ms: z.number().nonnegative(),
  security: z.literal(true).optional().describe('Present when the failure is a security finding (hostile artifact).'),
});

const roleEnum = z.enum(SIGNOFF_ROLES);

export const WaiverJsonSchema = z.strictObject({
  id: z.string().describe('Waiver id (wv-…).'),
  check: z.string().describe('The waived check id, e.g. test.target.'),
  status: z.enum(['requested', 'approved', 'rejected']).describe('What the approvers decided so far.'),
  standing: z
    .enum(['effective', 'awaiting', 'rejected', 'expired', 'void'])
    .describe(
      'effective: approved by every named role, not expired, bound to these digests (the check counts as passing); awaiting: approvals missing; rejected; expired: past expires_at (the check fails again); void: other artifacts or policy, or the check no longer fails as it did.',
    ),
  void_reason: z.string().optional().describe('Why a waiver is void.'),
  reason: z.string().describe('Why the failing item is accepted, as the requester wrote it.'),
  requested_by: z.string().describe('Slack user id of the requester.'),
  requested_at: z.string(),
  expires_at: z.string().describe('When the waiver stops counting (end of the chosen day, UTC).'),
  expired: z.boolean().optional().describe('expires_at has passed (by the store clock).'),
  digest: sha256.describe('Artifact digest the waiver is bound to.'),
  policy_digest: sha256.describe('Policy digest the waiver is bound to.'),
  evaluation_id: z.string().describe('Evaluation the waiver was requested on.'),
  roles: z.array(roleEnum).describe('Roles that must each approve (the team policy waivers entry).'),
  approvals: z.array(z.strictObject({ role: roleEnum, user: z.string(), at: z.string() })),
  rejection: z
    .strictObject({ role: roleEnum, user: z.string(), at: z.string(), reason: z.string() })
    .nullable()
    .describe('The rejection, when a role rejected the waiver.'),
  approved_at: z.string().nullable().describe('When the last required role approved.'),
});

export const ReportJsonSchema = z
  .strictObject({
    schema_version: z.literal(REPORT_SCHEMA_VERSION).describe('Version of this shape (see docs/report-formats.md).'),
    run: z
      .string()
      .describe('The run as named: the folder path for `readiness check`, the run name under ARTIFACT_ROOT otherwise.'),
    model_name: z.string(),
    gate: z
      .enum(['passed', 'pending', 'blocked'])
      .describe(
        'The gate status: blocked when a check fails/errors or a role rejected; pending while checks or sign-offs are outstanding.',
      ),
    digest: sha256.describe('Artifact manifest digest; sign-offs are bound to it.'),
    policy: z.strictObject({
      name: z.string(),
      digest: sha256.describe('sha256 of the effective policy.'),
      team_digest: sha256.describe(
        'sha256 of the team policy alone, the floor the run readiness.yml and the flags were checked against.',
      ),
      sources: z
        .array(z.string())
        .describe('Layers applied, in order: defaults, --policy file, the run readiness.yml, flags.'),
      overrides: z
        .array(z.strictObject({ source: z.string(), fields: z.array(z.string()) }))
        .describe('Dotted field paths each non-default layer set.'),
      applied: z
        .array(
          z.strictObject({
            source: z.string(),
            field: z.string(),
            team: z.unknown(),
            value: z.unknown(),
            allowed: z.enum(['tightened', 'run_overridable', 'label']),
          }),
        )
        .describe(
          "What the run's readiness.yml and the flags changed relative to the team policy: each stricter, a label (model_name), or allowed by the team's run_overridable.",
        ),
      effective: PolicySchema.describe('The effective policy (docs/configuration.md).'),
    }),
    checks: z
      .array(CheckJsonSchema)
      .describe(
        'Every automated check in checklist order, then signoff.technical, signoff.product, signoff.compliance.',
      ),
    blocking: z.array(z.string()).describe('Check ids (and signoff.<role>) that block the gate.'),
    outstanding: z.array(z.string()).describe('Check ids (and signoff.<role>) still outstanding.'),
    heavy_skipped: z
      .array(z.string())
      .describe('Heavy checks (export.parity, export.inference) that did not run, e.g. with --skip-heavy.'),
    signoffs: z.array(
      z.strictObject({
        role: z.enum(SIGNOFF_ROLES),
        decision: z.enum(['approved', 'rejected']),
        user: z.string(),
        at: z.string(),
        reason: z.string().optional(),
        digest: sha256,
        policy_digest: sha256
          .optional()
          .describe('Policy digest the sign-off was given for: sign-offs belong to (artifact digest, policy digest).'),
        expires_at: z
          .string()
          .optional()
          .describe('When an approval stops counting (signoff.max_age_days after it was given).'),
        expired: z
          .boolean()
          .optional()
          .describe('The approval is older than signoff.max_age_days and no longer counts.'),
        evaluation_id: z
          .string()
          .optional()
          .describe('The evaluation the sign-off was given on; later evaluations of the same digests inherit it.'),
        not_counted: z
          .enum(['self_approval'])
          .optional()
          .describe(
            "Why this inherited approval does not count for this evaluation: self_approval when its signer is this evaluation's requester (sign-offs belong to the artifact and policy digests; the requester of a later evaluation may have signed an earlier one).",
          ),
      }),
    ),
    waivers: z
      .array(WaiverJsonSchema)
      .describe(
        'Waivers of failing checks requested for this artifact digest and policy digest; a check counts as passing only while its waiver is effective (docs/report-formats.md#waivers).',
      ),
    manifest: z.strictObject({
      entries: z.array(
        z.strictObject({
          path: z.string(),
          size: z.number().int().nonnegative(),
          sha256,
          artifact: z
            .string()
            .optional()
            .describe(
              "The policy's layout field the file belongs to (an ONNX model's external data belongs to onnx_model).",
            ),
        }),
      ),
      digest: sha256,
      bytes: z.number().int().nonnegative(),
    }),
    generated_at: z.string().describe('ISO 8601 time the report was assembled.'),
  })
  .describe('readiness check/status/submit --format json');

export type ReportJson = z.infer<typeof ReportJsonSchema>;

// The schema must name every field the core types carry: a field added to a manifest entry, a
// check result or a sign-off without a schema entry fails the build here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
const schemaCoversTypes: [
  SameKeys<ManifestEntry, ReportJson['manifest']['entries'][number]>,
  SameKeys<Manifest, ReportJson['manifest']>,
  SameKeys<SignoffRecord, ReportJson['signoffs'][number]>,
  SameKeys<GateReport['policy'], ReportJson['policy']>,
  SameKeys<Omit<CheckResult, 'progress'>, ReportJson['checks'][number]>,
  SameKeys<WaiverView, ReportJson['waivers'][number]>,
  SameKeys<Omit<GateReport, never>, Omit<ReportJson, 'schema_version' | 'heavy_skipped'>>,
] = [true, true, true, true, true, true, true];
void schemaCoversTypes;

/** The JSON Schema (draft 2020-12) of `--format json`, as committed in docs/report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    title: 'Readiness Gate report',
    ...(z.toJSONSchema(ReportJsonSchema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>),
  };
}

export function reportToJson(report: GateReport): ReportJson {
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    run: report.run,
    model_name: report.model_name,
    gate: report.gate,
    digest: report.digest,
    policy: report.policy,
    checks: report.checks.map((c) => ({
      id: c.id,
      category: c.category,
      title: c.title,
      status: c.status,
      evidence: c.evidence,
      metrics: c.metrics,
      remediation: c.remediation,
      duration_ms: c.duration_ms,
      ...(c.security ? { security: true as const } : {}),
    })),
    blocking: report.blocking,
    outstanding: report.outstanding,
    heavy_skipped: heavySkipped(report),
    signoffs: report.signoffs.map((s) => ({
      role: s.role,
      decision: s.decision,
      user: s.user,
      at: s.at,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      digest: s.digest,
    })),
    waivers: report.waivers.map((w) => ({
      id: w.id,
      check: w.check,
      status: w.status,
      standing: w.standing,
      ...(w.void_reason !== undefined ? { void_reason: w.void_reason } : {}),
      reason: w.reason,
      requested_by: w.requested_by,
      requested_at: w.requested_at,
      expires_at: w.expires_at,
      ...(w.expired !== undefined ? { expired: w.expired } : {}),
      digest: w.digest,
      policy_digest: w.policy_digest,
      evaluation_id: w.evaluation_id,
      roles: w.roles,
      approvals: w.approvals,
      rejection: w.rejection,
      approved_at: w.approved_at,
    })),
    manifest: report.manifest,
    generated_at: report.generated_at,
  };
}

/** Machine-readable result, described by docs/report.schema.json. */
export function renderJson(report: GateReport): string {
  return `${JSON.stringify(reportToJson(report), null, 2)}\n`;
}
