import type { EvaluationStore } from './redis-store.js';
import type { AuditEntry } from './types.js';

/** Entries (and evaluation ids) read from Redis per round trip: a large stream is never loaded whole. */
export const AUDIT_PAGE_SIZE = 1000;

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

/** The whole audit stream, oldest first, read `pageSize` entries at a time (XRANGE … COUNT). */
export async function* auditStream(
  store: EvaluationStore,
  opts: { pageSize?: number } = {},
): AsyncGenerator<StreamAuditEntry> {
  const pageSize = opts.pageSize ?? AUDIT_PAGE_SIZE;
  let start = '-';
  for (;;) {
    const page = await store.redis.xrange(store.auditKey, start, '+', 'COUNT', pageSize);
    for (const [id, flat] of page) yield parseStreamEntry(id, flat);
    const last = page[page.length - 1];
    if (!last || page.length < pageSize) return;
    start = `(${last[0]}`;
  }
}

/** Ids of every evaluation of `run` (the store's index of all evaluations, read a page at a time), oldest first. */
export async function evaluationsOfRun(
  store: EvaluationStore,
  run: string,
  opts: { pageSize?: number } = {},
): Promise<string[]> {
  const pageSize = opts.pageSize ?? AUDIT_PAGE_SIZE;
  const out: string[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const ids = await store.redis.zrange(`${store.prefix}evals`, String(offset), String(offset + pageSize - 1));
    if (ids.length === 0) return out;
    const pipe = store.redis.pipeline();
    for (const id of ids) pipe.hget(`${store.prefix}eval:${id}`, 'run');
    const runs = (await pipe.exec()) ?? [];
    ids.forEach((id, i) => {
      const [err, value] = runs[i] ?? [null, null];
      if (err) throw err;
      if (value === run) out.push(id);
    });
    if (ids.length < pageSize) return out;
  }
}
