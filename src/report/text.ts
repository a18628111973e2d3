import type { CheckResult, CheckStatus } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import type { GateStatus } from '../gate/evaluate.js';
import { GATE_LABEL, groupByCategory, heavySkipped, overrideLines, STATUS_ICON, summaryLine } from './common.js';

export interface TextOptions {
  /** Every item with its evidence, grouped by category. Default: one line per item, evidence only for failing and warning items. */
  verbose?: boolean;
  /** ANSI colours (the CLI decides: a terminal, NO_COLOR, FORCE_COLOR). */
  color?: boolean;
  /** Wrap at this many columns, keeping each line's indent; 0 or absent: no wrapping. */
  width?: number;
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
type Tone = keyof typeof ANSI;

const STATUS_TONE: Record<CheckStatus, Tone> = {
  pass: 'green',
  warn: 'yellow',
  fail: 'red',
  error: 'red',
  pending: 'cyan',
  running: 'cyan',
  skipped: 'yellow',
};
const GATE_TONE: Record<GateStatus, Tone> = { passed: 'green', pending: 'yellow', blocked: 'red' };

// Terminals draw emoji (and characters followed by VS16) two columns wide; VS16 itself takes none.
function charWidth(cp: number): number {
  if (cp === 0xfe0f || cp === 0x200d) return 0;
  if ((cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x2300 && cp <= 0x23ff)) return 2;
  return 1;
}

export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips from terminal output
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/** Control characters from artifacts never reach the terminal (no escape sequences, no cursor moves). */
function inert(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(CONTROL, '\uFFFD');
}

/**
 * Wraps one logical line at `width` columns. Continuation lines start with `hang` (the line's
 * own indent, or deeper); words longer than a line are cut.
 */
export function wrapLine(text: string, width: number, hang: string, keep = 0): string[] {
  if (!width || displayWidth(text) <= width) return [text];
  // The first `keep` characters (an icon and a padded id) stay as they are; so does the indent.
  const lead = keep > 0 ? text.slice(0, keep) : /^\s*/.exec(text)![0];
  const words = text.slice(lead.length).split(/ +/);
  const lines: string[] = [];
  let line = lead;
  let bare = true;
  const room = Math.max(10, width - displayWidth(hang));
  for (let word of words) {
    while (displayWidth(word) > room) {
      const free = width - displayWidth(line) - (bare ? 0 : 1);
      if (free < 10 && !bare) {
        lines.push(line);
        line = hang;
        bare = true;
        continue;
      }
      let cut = '';
      for (const ch of word) {
        if (displayWidth(cut + ch) > (bare ? width - displayWidth(line) : free)) break;
        cut += ch;
      }
      lines.push(`${line}${bare ? '' : ' '}${cut}`);
      word = word.slice(cut.length);
      line = hang;
      bare = true;
    }
    if (!bare && displayWidth(line) + 1 + displayWidth(word) > width) {
      lines.push(line);
      line = hang;
      bare = true;
    }
    line = bare ? `${line}${word}` : `${line} ${word}`;
    bare = false;
  }
  lines.push(line);
  return lines;
}

const EVIDENCE = '     ';
const REMEDIATION = '     → ';

/** The checklist a person reads in a terminal or CI log. */
export function renderText(report: GateReport, opts: TextOptions = {}): string {
  const paint = (tone: Tone, s: string) => (opts.color ? `\x1b[${ANSI[tone]}m${s}\x1b[0m` : s);
  const out: string[] = [];
  const push = (text: string, hang: string, tone?: { prefix: number; tone: Tone }, keep = 0) => {
    const lines = wrapLine(inert(text), opts.width ?? 0, hang, keep);
    if (tone && opts.color) lines[0] = paint(tone.tone, lines[0]!.slice(0, tone.prefix)) + lines[0]!.slice(tone.prefix);
    out.push(...lines);
  };

  push(`Production readiness: ${report.model_name} · run ${report.run}`, '  ');
  const p = report.policy;
  push(
    `Policy ${p.name}: target ${p.effective.target_accuracy}% (${p.sources.join(' ← ')}) · ${report.manifest.entries.length} artifacts, digest ${report.digest.slice(0, 12)}`,
    '  ',
  );
  for (const o of overrideLines(report)) push(`Run override: ${o}`, '  ');
  if (opts.verbose) push(`Policy sha256 ${p.digest}`, '  ');
  const idColumn = Math.max(...report.checks.map((c) => c.id.length)) + 2;

  const item = (c: CheckResult) => {
    const detailed = opts.verbose || c.status === 'fail' || c.status === 'error' || c.status === 'warn';
    const head = `${STATUS_ICON[c.status]} ${c.id.padEnd(idColumn)}`;
    const inline = !detailed && c.status !== 'pass' && c.evidence[0] ? ` — ${c.evidence[0]}` : '';
    push(
      `${head}${c.title}${c.security ? ' [SECURITY]' : ''}${inline}`,
      ' '.repeat(displayWidth(head)),
      { prefix: head.length, tone: STATUS_TONE[c.status] },
      head.length,
    );
    if (!detailed) return;
    for (const e of c.evidence) push(`${EVIDENCE}${e}`, `${EVIDENCE}  `);
    if (c.remediation && c.status !== 'pass' && c.status !== 'pending' && c.status !== 'skipped')
      push(`${REMEDIATION}${c.remediation}`, ' '.repeat(REMEDIATION.length));
  };

  if (opts.verbose) {
    for (const g of groupByCategory(report.checks)) {
      out.push('', `== ${g.title} ==`);
      g.checks.forEach(item);
    }
  } else {
    out.push('');
    report.checks.forEach(item);
  }

  out.push('');
  const skipped = heavySkipped(report);
  if (skipped.length) {
    const head = '⚠️  HEAVY CHECKS NOT RUN: ';
    push(
      `${head}${skipped.join(', ')} — ONNX parity and the latency test were not verified; the gate cannot pass until they run.`,
      '    ',
      { prefix: head.length, tone: 'yellow' },
      head.length,
    );
  }
  const summary = summaryLine(report);
  push(summary, '  ', { prefix: `Gate ${GATE_LABEL[report.gate]}`.length, tone: GATE_TONE[report.gate] });
  if (report.blocking.length) push(`Blocking: ${report.blocking.join(', ')}`, '  ');
  if (opts.verbose && report.outstanding.length) push(`Outstanding: ${report.outstanding.join(', ')}`, '  ');
  return `${out.join('\n')}\n`;
}
