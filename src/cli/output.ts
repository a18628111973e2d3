import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GateReport } from '../engine.js';
import { GateError } from '../errors.js';
import { heavySkipped } from '../report/common.js';
import { renderJson } from '../report/json.js';
import { type JunitWarningsAs, renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderText, type TextOptions } from '../report/text.js';

export const FORMATS = ['text', 'json', 'junit', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

/** Exit codes of check, submit --wait and status (README "Exit codes"). */
export const EXIT = {
  /** No automated check failing, every heavy check ran (sign-offs may be pending). */
  ok: 0,
  /** The gate is blocked. */
  blocked: 1,
  /** Usage or configuration error. */
  usage: 2,
  /** Nothing failed, but heavy checks did not run (--skip-heavy): parity and latency unverified. */
  incomplete: 3,
} as const;

/**
 * Ends a command with an exit code other than 0: thrown by a command's implementation, turned
 * into the process's exit code by main() (nothing is printed for it; the command already said why).
 */
export class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitError';
  }
}

/** Ends the command with `code`: returns for 0, throws ExitError otherwise. */
export function exitWith(code: number): void {
  if (code !== EXIT.ok) throw new ExitError(code);
}

export interface Stream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: Stream;
  stderr: Stream;
  /** NO_COLOR, FORCE_COLOR, COLUMNS: read at the shell's edge, passed in. */
  env?: Record<string, string | undefined>;
}

/** Colour and width for a stream: colour on a terminal unless NO_COLOR; FORCE_COLOR forces it (0/false: off). */
export function terminalStyle(stream: Stream, env: Io['env'] = {}): { color: boolean; width: number } {
  const force = env.FORCE_COLOR;
  const color = env.NO_COLOR
    ? false
    : force !== undefined && force !== ''
      ? force !== '0' && force !== 'false'
      : Boolean(stream.isTTY) && env.TERM !== 'dumb';
  const columns = stream.isTTY && stream.columns ? stream.columns : Number(env.COLUMNS) || 100;
  return { color, width: Math.max(40, columns) };
}

export function exitCodeFor(report: GateReport, opts: { allowSkippedHeavy?: boolean } = {}): number {
  if (report.gate === 'blocked') return EXIT.blocked;
  if (!opts.allowSkippedHeavy && heavySkipped(report).length > 0) return EXIT.incomplete;
  return EXIT.ok;
}

export interface ReportOutputOptions {
  format: Format;
  output?: string;
  verbose?: boolean;
  junitWarningsAs?: JunitWarningsAs;
  junitFileAttributes?: boolean;
}

export function renderReport(report: GateReport, opts: ReportOutputOptions, text: TextOptions = {}): string {
  switch (opts.format) {
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report, {
        warningsAs: opts.junitWarningsAs ?? 'failures',
        fileAttributes: Boolean(opts.junitFileAttributes),
      });
    case 'markdown':
      return renderMarkdown(report);
    default:
      return renderText(report, { ...text, verbose: Boolean(opts.verbose) });
  }
}

/**
 * Checks, before any work, that --output can be written: its folder exists and is writable and
 * the path is not a folder. A usage error (exit 2) at once instead of an ENOENT after the checks.
 */
export async function checkOutputPath(file: string | undefined, flag = '--output'): Promise<void> {
  if (!file) return;
  const dir = path.dirname(path.resolve(file));
  const d = await stat(dir).catch(() => null);
  if (!d) throw new GateError('USAGE', `${flag} ${file}: the folder ${dir} does not exist`);
  if (!d.isDirectory()) throw new GateError('USAGE', `${flag} ${file}: ${dir} is not a folder`);
  const f = await stat(file).catch(() => null);
  if (f?.isDirectory()) throw new GateError('USAGE', `${flag} ${file} is a folder; give a file name`);
  await access(f ? file : dir, constants.W_OK).catch(() => {
    throw new GateError('USAGE', `${flag} ${file}: ${f ? 'the file' : `the folder ${dir}`} is not writable`);
  });
}

/** Writes the report as asked: to --output (and the text checklist to stdout), or to stdout. */
export async function emitReport(report: GateReport, opts: ReportOutputOptions, io: Io): Promise<void> {
  const text = terminalStyle(io.stdout, io.env);
  if (opts.output) {
    // A file gets no colour and no terminal wrapping.
    await writeFile(opts.output, renderReport(report, opts));
    io.stdout.write(renderText(report, { ...text, verbose: Boolean(opts.verbose) }));
    io.stderr.write(`${opts.format} report written to ${opts.output}\n`);
  } else {
    io.stdout.write(renderReport(report, opts, text));
  }
}

/** After the report: say loudly on stderr why the exit code is 3. */
export function explainExit(code: number, io: Io): void {
  if (code === EXIT.incomplete) {
    io.stderr.write(
      'readiness: exit 3: heavy checks did not run (--skip-heavy), so parity and latency are unverified; run without --skip-heavy, or pass --allow-skipped-heavy to exit 0 anyway\n',
    );
  }
}
