import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EvaluationStore } from '../../src/store/redis-store.js';
import type { Evaluation } from '../../src/store/types.js';
import { runCli } from '../helpers/cli.js';
import {
  completeAllChecks,
  connect,
  exampleRun,
  newEvaluation,
  signoffAttempt as signoff,
  uniquePrefix,
} from '../helpers/store.js';

/** The documented columns (docs/audit.md), in order. */
const COLUMNS = [
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
];
const TEXT_COLUMNS = ['role', 'decision', 'check', 'status', 'reason', 'comment', 'digest', 'policy_digest'];

const T0 = Date.parse('2026-11-01T09:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The time the exports count durations back from. */
const NOW = new Date(T0 + 12 * DAY).toISOString();

/** Sign-off comments an approver could type: CSV metacharacters and spreadsheet formulas. */
const COMMENTS = [
  'looks good, ship it',
  'she said "fine"\nsecond line\r\nthird',
  '=HYPERLINK("http://evil.example","click")',
  '+1 from me',
  '-2+3',
  '@SUM(A1:A2)',
  '\tindented',
  '\rcarriage',
];

let redis: Redis;
let store: EvaluationStore;
let prefix: string;
let clock = T0;
let first: Evaluation;
let second: Evaluation;
let other: Evaluation;
let big: Evaluation;

const RUN = 'runs/audited';

function env(): NodeJS.ProcessEnv {
  return { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: prefix, LOG_LEVEL: 'silent' };
}

function audit(args: string[]) {
  return runCli(['audit', ...args], { env: env() });
}

interface RawEntry {
  id: string;
  fields: Record<string, string>;
}

/** The stream as Redis holds it, read here with a plain XRANGE (not the code under test). */
async function rawStream(): Promise<RawEntry[]> {
  const all = await redis.xrange(`${prefix}:audit`, '-', '+');
  return all.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    return { id, fields };
  });
}

function rawOf(evaluations: string[], entries: RawEntry[]): RawEntry[] {
  return entries.filter((e) => evaluations.includes(e.fields.evaluation ?? ''));
}

function jsonl(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith('\n')).toBe(true);
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The record's columns and details put back together into the entry's data: every data field is
 * in exactly one place (empty strings written by Lua read as null).
 */
function dataOf(rec: Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = { ...(rec.details as Record<string, unknown>) };
  for (const c of TEXT_COLUMNS) if (rec[c] !== null) data[c] = rec[c];
  if (rec.version !== null) data.version = rec.version;
  return data;
}

function withoutEmptyText(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([k, v]) => !(TEXT_COLUMNS.includes(k) && v === '')));
}

/** Asserts that an export is exactly these stream entries: every one, in order, every field. */
function expectMatches(
  records: Record<string, unknown>[],
  raw: RawEntry[],
  runOf: (evaluation: string) => string,
): void {
  expect(records.map((r) => r.stream_id)).toEqual(raw.map((e) => e.id));
  records.forEach((rec, i) => {
    const e = raw[i] as RawEntry;
    expect(Object.keys(rec)).toEqual(COLUMNS);
    expect(rec.time).toBe(e.fields.at);
    expect(rec.kind).toBe(e.fields.type);
    expect(rec.evaluation).toBe(e.fields.evaluation);
    expect(rec.actor).toBe(e.fields.actor);
    expect(rec.run).toBe(runOf(e.fields.evaluation ?? ''));
    expect(dataOf(rec)).toEqual(withoutEmptyText(JSON.parse(e.fields.data ?? '{}') as Record<string, unknown>));
  });
}

