import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { runCheck } from '../../src/checks/runner.js';
import type { CheckDefinition, CheckResult } from '../../src/checks/types.js';
import { loadEffectivePolicy, type PolicyLayer } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/schema.js';
import { copyExampleRun, mutateText } from './runs.js';

export interface RunOnOptions {
  /** Flag-style overrides applied last (e.g. `{ target_accuracy: 99.5 }` as `--target 99.5`). */
  flags?: Record<string, unknown>;
  /** A policy-file layer applied over the defaults (before the run's readiness.yml). */
  policyLayer?: PolicyLayer;
}

export interface CheckRun {
  result: CheckResult;
  policy: Policy;
  run: RunArtifacts;
  /** Every evidence line joined with newlines, for `toContain` / `toMatch`. */
  text: string;
}

/**
 * Runs one check on a run folder exactly as the gate does: opens RunArtifacts, resolves the
 * effective policy (defaults ← policy layer ← run's readiness.yml ← flags) and calls runCheck.
 */
export async function runOn(dir: string, def: CheckDefinition, opts: RunOnOptions = {}): Promise<CheckRun> {
  const run = await RunArtifacts.open(dir);
  const { policy } = await loadEffectivePolicy(run, { flags: opts.flags, policyLayer: opts.policyLayer });
  const result = await runCheck(def, { run, policy });
  return { result, policy, run, text: result.evidence.join('\n') };
}

/** A copy of the example run with each listed file rewritten through its transform. */
export async function variant(mutations: Record<string, (text: string) => string> = {}): Promise<string> {
  const dir = await copyExampleRun();
  for (const [rel, transform] of Object.entries(mutations)) await mutateText(dir, rel, transform);
  return dir;
}

/** Replaces `from` with `to`, throwing when `from` is not in the text (so a stale mutation is loud). */
export function replace(
  from: string | RegExp,
  to: string | ((match: string, ...groups: string[]) => string),
): (text: string) => string {
  return (text) => {
    const hit =
      typeof from === 'string' ? text.includes(from) : new RegExp(from.source, from.flags.replace('g', '')).test(text);
    if (!hit) throw new Error(`mutation target not found: ${String(from)}`);
    if (typeof from === 'string')
      return typeof to === 'string' ? text.split(from).join(to) : text.split(from).join(to(from));
    return text.replace(from, to as (match: string, ...groups: string[]) => string);
  };
}

