import { parseStreamEntry, type StreamAuditEntry } from './audit-entry.js';
import type { EvaluationStore } from './redis-store.js';

export { parseStreamEntry, type StreamAuditEntry } from './audit-entry.js';

/** Entries (and evaluation ids) read from Redis per round trip: a large stream is never loaded whole. */
export const AUDIT_PAGE_SIZE = 1000;

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