/** RFC 4180 reader (CRLF records, quoted fields with doubled quotes), strict enough to reject sloppy output. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        cell += text.slice(i, q);
        if (text[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const m = /[,\r\n"]/.exec(text.slice(i));
      const end = m ? i + m.index : text.length;
      cell = text.slice(i, end);
      if (text[end] === '"') throw new Error(`quote inside an unquoted field at ${end}`);
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') {
      i += 1;
      continue;
    }
    if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
      if (i === text.length) return rows;
      continue;
    }
    throw new Error(`expected , or CRLF at ${i}, got ${JSON.stringify(text.slice(i, i + 10))}`);
  }
}

beforeAll(async () => {
  redis = connect(inject('redisUrl'));
  prefix = uniquePrefix('audit');
  store = new EvaluationStore(redis, { prefix, now: () => new Date(clock) });
  const run = await exampleRun();
  const create = (name: string, manifest = run.manifest) =>
    newEvaluation(store, name, { runName: name, manifest, requester: 'U0REQUESTER', channel: 'C0CHANNEL' });

  first = await create(RUN);
  clock += HOUR;
  await completeAllChecks(store, first.id);
  clock += HOUR;
  await store.recordSignoff(signoff(first, { reason: COMMENTS[0] as string }));
  for (const [i, comment] of COMMENTS.slice(1).entries()) {
    clock += 60_000;
    // refused attempts are audited with their comment and refusal reason
    await store.recordSignoff(
      signoff(first, {
        role: 'product',
        user: i % 2 ? 'U0REQUESTER' : 'U0STRANGER',
        authorised: i % 2 === 1,
        reason: comment,
      }),
    );
  }
  await store.recordSignoff(
    signoff(first, { role: 'product', user: 'U0PRODUCT', decision: 'rejected', digest: 'sha256:stale' }),
  );

  // an unrelated run, and entries of no evaluation: never part of RUN's export
  clock = T0 + 3 * DAY;
  other = await create('runs/elsewhere');
  await store.audit('slack_retry', null, 'U0TECH', { intake: 'i-1', kind: 'command', retry_num: 1 });

  clock = T0 + 10 * DAY;
  // new artifacts (sign-offs of identical artifacts and policy would carry over): supersedes the first
  second = await create(RUN, { ...run.manifest, digest: `sha256:${'b'.repeat(64)}` });
  clock += HOUR;
  await completeAllChecks(store, second.id);
  await store.recordSignoff(signoff(second, { reason: 'second look, fine' }));
  await store.setMessageRef(second.id, { channel: 'C0CHANNEL', ts: '1700000000.000100' });

  // one evaluation with more entries than a page of the stream holds
  clock = T0 + 11 * DAY;
  big = await create('runs/long-history');
  for (let i = 0; i < 1600; i += 1) await store.audit('note', big.id, `U0N${i % 7}`, { i, text: `note ${i}` });
}, 120_000);

afterAll(async () => {
  await redis.quit();
});

describe('readiness audit (JSONL)', () => {
  it('exports every entry of every evaluation of a run, in stream order, with every field', async () => {
    const r = await audit([RUN]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const records = jsonl(r.stdout);
    const raw = rawOf([first.id, second.id], await rawStream());
    expectMatches(records, raw, () => RUN);
    // both evaluations, the supersession, the sign-offs and every refused attempt
    expect(new Set(records.map((x) => x.evaluation))).toEqual(new Set([first.id, second.id]));
    expect(records.filter((x) => x.kind === 'signoff_refused').map((x) => x.reason)).toEqual([
      'not_authorised',
      'self_approval',
      'not_authorised',
      'self_approval',
      'not_authorised',
      'self_approval',
      'not_authorised',
      'digest_changed',
    ]);
    expect(records.filter((x) => x.kind === 'signoff_refused').map((x) => x.comment)).toEqual([
      ...COMMENTS.slice(1),
      null,
    ]);
    const approved = records.find((x) => x.kind === 'signoff_recorded' && x.evaluation === first.id);
    expect(approved).toMatchObject({
      actor: 'U0TECH',
      role: 'technical',
      decision: 'approved',
      comment: COMMENTS[0],
      digest: first.digest,
      time: new Date(T0 + 2 * HOUR).toISOString(),
      details: {},
    });
    const created = records.find((x) => x.kind === 'evaluation_created' && x.evaluation === second.id);
    expect(created).toMatchObject({
      actor: 'U0REQUESTER',
      digest: second.digest,
      policy_digest: second.policy.digest,
      version: 1,
      details: { run: RUN, supersedes: first.id },
    });
    expect(records.find((x) => x.kind === 'evaluation_superseded')).toMatchObject({
      evaluation: first.id,
      details: { superseded_by: second.id },
    });
    expect(records.find((x) => x.kind === 'message_ref_set')?.details).toEqual({
      message: { channel: 'C0CHANNEL', ts: '1700000000.000100' },
    });
  });

  it('exports one evaluation by id', async () => {
    const r = await audit([first.id, '--format', 'jsonl']);
    expect(r.code).toBe(0);
    expectMatches(jsonl(r.stdout), rawOf([first.id], await rawStream()), () => RUN);
  });

  it('reads a stream longer than one page completely', async () => {
    const r = await audit([big.id]);
    expect(r.code).toBe(0);
    const records = jsonl(r.stdout);
    expect(records).toHaveLength(1601);
    expectMatches(records, rawOf([big.id], await rawStream()), () => 'runs/long-history');
    expect(records.at(-1)).toMatchObject({ kind: 'note', actor: 'U0N3', details: { i: 1599, text: 'note 1599' } });
  });

  it('--since takes a duration back from --now, or an ISO 8601 timestamp; --until ends the window (exclusive)', async () => {
    const raw = rawOf([first.id, second.id], await rawStream());
    const since = (from: number, until = Number.POSITIVE_INFINITY) =>
      raw.filter((e) => Date.parse(e.fields.at ?? '') >= from && Date.parse(e.fields.at ?? '') < until);

    const week = await audit([RUN, '--since', '7d', '--now', NOW]);
    expect(week.code).toBe(0);
    const recent = since(T0 + 5 * DAY);
    expect(recent.length).toBeGreaterThan(0);
    // the second evaluation, and the first's supersession (recorded when the second was created)
    expect(
      recent.every(
        (e) =>
          e.fields.evaluation === second.id ||
          (e.fields.evaluation === first.id && e.fields.type === 'evaluation_superseded'),
      ),
    ).toBe(true);
    expectMatches(jsonl(week.stdout), recent, () => RUN);

    const hours = await audit([RUN, '--since', '47h', '--now', NOW]);
    expectMatches(jsonl(hours.stdout), since(T0 + 10 * DAY + HOUR), () => RUN);

    const window = await audit([RUN, '--since', '2026-11-01T10:00:00Z', '--until', '2026-11-01T11:01:00+00:00']);
    const inWindow = since(T0 + HOUR, T0 + 2 * HOUR + 60_000);
    expect(inWindow.map((e) => e.fields.type)).toContain('signoff_recorded');
    expectMatches(jsonl(window.stdout), inWindow, () => RUN);

    // a date is 00:00 UTC; an offset is honoured
    const day = await audit([RUN, '--since', '2026-11-11']);
    expectMatches(jsonl(day.stdout), since(Date.parse('2026-11-11T00:00:00Z')), () => RUN);
    const offset = await audit([RUN, '--until', '2026-11-01T11:00:00+01:00']);
    expectMatches(jsonl(offset.stdout), since(0, T0 + HOUR), () => RUN);
  });

  it('prints nothing and exits 0 when no entry matches', async () => {
    const r = await audit([RUN, '--since', '2027-01-01T00:00:00Z']);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('readiness audit --format csv', () => {
  it('has a header and the same records, RFC 4180 quoted, formulas neutralised', async () => {
    const [csv, json] = await Promise.all([audit([RUN, '--format', 'csv']), audit([RUN])]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.startsWith(`${COLUMNS.join(',')}\r\n`)).toBe(true);
    const rows = parseCsv(csv.stdout);
    const records = jsonl(json.stdout);
    expect(rows[0]).toEqual(COLUMNS);
    expect(rows).toHaveLength(records.length + 1);
    const neutral = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
    records.forEach((rec, i) => {
      const expected = COLUMNS.map((c) => {
        const v = rec[c];
        if (v === null) return '';
        if (c === 'details') return Object.keys(v as object).length === 0 ? '' : neutral(JSON.stringify(v));
        return neutral(String(v));
      });
      expect(rows[i + 1]).toEqual(expected);
    });
    // the comments as a spreadsheet would receive them: text, never a formula
    const comments = rows
      .slice(1)
      .map((row) => row[COLUMNS.indexOf('comment')])
      .filter((c) => c);
    expect(comments).toEqual([
      'looks good, ship it',
      'she said "fine"\nsecond line\r\nthird',
      `'=HYPERLINK("http://evil.example","click")`,
      "'+1 from me",
      "'-2+3",
      "'@SUM(A1:A2)",
      "'\tindented",
      "'\rcarriage",
      'second look, fine',
    ]);
    // and literally on the wire
    expect(csv.stdout).toContain(`,"'=HYPERLINK(""http://evil.example"",""click"")",`);
    expect(csv.stdout).toContain(`,"she said ""fine""\nsecond line\r\nthird",`);
    expect(csv.stdout).toContain(`,"looks good, ship it",`);
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('prints the header only when no entry matches', async () => {
    const r = await audit([RUN, '--format', 'csv', '--since', '1h', '--now', NOW]);
    expect(r).toEqual({ code: 0, stdout: `${COLUMNS.join(',')}\r\n`, stderr: '' });
  });
});

describe('readiness audit usage errors (exit 2)', () => {
  it.each([
    [
      ['ev-nope-0000'],
      /^readiness: no evaluation "ev-nope-0000" \(neither an evaluation id nor a run with evaluations\)\n$/,
    ],
    [['runs/never-evaluated'], /^readiness: no evaluation "runs\/never-evaluated"/],
    [['../../etc'], /^readiness: no evaluation "..\/..\/etc"/],
    [[RUN, '--since', 'yesterday'], /--since: expected an ISO 8601 timestamp .* got "yesterday"/],
    [[RUN, '--since', '2026-11-01T10:00'], /--since: ambiguous: "2026-11-01T10:00" has no time zone/],
    [[RUN, '--until', '2026-02-30'], /--until: "2026-02-30" is not a date on the calendar/],
    [[RUN, '--since', '1d', '--until', '2d', '--now', NOW], /--until \(.*\) must be later than --since/],
    [[RUN, '--now', 'soon'], /--now: expected an ISO 8601 timestamp/],
    [[RUN, '--format', 'xml'], /argument 'xml' is invalid/],
    [['FIRST', '--as', 'run'], /not a run with evaluations/],
  ])('%j', async (args, message) => {
    // the first evaluation's id is only known once beforeAll ran
    const r = await audit(args.map((a) => (a === 'FIRST' ? first.id : a)));
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('refuses a name that is both an evaluation id and a run, unless --as says which', async () => {
    const run = await exampleRun();
    const clash = `${other.id}`;
    // a run named exactly like an existing evaluation id
    await newEvaluation(store, clash, { runName: clash, manifest: run.manifest, requester: 'U0REQUESTER' });
    const r = await audit([clash]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /ambiguous: ".*" is both an evaluation id and a run name; add --as evaluation or --as run/,
    );
    const asEval = await audit([clash, '--as', 'evaluation']);
    expect(asEval.code).toBe(0);
    expectMatches(jsonl(asEval.stdout), rawOf([other.id], await rawStream()), () => 'runs/elsewhere');
    const asRun = await audit([clash, '--as', 'run']);
    expect(asRun.code).toBe(0);
    expect(new Set(jsonl(asRun.stdout).map((x) => x.run))).toEqual(new Set([clash]));
  });
});