/** [start, end) line range of an ATX section (fenced code skipped), or throws when absent. */
function sectionRange(lines: string[], title: string): [number, number] {
  const heads: { index: number; level: number; title: string }[] = [];
  let fence = false;
  lines.forEach((l, i) => {
    if (/^\s{0,3}(```|~~~)/.test(l)) fence = !fence;
    const m = /^(#{1,6})\s+(.*?)\s*$/.exec(l);
    if (!fence && m) heads.push({ index: i, level: m[1]!.length, title: m[2]! });
  });
  const k = heads.findIndex((h) => h.title === title);
  if (k < 0) throw new Error(`section "${title}" not found`);
  const next = heads.slice(k + 1).find((h) => h.level <= heads[k]!.level);
  return [heads[k]!.index, next ? next.index : lines.length];
}

/** Removes a markdown section (its heading line to the next heading of the same or higher level). */
export function dropSection(title: string): (text: string) => string {
  return (text) => {
    const lines = text.split('\n');
    const [start, end] = sectionRange(lines, title);
    return [...lines.slice(0, start), ...lines.slice(end)].join('\n');
  };
}

/** Replaces a section's body (keeps the heading); an empty body empties the section. */
export function setSection(title: string, body = ''): (text: string) => string {
  return (text) => {
    const lines = text.split('\n');
    const [start, end] = sectionRange(lines, title);
    return [...lines.slice(0, start + 1), '', ...(body ? [body, ''] : []), ...lines.slice(end)].join('\n');
  };
}

/** Keeps a section's heading but empties its body. */
export const emptySection = (title: string) => setSection(title, '');

// ---------------------------------------------------------------------------------------------
// Bad input: every check that reads a document gets the same treatment.

/** Binary garbage: NUL bytes and invalid UTF-8, what a corrupted or mis-copied file looks like. */
export const GARBAGE = Buffer.from([
  0x89,
  0x50,
  0x00,
  0x00,
  0xff,
  0xfe,
  0xc3,
  0x28,
  0x00,
  0x01,
  0x02,
  0x9f,
  ...Array.from({ length: 500 }, (_, i) => (i * 37) % 256),
]);
/** Invalid UTF-8 without NUL bytes (Latin-1 text, a lone continuation byte). */
export const NOT_UTF8 = Buffer.from('Test Accuracy: 99.2%\n## Section \xe9\xe8\x80 caf\xe9\n', 'latin1');
export const TWO_GB = 2 * 1024 * 1024 * 1024;

export async function removeFile(dir: string, rel: string): Promise<void> {
  await rm(path.join(dir, rel));
}

export async function writeRunFile(dir: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

/** Replaces a run file by a symlink to /etc/passwd (a path outside the run). */
export async function symlinkOutside(dir: string, rel: string, target = '/etc/passwd'): Promise<void> {
  await rm(path.join(dir, rel), { force: true });
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await symlink(target, path.join(dir, rel));
}

/** Replaces a run file by a sparse file of `size` bytes (no real disk use). */
export async function sparseFile(dir: string, rel: string, size = TWO_GB): Promise<void> {
  const file = path.join(dir, rel);
  await rm(file, { force: true });
  await writeFile(file, '');
  await truncate(file, size);
}

export type Expectation = { status: CheckResult['status']; text: string | RegExp };

export interface BadDocumentExpectations {
  /** Result when the document does not exist. */
  missing: Expectation;
  /** Result when the document is an empty file. */
  empty: Expectation;
}

function expectResult(r: CheckRun, e: Expectation): void {
  expect(r.result.status).toBe(e.status);
  if (typeof e.text === 'string') expect(r.text).toContain(e.text);
  else expect(r.text).toMatch(e.text);
}

/**
 * Registers the bad-input tests for one document a check reads: missing, empty, binary garbage,
 * invalid UTF-8, a symlink to /etc/passwd, and a 2 GB sparse file. Never a crash, never a read
 * outside the run, never a whole-file read of the sparse file.
 */
export function describeBadDocument(def: CheckDefinition, rel: string, expected: BadDocumentExpectations): void {
  describe(`bad input in ${rel}`, () => {
    it('missing file', async () => {
      const dir = await copyExampleRun();
      await removeFile(dir, rel);
      const r = await runOn(dir, def);
      expectResult(r, expected.missing);
      expect(r.text).toContain(rel);
    });

    it('empty file', async () => {
      const dir = await copyExampleRun();
      await writeRunFile(dir, rel, '');
      const r = await runOn(dir, def);
      expectResult(r, expected.empty);
    });

    it('binary garbage where text is expected: error naming the file', async () => {
      const dir = await copyExampleRun();
      await writeRunFile(dir, rel, GARBAGE);
      const r = await runOn(dir, def);
      expect(r.result.status).toBe('error');
      expect(r.text).toContain(`${rel} is binary`);
      expect(r.text).not.toContain('check crashed');
    });

    it('invalid UTF-8 text: error naming the file', async () => {
      const dir = await copyExampleRun();
      await writeRunFile(dir, rel, NOT_UTF8);
      const r = await runOn(dir, def);
      expect(r.result.status).toBe('error');
      expect(r.text).toContain(`${rel} is not valid UTF-8 text`);
    });

    it('symlink to /etc/passwd: security fail, nothing read outside the run', async () => {
      const dir = await copyExampleRun();
      await symlinkOutside(dir, rel);
      const r = await runOn(dir, def);
      expect(r.result.status).toBe('fail');
      expect(r.result.security).toBe(true);
      expect(r.text).toContain('security finding');
      expect(r.text).toContain(`${rel} is a symlink that points outside the run folder`);
      expect(r.text).not.toContain('root:');
      expect([...r.run.accessed]).not.toContain(rel);
    });

    it('2 GB sparse file: error "limit" from its size, without reading it', async () => {
      const dir = await copyExampleRun();
      await sparseFile(dir, rel);
      const r = await runOn(dir, def);
      expect(r.result.status).toBe('error');
      // The size comes from stat before any allocation: "<rel> is 2147483648 bytes; the limit ... is 8388608 bytes".
      expect(r.text).toContain(`${rel} is ${TWO_GB} bytes; the limit for this file is`);
      expect(r.result.security).toBeUndefined();
    });
  });
}
