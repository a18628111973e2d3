import { parse as parseYaml } from 'yaml';
import { GateError } from '../errors.js';

export interface Requirement {
  name: string;
  spec: string;
  pinned: boolean;
  line: number;
  source: 'pip' | 'conda';
}

const PIP_NAME = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$/;

/** One pip requirement line (comments and markers stripped). Pinned means exactly `==X` / `===X`. */
export function parsePipLine(raw: string, line: number): Requirement | null {
  const text = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim();
  // Editable installs first: "--editable" must not be skipped as an option line.
  if (/^-e\s|^--editable(?:\s|=)/.test(text)) return { name: text.replace(/^-e\s+|^--editable[\s=]+/, ''), spec: text, pinned: false, line, source: 'pip' };
  if (text === '' || text.startsWith('--') || /^-[rcfi]\s/.test(text)) return null;
  const withoutMarker = text.split(';')[0]!.trim();
  if (/\s@\s/.test(withoutMarker) || /^(?:git\+|https?:|file:)/.test(withoutMarker)) {
    return { name: withoutMarker.split(/\s*@\s*/)[0]!, spec: withoutMarker, pinned: false, line, source: 'pip' };
  }
  const m = PIP_NAME.exec(withoutMarker);
  if (!m) return { name: withoutMarker, spec: withoutMarker, pinned: false, line, source: 'pip' };
  const spec = m[3]!.replace(/\s+/g, '');
  const pinned = /^===?[A-Za-z0-9][A-Za-z0-9.+!_-]*$/.test(spec) && !spec.includes('*');
  return { name: m[1]!, spec: spec || '(no version)', pinned, line, source: 'pip' };
}

export function parseRequirementsTxt(text: string): Requirement[] {
  const out: Requirement[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const r = parsePipLine(lines[i]!, i + 1);
    if (r) out.push(r);
  }
  return out;
}

/**
 * environment.yml: conda specs pinned with an exact version (`numpy=1.26.4`, `numpy==1.26.4`,
 * optionally with a build string); the `pip:` sub-list follows pip rules.
 */
export function parseEnvironmentYml(text: string, file: string): Requirement[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { file, cause: err });
  }
  const deps = (doc as { dependencies?: unknown } | null)?.dependencies;
  if (!Array.isArray(deps)) throw new GateError('PARSE_ERROR', `${file}: expected a "dependencies" list`, { file });
  const out: Requirement[] = [];
  // File line numbers: each list item is found in the text after the previous one.
  const lines = text.split('\n');
  let cursor = 0;
  const lineOf = (item: string): number => {
    for (let k = cursor; k < lines.length; k++) {
      const m = /^\s*-\s*['"]?(.*?)['"]?\s*(?:#.*)?$/.exec(lines[k]!);
      if (m && m[1]!.trim() === item.trim()) {
        cursor = k + 1;
        return k + 1;
      }
    }
    return 0;
  };
  deps.forEach((d: unknown, i: number) => {
    if (typeof d === 'string') {
      const m = /^([A-Za-z0-9][\w.-]*(?:::[\w.-]+)?)\s*(.*)$/.exec(d.trim());
      const spec = (m?.[2] ?? '').replace(/\s+/g, '');
      const pinned = /^==?[0-9][\w.+!-]*(=[\w.+_-]+)?$/.test(spec) && !spec.includes('*');
      out.push({ name: m?.[1] ?? d, spec: spec || '(no version)', pinned, line: lineOf(d) || i + 1, source: 'conda' });
    } else if (d && typeof d === 'object' && Array.isArray((d as { pip?: unknown }).pip)) {
      ((d as { pip: unknown[] }).pip).forEach((p, j) => {
        const r = typeof p === 'string' ? parsePipLine(p, lineOf(p) || j + 1) : null;
        if (r) out.push(r);
      });
    }
  });
  return out;
}
