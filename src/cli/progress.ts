import { AUTOMATED_CHECKS } from '../checks/registry.js';
import type { CheckProgress, CheckResult } from '../checks/types.js';

const HEAVY = new Set(AUTOMATED_CHECKS.filter((d) => d.heavy).map((d) => d.id));

/**
 * Progress on stderr: a single rewritten line on a terminal. In CI logs (not a terminal) only
 * what the checklist printed afterwards does not already say: the heavy checks' progress every
 * 25 % and their results, and any light check that did not pass, so a log stays short.
 */
export class ProgressLine {
  private readonly tty: boolean;
  private lastPct = new Map<string, number>();
  private done = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean },
    private readonly total: number,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  private emit(text: string): void {
    if (!this.enabled) return;
    if (this.tty) this.stream.write(`\r\x1b[2K${text}`);
    else this.stream.write(`${text}\n`);
  }

  manifest(doneBytes: number, totalBytes: number): void {
    const pct = totalBytes === 0 ? 100 : Math.floor((doneBytes / totalBytes) * 100);
    if (this.tty || pct === 100)
      this.emit(`hashing artifacts ${pct} % (${(doneBytes / 1e6).toFixed(1)} / ${(totalBytes / 1e6).toFixed(1)} MB)`);
  }

  check(id: string, p: CheckProgress): void {
    const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 0;
    const step = Math.floor(pct / 25);
    if (!this.tty && this.lastPct.get(id) === step) return;
    this.lastPct.set(id, step);
    this.emit(`[${this.done + 1}/${this.total}] ${id}: ${p.label} ${pct} % (${p.done}/${p.total})`);
  }

  result(r: CheckResult): void {
    this.done++;
    if (!this.tty && r.status === 'pass' && !HEAVY.has(r.id)) return;
    this.emit(`[${this.done}/${this.total}] ${r.id}: ${r.status} (${Math.round(r.duration_ms)} ms)`);
  }

  finish(): void {
    if (this.enabled && this.tty) this.stream.write('\r\x1b[2K');
  }
}
