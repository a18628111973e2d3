/**
 * The READINESS_CONFIG YAML shared by the Slack app, `readiness submit` and the workers:
 * named policies, approvers per role, which roles are required, sign-off rules, where to notify.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GateError } from '../errors.js';
import type { MinApprovals } from '../gate/evaluate.js';
import {
  formatZodIssues,
  type PolicyLayer,
  parsePolicyDocument,
  readPolicyFile,
  resolvePolicy,
} from '../policy/load.js';
import { SIGNOFF_ROLES, type SignoffRole } from '../policy/schema.js';
import { WebhookSchema } from '../webhooks/config.js';

const slackUser = z.string().regex(/^[UW][A-Z0-9]{2,}$/, { message: 'expected a Slack user id like U0123ABCD' });
const slackGroup = z.string().regex(/^S[A-Z0-9]{2,}$/, { message: 'expected a Slack user-group id like S0123ABCD' });
const slackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'expected a Slack channel id like C0123ABCD' });

export const RoleApproversSchema = z.strictObject({
  users: z.array(slackUser).default([]).describe('Slack user ids allowed to sign this role.'),
  usergroups: z
    .array(slackGroup)
    .default([])
    .describe(
      'Slack user-group ids whose members may sign this role (resolved with usergroups.users.list, cached 5 minutes).',
    ),
  min_approvals: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .describe(
      'Distinct approvers the role needs (default 1). Part of the policy (and its digest): changing it voids earlier sign-offs.',
    ),
});

const hours = z
  .number()
  .positive()
  .max(24 * 366);

export const SignoffAskingSchema = z.strictObject({
  ask_by_dm: z
    .boolean()
    .default(false)
    .describe(
      "Besides the mention in the gate message's thread, DM each approver of a pending role (configured users and user-group members, at most 50 per role) with the same sign-off buttons; reminders go by DM too.",
    ),
  remind_after_hours: hours
    .optional()
    .describe(
      'Hours after sign-off opened when the approvers of roles still unsigned are reminded (thread, and DM when ask_by_dm); unset: no reminder.',
    ),
  escalate_after_hours: hours
    .optional()
    .describe(
      'Hours after sign-off opened when the notification channel is told which roles are still missing and for how long; unset: no escalation.',
    ),
});

const policyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  message: 'expected a policy name of letters, digits, ".", "_" or "-"',
});

export const ReadinessConfigSchema = z
  .strictObject({
    policies: z
      .record(policyName, z.record(z.string(), z.unknown()))
      .default({})
      .describe('Named policy layers (validated against the policy schema), selectable with --policy NAME.'),
    default_policy: policyName.optional().describe('Applied when no --policy is given.'),
    roles: z
      .strictObject({
        technical: RoleApproversSchema.optional().describe('Technical lead approvers.'),
        product: RoleApproversSchema.optional().describe('Product owner approvers.'),
        compliance: RoleApproversSchema.optional().describe('Compliance/legal approvers.'),
      })
      .default({})
      .describe('Approvers per sign-off role. A role with no approvers can be signed by nobody.'),
    required_roles: z
      .array(z.enum(SIGNOFF_ROLES))
      .default([...SIGNOFF_ROLES])
      .describe('Roles whose approval the gate needs to pass.'),
    allow_self_approval: z
      .boolean()
      .default(false)
      .describe('Whether the person who requested an evaluation may sign one of its roles.'),
    one_role_per_person: z
      .boolean()
      .default(true)
      .describe('Whether one person may sign at most one role of an evaluation.'),
    notification_channel: slackChannel
      .optional()
      .describe(
        'Channel id told about every gate status change (PASSED, BLOCKED); defaults to the channel the command ran in.',
      ),
    signoff: SignoffAskingSchema.default({ ask_by_dm: false }).describe(
      'How approvers are asked, reminded and escalated once sign-off opens (see docs/architecture.md, "Asking approvers").',
    ),
    webhooks: z
      .array(WebhookSchema)
      .default([])
      .describe(
        'Receivers of signed gate events (passed, blocked, waived, pending-too-long, revoked); see docs/attestation.md.',
      ),
  })
  .superRefine((c, ctx) => {
    for (const role of SIGNOFF_ROLES) {
      const r = c.roles[role];
      if (r?.min_approvals !== undefined && r.usergroups.length === 0 && r.users.length < r.min_approvals) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', role, 'min_approvals'],
          message: `${role} needs ${r.min_approvals} approvals but lists only ${r.users.length} approver${r.users.length === 1 ? '' : 's'} and no user group: the role could never be signed`,
        });
      }
    }
    if (c.default_policy !== undefined && !(c.default_policy in c.policies)) {
      ctx.addIssue({
        code: 'custom',
        path: ['default_policy'],
        message: `"${c.default_policy}" is not one of the policies (${Object.keys(c.policies).join(', ') || 'none defined'})`,
      });
    }
  });

export type ReadinessConfig = z.infer<typeof ReadinessConfigSchema>;

export const EMPTY_READINESS_CONFIG: ReadinessConfig = ReadinessConfigSchema.parse({});

/** The layer a named policy contributes: the config's sign-off settings, then the policy itself. */
export function namedPolicyLayer(config: ReadinessConfig, name: string, source = 'READINESS_CONFIG'): PolicyLayer {
  const data = config.policies[name];
  if (!data)
    throw new GateError(
      'POLICY_INVALID',
      `policy "${name}" is not defined in ${source} (defined: ${Object.keys(config.policies).join(', ') || 'none'})`,
    );
  return { source: `${source} policies.${name}`, data: { ...baseLayerData(config), name, ...data } };
}

