import { GateError } from '../errors.js';

/** Marker objects for the non-JSON tokens Python's json.dump writes (NaN, Infinity, -Infinity). */
export const NON_FINITE = Symbol('non-finite');

/**
 * Parses JSON as Python writes it: bare NaN / Infinity / -Infinity become the numbers they
 * name (so a NaN loss is visible as NaN instead of a parse error). Errors name the file.
 */
export function parsePythonJson(text: string, file: string): unknown {
  // Non-finite tokens become strings "\u0000NaN" (escaped in the JSON text, so JSON.parse accepts
  // them) that the reviver turns back into numbers.
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    const rest = text.slice(i, i + 9);
    if (rest.startsWith('NaN')) {
      out += '"\\u0000NaN"';
      i += 2;
    } else if (rest.startsWith('-Infinity')) {
      out += '"\\u0000-Infinity"';
      i += 8;
    } else if (rest.startsWith('Infinity')) {
      out += '"\\u0000Infinity"';
      i += 7;
    } else out += ch;
  }
  try {
    return JSON.parse(out, (_k, v: unknown) => {
      if (typeof v === 'string' && v.startsWith('\u0000')) return Number(v.slice(1));
      return v;
    });
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${file} is not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Finds the shallowest key (then by preference order) holding a number; returns its dotted path.
 * Shallow first, so a top-level `best_val_acc` wins over a nested `last_epoch.val_acc`.
 */
export function findNumber(obj: unknown, keys: readonly string[], maxDepth = 4): { path: string; value: number } | null {
  const wanted = keys.map((k) => k.toLowerCase());
  let level: { node: unknown; prefix: string }[] = [{ node: obj, prefix: '' }];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    for (const key of wanted) {
      for (const { node, prefix } of level) {
        if (!isRecord(node)) continue;
        for (const [k, v] of Object.entries(node)) {
          if (k.toLowerCase() === key && typeof v === 'number') return { path: prefix + k, value: v };
        }
      }
    }
    const next: { node: unknown; prefix: string }[] = [];
    for (const { node, prefix } of level) {
      if (!isRecord(node)) continue;
      for (const [k, v] of Object.entries(node)) {
        if (isRecord(v) && k.toLowerCase() !== 'history' && k.toLowerCase() !== 'per_class') next.push({ node: v, prefix: `${prefix}${k}.` });
      }
    }
    level = next;
  }
  return null;
}

/** Every numeric array under keys containing "loss", with their dotted paths. */
export function lossSeries(obj: unknown, prefix = '', depth = 4): { path: string; values: unknown[] }[] {
  if (!isRecord(obj) || depth < 0) return [];
  const out: { path: string; values: unknown[] }[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix + k;
    if (Array.isArray(v) && /loss/i.test(k)) out.push({ path: p, values: v });
    else if (typeof v === 'number' && /loss/i.test(k)) out.push({ path: p, values: [v] });
    else if (isRecord(v)) out.push(...lossSeries(v, `${p}.`, depth - 1));
  }
  return out;
}
