import { constants as fsc, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, realpath, stat } from 'node:fs/promises';
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
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" contains a backslash; expected a POSIX relative path`, {
      hostile: true,
    });
  }
  if (path.posix.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) {
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" is absolute; expected a path relative to the run folder`, {
      hostile: true,
    });
  }
  const parts = rel.split('/');
  if (parts.includes('..')) {
    throw new GateError('PATH_ESCAPE', `${what} "${rel}" contains ".."; paths must stay inside the run folder`, {
      hostile: true,
    });
  }
  return path.posix.normalize(rel).replace(/^\.\//, '');
}

/**
 * O_NOFOLLOW: the last component may not be a symlink (the path is already resolved, so one
 * appearing now is a swap). O_NONBLOCK: opening a FIFO that slipped past the lstat returns at
 * once instead of waiting for a writer (it blocks a libuv thread forever otherwise); for regular
 * files it changes nothing. Both are 0 where the platform lacks them.
 */
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0);

/** What a non-regular file is, for the refusal message. */
function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** A run artifact that is not a regular file cannot be a legitimate layout file: a security finding. */
function notRegularFile(rel: string, st: Stats): GateError {
  return new GateError('NOT_A_FILE', `${rel} is ${fileKind(st)}, not a regular file; refused without reading it`, {
    file: rel,
    hostile: true,
  });
}

function tooLarge(rel: string, size: number, maxBytes: number): GateError {
  return new GateError('TOO_LARGE', `${rel} is ${size} bytes; the limit for this file is ${maxBytes} bytes`, {
    file: rel,
  });
}

export interface OpenOptions {
  /** Refuse the file, before reading a byte, when it is larger than this. */
  maxBytes?: number;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function isNotFound(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    ((err as { code: string }).code === 'ENOENT' || (err as { code: string }).code === 'ENOTDIR')
  );
}

/**
 * Resolves `name` (relative to `artifactRoot`) to a run folder, refusing anything that leaves the root.
 */
export async function resolveRunDirectory(artifactRoot: string, name: string): Promise<string> {
  const rel = checkRelativePath(name, 'run name');
  const joined = path.join(artifactRoot, rel);
  // Independent lookups at once: this runs before every Slack command's ack, where each await on
  // the thread pool queues behind the rest of a burst.
  const [root, real, st] = await Promise.allSettled([realpath(artifactRoot), realpath(joined), stat(joined)]);
  if (root.status === 'rejected')
    throw new GateError('NOT_FOUND', `artifact root ${artifactRoot} does not exist`, { cause: root.reason });
  if (real.status === 'rejected')
    throw new GateError('NOT_FOUND', `run "${name}" not found under the artifact root`, { cause: real.reason });
  if (!isInside(root.value, real.value)) {
    throw new GateError('PATH_ESCAPE', `run "${name}" resolves outside the artifact root (symlink)`, { hostile: true });
  }
  if (st.status === 'rejected')
    throw new GateError('NOT_FOUND', `run "${name}" not found under the artifact root`, { cause: st.reason });
  if (!st.value.isDirectory()) throw new GateError('NOT_A_FILE', `run "${name}" is not a directory`);
  return real.value;
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
      if (!isNotFound(err))
        throw new GateError('UNREADABLE', `${clean}: ${(err as Error).message}`, { file: clean, cause: err });
      // A dangling symlink is still refused if it points outside.
      const link = await lstat(joined).catch(() => null);
      if (link?.isSymbolicLink()) {
        throw new GateError(
          'PATH_ESCAPE',
          `${clean} is a symlink whose target does not exist or leaves the run folder`,
          { file: clean, hostile: true },
        );
      }
      throw new GateError('NOT_FOUND', `${clean} not found in the run`, { file: clean, cause: err });
    }
    if (!isInside(this.root, real)) {
      throw new GateError('PATH_ESCAPE', `${clean} is a symlink that points outside the run folder; refused`, {
        file: clean,
        hostile: true,
      });
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

  /**
   * Confined path and lstat of a file that must be regular: FIFOs, sockets, devices and
   * directories are refused as security findings before anything opens them.
   */
  private async statRegular(rel: string): Promise<{ clean: string; abs: string; st: Stats }> {
    const clean = checkRelativePath(rel);
    const abs = await this.resolve(clean);
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (err) {
      if (isNotFound(err))
        throw new GateError('NOT_FOUND', `${clean} not found in the run`, { file: clean, cause: err });
      throw new GateError('UNREADABLE', `${clean}: ${(err as Error).message}`, { file: clean, cause: err });
    }
    if (!st.isFile()) throw notRegularFile(clean, st);
    return { clean, abs, st };
  }

  /** Size of a regular file, or null when it does not exist. */
  async size(rel: string): Promise<number | null> {
    try {
      return (await this.statRegular(rel)).st.size;
    } catch (err) {
      if (err instanceof GateError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /**
   * Opens a regular file for streaming reads; every read of a run's bytes starts here. The file
   * type is checked with lstat before opening, the open cannot block or follow a link, and the
   * open file is checked again (fstat: type, device and inode) so a swap between the two is
   * refused. `maxBytes` is enforced before any byte is read. The caller closes the handle.
   */
  async openFile(rel: string, opts: OpenOptions = {}): Promise<OpenedFile> {
    const { clean, abs, st } = await this.statRegular(rel);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw tooLarge(clean, st.size, opts.maxBytes);
    let handle: FileHandle;
    try {
      handle = await open(abs, OPEN_FLAGS);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ELOOP')
        throw new GateError('PATH_ESCAPE', `${clean} became a symlink while it was being opened; refused`, {
          file: clean,
          hostile: true,
          cause: err,
        });
      throw new GateError('UNREADABLE', `${clean} cannot be opened: ${(err as Error).message}`, {
        file: clean,
        cause: err,
      });
    }
    const fst = await handle.stat();
    if (!fst.isFile() || fst.dev !== st.dev || fst.ino !== st.ino) {
      await handle.close();
      if (!fst.isFile()) throw notRegularFile(clean, fst);
      throw new GateError('NOT_A_FILE', `${clean} was replaced by another file while it was being opened; refused`, {
        file: clean,
        hostile: true,
      });
    }
    if (opts.maxBytes !== undefined && fst.size > opts.maxBytes) {
      await handle.close();
      throw tooLarge(clean, fst.size, opts.maxBytes);
    }
    this.accessed.add(clean);
    return { handle, size: fst.size, absolutePath: abs, rel: clean };
  }

  /** Reads a whole file into memory, refusing files over `maxBytes` before allocating. */
  async readBytes(rel: string, maxBytes = DEFAULT_MAX_TEXT_BYTES): Promise<Buffer> {
    const f = await this.openFile(rel, { maxBytes });
    try {
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
