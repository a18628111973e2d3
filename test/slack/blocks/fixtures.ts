import { AUTOMATED_CHECKS } from '../../../src/checks/registry.js';
import type { CategoryId, CheckResult, CheckStatus } from '../../../src/checks/types.js';
import { assembleReport, type GateReport } from '../../../src/engine.js';
import type { SignoffRecord } from '../../../src/gate/evaluate.js';
import { resolvePolicy } from '../../../src/policy/load.js';

export const DIGEST = 'a'.repeat(64);

export function check(id: string, status: CheckStatus, over: Partial<CheckResult> = {}): CheckResult {
  const def = AUTOMATED_CHECKS.find((c) => c.id === id);
  const final = over.status ?? status;
  return {
    id,
    category: (def?.category ?? id.split('.')[0]) as CategoryId,
    title: def?.title ?? id,
    status,
    evidence: [`evidence of ${id}`],
    metrics: {},
    remediation: final === 'pass' ? null : (def?.remediation ?? 'fix it'),
    duration_ms: 1,
    ...over,
  };
}

/** Every automated check with the given status (test.target carries a test accuracy). */
export function allChecks(status: CheckStatus, over: Record<string, Partial<CheckResult>> = {}): CheckResult[] {
  return AUTOMATED_CHECKS.map((d) =>
    check(d.id, status, {
      ...(d.id === 'test.target' ? { metrics: { test_accuracy: 97.2 } } : {}),
      ...(over[d.id] ?? {}),
    }),
  );
}

export function makeReport(
  checks: CheckResult[],
  signoffs: SignoffRecord[] = [],
  opts: { run?: string; modelName?: string } = {},
): GateReport {
  const effective = resolvePolicy(opts.modelName ? [{ source: 'test', data: { model_name: opts.modelName } }] : []);
  return assembleReport({
    run: opts.run ?? 'team/digits-run',
    effective,
    manifest: { entries: [{ path: 'final_report.md', size: 10, sha256: 'b'.repeat(64) }], digest: DIGEST, bytes: 10 },
    checks,
    signoffs,
    now: new Date('2024-05-01T12:00:00Z'),
  });
}

export function signoff(
  role: SignoffRecord['role'],
  user: string,
  decision: SignoffRecord['decision'] = 'approved',
  digest = DIGEST,
  reason?: string,
): SignoffRecord {
  return { role, user, decision, digest, at: '2024-05-01T12:30:00.000Z', ...(reason ? { reason } : {}) };
}

/** Every text string anywhere in a Block Kit payload, with its JSON path. */
export function texts(v: unknown, path = '$'): { path: string; text: string }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => texts(x, `${path}[${i}]`));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const own =
      typeof o.text === 'string' && (o.type === 'mrkdwn' || o.type === 'plain_text') ? [{ path, text: o.text }] : [];
    return [...own, ...Object.entries(o).flatMap(([k, x]) => texts(x, `${path}.${k}`))];
  }
  return [];
}

/** Asserts Slack's limits over a message/view payload; returns the violations. */
export function limitViolations(blocks: unknown[], maxBlocks: number): string[] {
  const out: string[] = [];
  if (blocks.length > maxBlocks) out.push(`${blocks.length} blocks > ${maxBlocks}`);
  blocks.forEach((b, i) => {
    const blk = b as Record<string, unknown>;
    if (blk.type === 'header' && (blk.text as { text: string }).text.length > 150) out.push(`header ${i} > 150`);
    if (blk.type === 'section') {
      const t = blk.text as { text: string } | undefined;
      if (t && (t.text.length > 3000 || t.text.length < 1)) out.push(`section ${i} text length ${t.text.length}`);
      const f = blk.fields as { text: string }[] | undefined;
      if (f && (f.length > 10 || f.some((x) => x.text.length > 2000))) out.push(`section ${i} fields`);
    }
    if (blk.type === 'context' && (blk.elements as unknown[]).length > 10) out.push(`context ${i} elements`);
    if (blk.type === 'actions') {
      for (const e of blk.elements as { value?: string; action_id?: string; text: { text: string } }[]) {
        if ((e.value ?? '').length > 2000) out.push(`button value ${i}`);
        if ((e.action_id ?? '').length > 255) out.push(`action_id ${i}`);
        if (e.text.text.length > 75) out.push(`button text ${i}`);
      }
    }
  });
  return out;
}
