/**
 * The audit export (`readiness audit`): stream entries normalised to one documented record
 * (docs/audit.md), rendered as JSON Lines or CSV. Pure: no Redis, no clock of its own.
 */
import { parseDuration } from '../attestation/verify.js';
import { GateError } from '../errors.js';
import type { StreamAuditEntry } from '../store/audit-read.js';

/** The columns, in order; JSONL objects carry exactly these keys, CSV has them as its header. */
export const AUDIT_COLUMNS = [
  'time',
  'stream_id',
  'evaluation',
  'run',
  'kind',
  'actor',
  'role',
  'decision',
  'check',
  'status',
  'reason',
  'comment',
  'digest',
  'policy_digest',
  'version',
  'details',
] as const;
export type AuditColumn = (typeof AUDIT_COLUMNS)[number];

/** Entry `data` fields that have a column of their own (when they have the column's type). */
const TEXT_FIELDS = ['role', 'decision', 'check', 'status', 'reason', 'comment', 'digest', 'policy_digest'] as const;

export interface AuditRecord {
  /** When it happened (the entry's `at`, ISO 8601 UTC, as written). */
  time: string;
  /** Redis stream id: the entry's position in the append-only stream. */
  stream_id: string;
  evaluation: string | null;
  run: string | null;
  /** The entry's type: evaluation_created, signoff_recorded, signoff_refused, check_result, … */
  kind: string;
  /** Who: a Slack user id, `cli:<user>`, a worker name, `app`, `webhooks`. */
  actor: string | null;
  role: string | null;
  decision: string | null;
  check: string | null;
  status: string | null;
  /** Refusal reason (signoff_refused), why a check was skipped or a result ignored. */
  reason: string | null;
  /** The text an approver gave with a sign-off. */
  comment: string | null;
  digest: string | null;
  policy_digest: string | null;
  /** The evaluation's version after the change. */
  version: number | null;
  /** Every other field of the entry, unchanged (stream fields outside the usual shape as `stream:<name>`). */
  details: Record<string, unknown>;
}

/** One stream entry → the export record. `run` is the run the entry's evaluation belongs to. */
export function normaliseEntry(e: StreamAuditEntry, run: string | null): AuditRecord {
  const details: Record<string, unknown> = {};
  const taken = new Set<string>();
  const text = (k: (typeof TEXT_FIELDS)[number]): string | null => {
    const v = e.data[k];
    if (typeof v !== 'string') return null;
    taken.add(k);
    // Lua writes an absent comment or supersedes as ''; an empty field says nothing
    return v === '' ? null : v;
  };
  const version = typeof e.data.version === 'number' ? e.data.version : null;
  if (version !== null) taken.add('version');
  const rec: AuditRecord = {
    time: e.at,
    stream_id: e.id,
    evaluation: e.evaluation,
    run,
    kind: e.type,
    actor: e.actor,
    role: text('role'),
    decision: text('decision'),
    check: text('check'),
    status: text('status'),
    reason: text('reason'),
    comment: text('comment'),
    digest: text('digest'),
    policy_digest: text('policy_digest'),
    version,
    details,
  };
  for (const [k, v] of Object.entries(e.data)) if (!taken.has(k)) details[k] = v;
  for (const [k, v] of Object.entries(e.other)) details[`stream:${k}`] = v;
  return rec;
}

/** One JSON object per line; U+2028/U+2029 escaped too, so every line reader sees one entry per line. */
export function jsonlLine(r: AuditRecord): string {
  return `${JSON.stringify(r)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')}\n`;
}

/**
 * A CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. Text
 * that a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading `'`: audit
 * fields carry user- and artifact-derived text.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function cellText(r: AuditRecord, c: AuditColumn): string {
  const v = r[c];
  if (v === null) return '';
  if (c === 'details') return Object.keys(r.details).length === 0 ? '' : JSON.stringify(r.details);
  return String(v);
}

export const CSV_HEADER = `${AUDIT_COLUMNS.join(',')}\r\n`;

export function csvRow(r: AuditRecord): string {
  return `${AUDIT_COLUMNS.map((c) => csvCell(cellText(r, c))).join(',')}\r\n`;
}

export const AUDIT_FORMATS = ['jsonl', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

export function renderRecord(r: AuditRecord, format: AuditFormat): string {
  return format === 'csv' ? csvRow(r) : jsonlLine(r);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO 8601 date (00:00 UTC) or date-time with a zone (Z or ±hh:mm) → epoch ms; a date-time without a zone is refused as ambiguous. */
export function parseTimestamp(text: string, flag: string): number {
  const m = ISO.exec(text.trim());
  if (!m)
    throw new GateError(
      'USAGE',
      `${flag}: expected an ISO 8601 timestamp (2026-11-24, 2026-11-24T09:00:00Z) or a duration (7d, 12h, 30m), got "${text}"`,
    );
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h !== undefined && zone === undefined)
    throw new GateError(
      'USAGE',
      `${flag}: ambiguous: "${text}" has no time zone; add Z (UTC) or an offset like +01:00`,
    );
  const n = (v: string | undefined) => Number(v ?? 0);
  const local = Date.UTC(n(y), n(mo) - 1, n(d), n(h), n(mi), n(s), Math.floor(Number(`0.${frac ?? '0'}`) * 1000));
  const back = new Date(local);
  if (
    back.getUTCFullYear() !== n(y) ||
    back.getUTCMonth() !== n(mo) - 1 ||
    back.getUTCDate() !== n(d) ||
    n(h) > 23 ||
    n(mi) > 59 ||
    n(s) > 59
  ) {
    throw new GateError('USAGE', `${flag}: "${text}" is not a date on the calendar`);
  }
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!z || Number(z[2]) > 23 || Number(z[3]) > 59)
      throw new GateError('USAGE', `${flag}: "${zone}" is not a time zone offset`);
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return local - offsetMin * 60_000;
}

/** `--since`/`--until`: an ISO 8601 timestamp, or a duration (7d, 12h, 30m, 45s, 2w) back from `now`. */
export function parseInstant(text: string, now: number, flag: string): number {
  if (/^\s*\d+(?:\.\d+)?\s*[smhdw]\s*$/.test(text)) return now - parseDuration(text);
  return parseTimestamp(text, flag);
}

/** Half-open time window [since, until) over the entries' `at`. */
export interface AuditWindow {
  since?: number;
  until?: number;
}

/** true/false for an entry in/out of the window; null when a window is set and the entry's time cannot be read. */
export function inWindow(at: string, w: AuditWindow): boolean | null {
  if (w.since === undefined && w.until === undefined) return true;
  const t = Date.parse(at);
  if (!Number.isFinite(t)) return null;
  return (w.since === undefined || t >= w.since) && (w.until === undefined || t < w.until);
}
