import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest } from '../../src/artifacts/manifest.js';
import { checkRelativePath, RunArtifacts, resolveRunDirectory } from '../../src/artifacts/run.js';
import { GateError } from '../../src/errors.js';

let base: string;
let runDir: string;
let outside: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'artifacts-test-'));
  runDir = path.join(base, 'root', 'run1');
  outside = path.join(base, 'outside-secret.txt');
  await mkdir(path.join(runDir, 'docs'), { recursive: true });
  await writeFile(outside, 'SECRET');
  await writeFile(path.join(runDir, 'docs', 'a.md'), '# Title\r\nline two\r\n');
  await writeFile(path.join(runDir, 'bin.md'), Buffer.from([0x23, 0x00, 0x01, 0x02]));
  await writeFile(path.join(runDir, 'latin1.md'), Buffer.from([0x23, 0xe9, 0xff]));
  await symlink(outside, path.join(runDir, 'escape.md'));
  await symlink('/etc/passwd', path.join(runDir, 'passwd.md'));
  await symlink(path.join(runDir, 'docs', 'a.md'), path.join(runDir, 'inside-link.md'));
  await symlink(path.join(base, 'does-not-exist'), path.join(runDir, 'dangling.md'));
  await symlink(base, path.join(runDir, 'updir'));
  await mkdir(path.join(runDir, 'adir'));
  // A 2 GB sparse file: no disk used, but a naive reader would try to allocate 2 GB.
  const fh = await open(path.join(runDir, 'huge.log'), 'w');
  await fh.close();
  await truncate(path.join(runDir, 'huge.log'), 2 * 1024 * 1024 * 1024);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('checkRelativePath', () => {
  it.each([
    ['../x', '".."'],
    ['a/../../x', '".."'],
    ['/etc/passwd', 'absolute'],
    ['C:/windows', 'absolute'],
    ['a\\b', 'backslash'],
    ['a\0b', 'NUL'],
    ['', 'empty'],
  ])('refuses %j (%s)', (p, why) => {
    expect(() => checkRelativePath(p)).toThrow(why);
  });

  it('normalises harmless relative paths', () => {
    expect(checkRelativePath('./docs//a.md')).toBe('docs/a.md');
  });
});

