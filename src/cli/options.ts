/**
 * Option parsers and option sets shared by the command definitions in program.ts. Cheap to load:
 * every command is defined up front, before any of their implementations is imported.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseTargetValue } from '../parse/numbers.js';
import type { CheckQueueKind } from '../queue/names.js';
import { JUNIT_WARNINGS_AS } from '../report/junit.js';
import { FORMATS, type Io } from './output.js';

/** `--target`: a percent, or a fraction (≤ 1) read by the same rule as the artifacts' accuracies. */
export interface TargetFlag {
  percent: number;
  read: 'percent' | 'fraction';
  raw: string;
}

export function parseTarget(v: string): TargetFlag {
  const a = parseTargetValue(v);
  if (!a) throw new InvalidArgumentError(`expected a percentage (85, 85%) or a fraction (0.85), got "${v}"`);
  return { percent: a.percent, read: a.read, raw: v.trim() };
}

/** Says how a fractional --target was read, so 0.9 meaning 90 % is never silent. */
export function describeTarget(t: TargetFlag | undefined, io: Io): void {
  if (t?.read === 'fraction')
    io.stderr.write(
      `readiness: --target ${t.raw} read as a fraction: ${Number(t.percent.toFixed(4))}% (write ${t.raw}% for ${t.raw} percent)\n`,
    );
}

export function parseSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a number of seconds > 0, got "${v}"`);
  return n;
}

/** `--sequence`: which attestation of an evaluation (0 = the first), a whole number ≥ 0. */
export function parseSequence(v: string): number {
  if (!/^\d{1,6}$/.test(v.trim())) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${v}"`);
  return Number(v.trim());
}

export function parseQueues(v: string): CheckQueueKind[] {
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = parts.filter((p) => p !== 'light' && p !== 'heavy');
  if (parts.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(`expected a comma-separated list of light and heavy, got "${v}"`);
  return [...new Set(parts)] as CheckQueueKind[];
}

/** The options every command that prints a report takes (check, status, submit --wait). */
export function addReportOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .addOption(new Option('--format <format>', `${prefix}output format`).choices(FORMATS).default('text'))
    .option(
      '--output <file>',
      `${prefix}write the formatted report to this file (the text checklist still goes to stdout)`,
    )
    .option('--verbose', 'text: every item with its evidence (default: evidence only for failing and warning items)')
    .addOption(
      new Option(
        '--junit-warnings-as <kind>',
        'junit: report ⚠️ warnings as failures, skipped or passed (their text is in <system-out> either way)',
      )
        .choices(JUNIT_WARNINGS_AS)
        .default('failures'),
    )
    .option(
      '--junit-file-attributes',
      'junit: add file/line attributes to testcases (GitLab, GitHub annotators; not in the Jenkins xunit or Surefire XSD)',
    );
}