function baseLayerData(config: ReadinessConfig): Record<string, unknown> {
  const signoff: Record<string, unknown> = {
    required_roles: config.required_roles,
    allow_self_approval: config.allow_self_approval,
  };
  // only when set, so policies without N-of-M keep their digest (and their sign-offs)
  const min: MinApprovals = {};
  for (const role of SIGNOFF_ROLES) {
    const n = config.roles[role]?.min_approvals;
    if (n !== undefined) min[role] = n;
  }
  if (Object.keys(min).length > 0) signoff.min_approvals = min;
  return { signoff };
}

/** Parses and validates the config text; every named policy is resolved once so errors surface at start-up. */
export function parseReadinessConfig(text: string, source: string): ReadinessConfig {
  const doc = parsePolicyDocument(text, source) ?? {};
  const parsed = ReadinessConfigSchema.safeParse(doc);
  if (!parsed.success) throw new GateError('CONFIG_INVALID', `${source}: ${formatZodIssues(parsed.error.issues)}`);
  for (const name of Object.keys(parsed.data.policies)) {
    try {
      resolvePolicy([namedPolicyLayer(parsed.data, name, source)]);
    } catch (err) {
      if (err instanceof GateError) throw new GateError('CONFIG_INVALID', err.message, { cause: err });
      throw err;
    }
  }
  return parsed.data;
}

export async function readReadinessConfig(file: string | undefined): Promise<ReadinessConfig> {
  if (!file) return EMPTY_READINESS_CONFIG;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    // Docker turns a bind mount of a file missing on the host into an empty folder.
    const why =
      (err as NodeJS.ErrnoException).code === 'EISDIR'
        ? 'is a folder, not a YAML file (a container bind mount of a file missing on the host becomes an empty folder: remove that folder on the host and create the file, e.g. from config/readiness.example.yml)'
        : `cannot be read: ${(err as Error).message}`;
    throw new GateError('CONFIG_INVALID', `READINESS_CONFIG ${file} ${why}`, { cause: err });
  }
  return parseReadinessConfig(text, file);
}

/**
 * The policy layer for `--policy X`: a policy named in the config, else a policy file. Without
 * --policy: the config's default policy, else just the config's sign-off settings.
 */
export async function selectPolicyLayer(
  config: ReadinessConfig,
  policy: string | undefined,
): Promise<PolicyLayer | undefined> {
  if (policy !== undefined) {
    if (policy in config.policies) return namedPolicyLayer(config, policy);
    if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(policy) && !/\.(ya?ml|json)$/i.test(policy)) {
      throw new GateError(
        'POLICY_INVALID',
        `policy "${policy}" is not defined in READINESS_CONFIG (defined: ${Object.keys(config.policies).join(', ') || 'none'})`,
      );
    }
    const file = await readPolicyFile(policy);
    return { source: file.source, data: mergeTop(baseLayerData(config), file.data) };
  }
  if (config.default_policy) return namedPolicyLayer(config, config.default_policy);
  if (config === EMPTY_READINESS_CONFIG) return undefined;
  return { source: 'READINESS_CONFIG', data: baseLayerData(config) };
}

function mergeTop(base: Record<string, unknown>, data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  return { ...base, ...(data as Record<string, unknown>) };
}

/** Approvers configured for a role (user ids and user-group ids). */
export function approversFor(config: ReadinessConfig, role: SignoffRole): { users: string[]; usergroups: string[] } {
  return config.roles[role] ?? { users: [], usergroups: [] };
}
