import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { GateError } from '../errors.js';

/** Default cap for files read whole into memory (markdown, json, logs, png headers). */
export const DEFAULT_MAX_TEXT_BYTES = 8 * 1024 * 1024;

export interface OpenedFile {
  handle: FileHandle;
  size: number;
  /** Absolute, resolved path (for onnxruntime, which wants a path). */
  absolutePath: string;
  rel: string;
}

/**
 * Validates a run-relative path syntactically: no absolute paths, no `..`, no NUL, no backslash.
 * Returns the normalised POSIX relative path.
 */
export function checkRelativePath(rel: string, what = 'path'): string {
  if (typeof rel !== 'string' || rel.length === 0) {
    throw new GateError('PATH_ESCAPE', `${what} is empty; expected a path relative to the run folder`);
  }
  if (rel.includes('\0')) throw new GateError('PATH_ESCAPE', `${what} "${rel}" contains a NUL byte`, { hostile: true });
  if (rel.includes('\\')) {
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" contains a backslash; expected a POSIX relative path`, { hostile: true });
  }
  if (path.posix.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) {
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" is absolute; expected a path relative to the run folder`, { hostile: true });
  }
  const parts = rel.split('/');
  if (parts.includes('..')) {
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" contains ".."; paths must stay inside the run folder`, { hostile: true });
  }
  return path.posix.normalize(rel).replace(/^\.\//, '');
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && ((err as { code: string }).code === 'ENOENT' || (err as { code: string }).code === 'ENOTDIR');
}

/**
 * Resolves `name` (relative to `artifactRoot`) to a run folder, refusing anything that leaves the root.
 */
export async function resolveRunDirectory(artifactRoot: string, name: string): Promise<string> {
  const rel = checkRelativePath(name, 'run name');
  const root = await realpath(artifactRoot).catch((err: unknown) => {
    throw new GateError('NOT_FOUND', `artifact root ${artifactRoot} does not exist`, { cause: err });
  });
  const joined = path.join(root, rel);
  const real = await realpath(joined).catch((err: unknown) => {
    throw new GateError('NOT_FOUND', `run "${name}" not found under the artifact root`, { cause: err });
  });
  if (!isInside(root, real)) {
    throw new GateError('PATH_ESCAPE', `run "${name}" resolves outside the artifact root (symlink)`, { hostile: true });
  }
  const st = await stat(real);
  if (!st.isDirectory()) throw new GateError('NOT_A_FILE', `run "${name}" is not a directory`);
  return real;
}

/**
 * The only way checks read a run's files. Every path is confined to the run root (no `..`,
 * no absolute paths, no symlinks that leave the root), whole-file reads are size-capped, and
 * every file touched is remembered for the manifest.
 */
export class RunArtifacts {
  readonly root: string;
  /** Run-relative paths of every file a check opened. */
  readonly accessed = new Set<string>();
  private readonly textCache = new Map<string, Promise<string>>();

  private constructor(root: string) {
    this.root = root;
  }

  static async open(dir: string): Promise<RunArtifacts> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      throw new GateError('NOT_FOUND', `run folder ${dir} does not exist`, { cause: err });
    }
    const st = await stat(real);
    if (!st.isDirectory()) throw new GateError('NOT_A_FILE', `run folder ${dir} is not a directory`);
    return new RunArtifacts(real);
  }

  /** Absolute path of `rel`, after proving it stays inside the run (following symlinks). */
  async resolve(rel: string): Promise<string> {
    const clean = checkRelativePath(rel);
    const joined = path.join(this.root, clean);
    let real: string;
    try {
      real = await realpath(joined);
    } catch (err) {
      if (!isNotFound(err)) throw new GateError('UNREADABLE', `${clean}: ${(err as Error).message}`, { file: clean, cause: err });
      // A dangling symlink is still refused if it points outside.
      const link = await lstat(joined).catch(() => null);
      if (link?.isSymbolicLink()) {
        throw new GateError('PATH_ESCAPE', `${clean} is a symlink whose target does not exist or leaves the run folder`, { file: clean, hostile: true });
      }
      throw new GateError('NOT_FOUND', `${clean} not found in the run`, { file: clean, cause: err });
    }
    if (!isInside(this.root, real)) {
      throw new GateError('PATH_ESCAPE', `${clean} is a symlink that points outside the run folder; refused`, { file: clean, hostile: true });
    }
    return real;
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await this.resolve(rel);
      return true;
    } catch (err) {
      if (err instanceof GateError && err.code === 'NOT_FOUND') return false;
      throw err;
    }
  }

  /** Size of a regular file, or null when it does not exist. */
  async size(rel: string): Promise<number | null> {
    try {
      const abs = await this.resolve(rel);
      const st = await stat(abs);
      if (!st.isFile()) throw new GateError('NOT_A_FILE', `${rel} is not a regular file`, { file: rel });
      return st.size;
    } catch (err) {
      if (err instanceof GateError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /** Opens a regular file for streaming reads. The caller closes the handle. */
  async openFile(rel: string): Promise<OpenedFile> {
    const clean = checkRelativePath(rel);
    const abs = await this.resolve(clean);
    let handle: FileHandle;
    try {
      handle = await open(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      throw new GateError('UNREADABLE', `${clean} cannot be opened: ${(err as Error).message}`, { file: clean, cause: err });
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new GateError('NOT_A_FILE', `${clean} is not a regular file`, { file: clean });
    }
    this.accessed.add(clean);
    return { handle, size: st.size, absolutePath: abs, rel: clean };
  }

  /** Reads a whole file into memory, refusing files over `maxBytes` before allocating. */
  async readBytes(rel: string, maxBytes = DEFAULT_MAX_TEXT_BYTES): Promise<Buffer> {
    const f = await this.openFile(rel);
    try {
      if (f.size > maxBytes) {
        throw new GateError('TOO_LARGE', `${f.rel} is ${f.size} bytes; the limit for this file is ${maxBytes} bytes`, { file: f.rel });
      }
      const buf = Buffer.alloc(f.size);
      let off = 0;
      while (off < f.size) {
        const { bytesRead } = await f.handle.read(buf, off, f.size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off === f.size ? buf : buf.subarray(0, off);
    } finally {
      await f.handle.close();
    }
  }

  /** Reads the first `n` bytes of a file (e.g. to sniff a format). */
  async readHead(rel: string, n: number): Promise<Buffer> {
    const f = await this.openFile(rel);
    try {
      const buf = Buffer.alloc(Math.min(n, f.size));
      const { bytesRead } = await f.handle.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await f.handle.close();
    }
  }

  /**
   * Reads a UTF-8 text file: size-capped, refuses binary content, normalises CRLF/CR to LF and
   * strips a BOM. Cached per run, so several checks can read the same document.
   */
  readText(rel: string, maxBytes = DEFAULT_MAX_TEXT_BYTES): Promise<string> {
    const key = `${rel}\0${maxBytes}`;
    let p = this.textCache.get(key);
    if (!p) {
      p = this.readBytes(rel, maxBytes).then((buf) => decodeText(buf, rel));
      this.textCache.set(key, p);
    }
    return p;
  }
}

export function decodeText(buf: Buffer, rel: string): string {
  if (buf.includes(0)) {
    throw new GateError('PARSE_ERROR', `${rel} is binary (contains NUL bytes); expected UTF-8 text`, { file: rel });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${rel} is not valid UTF-8 text`, { file: rel, cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.replace(/\r\n?/g, '\n');
}

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  entries: ManifestEntry[];
  /** sha256 over the sorted "sha256  size  path" lines. */
  digest: string;
  bytes: number;
}

const HASH_CHUNK = 1024 * 1024;

/** Streams a file through sha256 with a fixed buffer (never the whole file in memory). */
export async function sha256File(f: OpenedFile, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await f.handle.read(buf, 0, HASH_CHUNK, pos);
    if (bytesRead === 0) break;
    hash.update(bytesRead === HASH_CHUNK ? buf : buf.subarray(0, bytesRead));
    pos += bytesRead;
    onBytes?.(bytesRead);
  }
  return hash.digest('hex');
}

export function manifestDigest(entries: readonly ManifestEntry[]): string {
  const hash = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${e.sha256}  ${e.size}  ${e.path}\n`);
  }
  return hash.digest('hex');
}

/**
 * Hashes every existing regular file among `paths` (run-relative). Missing files are left out:
 * the checks report them; the digest changes when they appear.
 */
export async function buildManifest(
  run: RunArtifacts,
  paths: Iterable<string>,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<Manifest> {
  const unique = [...new Set([...paths].map((p) => checkRelativePath(p)))].sort();
  const sized: { rel: string; size: number }[] = [];
  for (const rel of unique) {
    const size = await run.size(rel).catch((err: unknown) => {
      if (err instanceof GateError && (err.code === 'NOT_A_FILE' || err.code === 'PATH_ESCAPE')) return null;
      throw err;
    });
    if (size !== null) sized.push({ rel, size });
  }
  const total = sized.reduce((a, s) => a + s.size, 0);
  let done = 0;
  const entries: ManifestEntry[] = [];
  for (const { rel } of sized) {
    const f = await run.openFile(rel);
    try {
      const sha256 = await sha256File(f, (n) => {
        done += n;
        onProgress?.(done, total);
      });
      entries.push({ path: rel, size: f.size, sha256 });
    } finally {
      await f.handle.close();
    }
  }
  return { entries, digest: manifestDigest(entries), bytes: total };
}
