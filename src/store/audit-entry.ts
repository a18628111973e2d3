/** The shape of one audit stream entry, shared by the store's reads and the audit export. */
import type { AuditEntry } from './types.js';

/** The fields every audit entry is written with (scripts.ts `audit`, EvaluationStore.audit). */
const ENTRY_FIELDS = new Set(['type', 'evaluation', 'actor', 'at', 'data']);

/** An audit stream entry as stored, with whatever does not fit the usual shape kept rather than dropped. */
export interface StreamAuditEntry extends AuditEntry {
  /** Stream fields beyond type/evaluation/actor/at/data, and `data` itself when it is not a JSON object. */
  other: Record<string, string>;
}

/** One stream entry's flat field list → an entry; never throws on a malformed `data`. */
export function parseStreamEntry(id: string, flat: string[]): StreamAuditEntry {
  const f: Record<string, string> = {};
  const other: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i] as string;
    const v = flat[i + 1] as string;
    if (ENTRY_FIELDS.has(k)) f[k] = v;
    else other[k] = v;
  }
  let data: Record<string, unknown> = {};
  if (f.data) {
    try {
      const parsed = JSON.parse(f.data) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
      else other.data = f.data;
    } catch {
      other.data = f.data;
    }
  }
  return {
    id,
    type: f.type ?? '',
    evaluation: f.evaluation || null,
    actor: f.actor || null,
    at: f.at ?? '',
    data,
    other,
  };
}