describe('RunArtifacts', () => {
  it('reads text with CRLF normalised and records the access', async () => {
    const run = await RunArtifacts.open(runDir);
    expect(await run.readText('docs/a.md')).toBe('# Title\nline two\n');
    expect(run.accessed.has('docs/a.md')).toBe(true);
  });

  it('follows symlinks that stay inside the run', async () => {
    const run = await RunArtifacts.open(runDir);
    expect(await run.readText('inside-link.md')).toContain('line two');
  });

  it('refuses a symlink pointing outside the run as a hostile path escape, without reading it', async () => {
    const run = await RunArtifacts.open(runDir);
    await expect(run.readText('escape.md')).rejects.toMatchObject({ code: 'PATH_ESCAPE', hostile: true });
    await expect(run.readText('passwd.md')).rejects.toThrow(/points outside the run folder/);
    await expect(run.readText('updir/outside-secret.txt')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(run.readText('dangling.md')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    expect(run.accessed.has('escape.md')).toBe(false);
  });

  it('refuses .. and absolute paths before touching the filesystem', async () => {
    const run = await RunArtifacts.open(runDir);
    await expect(run.readText('../../outside-secret.txt')).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      hostile: true,
    });
    await expect(run.readText(outside)).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(run.exists('../run1/docs/a.md')).rejects.toBeInstanceOf(GateError);
  });

  it('caps whole-file reads before allocating (2 GB sparse file)', async () => {
    const run = await RunArtifacts.open(runDir);
    const before = process.memoryUsage().rss;
    await expect(run.readText('huge.log')).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(run.readText('huge.log')).rejects.toThrow(/2147483648 bytes; the limit/);
    // Nothing close to 2 GB was allocated.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses binary content and invalid UTF-8 where text is expected, naming the file', async () => {
    const run = await RunArtifacts.open(runDir);
    await expect(run.readText('bin.md')).rejects.toThrow(/bin\.md is binary/);
    await expect(run.readText('latin1.md')).rejects.toThrow(/latin1\.md is not valid UTF-8/);
  });

  it('reports missing files and directories distinctly', async () => {
    const run = await RunArtifacts.open(runDir);
    expect(await run.exists('nope.md')).toBe(false);
    expect(await run.size('nope.md')).toBeNull();
    await expect(run.readText('nope.md')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(run.readText('adir')).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });

  it('refuses to open a run folder that does not exist', async () => {
    await expect(RunArtifacts.open(path.join(base, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('resolveRunDirectory', () => {
  it('resolves run names under the artifact root', async () => {
    expect(await resolveRunDirectory(path.join(base, 'root'), 'run1')).toBe(runDir);
  });

  it('refuses names escaping the root', async () => {
    const root = path.join(base, 'root');
    await expect(resolveRunDirectory(root, '../outside-secret.txt')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await expect(resolveRunDirectory(root, '/etc')).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
    await symlink(base, path.join(root, 'sneaky'));
    await expect(resolveRunDirectory(root, 'sneaky')).rejects.toThrow(/outside the artifact root/);
    // a link to a file outside is an escape (a security finding), not merely "not a directory"
    await symlink(path.join(base, 'outside-secret.txt'), path.join(root, 'sneaky-file'));
    await expect(resolveRunDirectory(root, 'sneaky-file')).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      hostile: true,
    });
  });

  it('refuses a missing run, a file, a dangling link and a missing root, each for what it is', async () => {
    const root = path.join(base, 'root');
    await expect(resolveRunDirectory(root, 'no-such-run')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'run "no-such-run" not found under the artifact root',
    });
    await writeFile(path.join(root, 'a-file'), 'x');
    await expect(resolveRunDirectory(root, 'a-file')).rejects.toMatchObject({ code: 'NOT_A_FILE' });
    await symlink(path.join(root, 'gone'), path.join(root, 'dangling'));
    await expect(resolveRunDirectory(root, 'dangling')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(resolveRunDirectory(path.join(base, 'no-root'), 'run1')).rejects.toThrow(
      /artifact root .* does not exist/,
    );
    // a link inside the root to a run resolves to the run itself
    await symlink(runDir, path.join(root, 'alias'));
    expect(await resolveRunDirectory(root, 'alias')).toBe(runDir);
  });
});

describe('buildManifest', () => {
  it('hashes existing files by streaming and digests the sorted entries', async () => {
    const run = await RunArtifacts.open(runDir);
    const progress: number[] = [];
    const m = await buildManifest(run, ['docs/a.md', 'missing.md', 'inside-link.md'], (d) => progress.push(d));
    expect(m.entries.map((e) => e.path)).toEqual(['docs/a.md', 'inside-link.md']);
    const expected = createHash('sha256')
      .update(await readFile(path.join(runDir, 'docs', 'a.md')))
      .digest('hex');
    expect(m.entries[0]!.sha256).toBe(expected);
    expect(m.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(progress.at(-1)).toBe(m.bytes);
  });

  it('changes the digest when any file changes', async () => {
    const run = await RunArtifacts.open(runDir);
    const a = await buildManifest(run, ['docs/a.md']);
    await writeFile(path.join(runDir, 'docs', 'a.md'), '# Title\nline two changed\n');
    const b = await buildManifest(run, ['docs/a.md']);
    expect(b.digest).not.toBe(a.digest);
  });

  it('leaves symlinks that escape out of the manifest instead of hashing what they point at', async () => {
    const run = await RunArtifacts.open(runDir);
    const m = await buildManifest(run, ['passwd.md', 'docs/a.md']);
    expect(m.entries.map((e) => e.path)).toEqual(['docs/a.md']);
  });
});
