import {
  type Document,
  type DocumentOptions,
  type ParseOptions,
  parseDocument,
  parse as parseYaml,
  type SchemaOptions,
  type ToJSOptions,
} from 'yaml';
import { GateError } from '../errors.js';

/**
 * Nesting limit for JSON and YAML read from untrusted files. Real metrics, configs and
 * environment files nest a handful of levels; 64 leaves room for any of them while a file of
 * nested brackets is refused before a parser builds (or recurses into) anything.
 */
export const MAX_NESTING_DEPTH = 64;

export interface BoundedParseOptions {
  /** Deepest nesting allowed (default MAX_NESTING_DEPTH). */
  maxDepth?: number;
}

function tooDeep(file: string, maxDepth: number, line: number, what: string): GateError {
  return new GateError(
    'TOO_LARGE',
    `${file}:${line}: ${what} nests deeper than ${maxDepth} levels; refused before parsing`,
    { file },
  );
}

/**
 * One pass over JSON text counting open `[` / `{` outside strings; throws at the first position
 * past `maxDepth`. Constant memory, stops at the offending byte (a 4 MB file of `[` costs
 * microseconds). Malformed JSON is left to the parser.
 */
export function assertJsonDepth(text: string, file: string, maxDepth = MAX_NESTING_DEPTH): void {
  let depth = 0;
  let line = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) throw tooDeep(file, maxDepth, line, 'JSON');
    } else if (c === 93 || c === 125) depth = Math.max(0, depth - 1);
  }
}

/**
 * An upper bound of YAML nesting, line by line: block indentation levels (a stack of indents),
 * compact sequence/mapping markers on one line (`- - - x`, `? `), and flow collections
 * (`[`/`{` outside quotes and comments, across lines). Block scalar bodies (`|`, `>`) are
 * skipped. Over-counting is possible only for odd layouts; nothing real nests near the limit.
 */
export function assertYamlDepth(text: string, file: string, maxDepth = MAX_NESTING_DEPTH): void {
  const lines = text.split('\n');
  const indents: number[] = [];
  let flow = 0;
  let blockScalarParent = -1;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const indent = raw.length - raw.trimStart().length;
    const body = raw.slice(indent);
    if (blockScalarParent >= 0) {
      if (body === '' || indent > blockScalarParent) continue;
      blockScalarParent = -1;
    }
    if (body === '' || body.startsWith('#')) continue;
    let depth = 0;
    if (flow === 0) {
      if (body.startsWith('---') || body.startsWith('...') || body.startsWith('%')) continue;
      while (indents.length && indents.at(-1)! >= indent) indents.pop();
      indents.push(indent);
      depth = indents.length;
    }
    // Compact nested block collections on one line: "- - - x", "- ? a", "- key: - x" is invalid YAML.
    let pos = 0;
    while (flow === 0) {
      const m = /^(?:-|\?|:)(?:\s+|$)/.exec(body.slice(pos));
      if (!m) break;
      depth++;
      pos += m[0].length;
    }
    let quote: string | null = null;
    for (let i = pos; i < body.length; i++) {
      const c = body[i]!;
      if (quote) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && body[i + 1] === "'") i++;
          else quote = null;
        }
        continue;
      }
      if ((c === '"' || c === "'") && (i === pos || /[\s[{,:]/.test(body[i - 1]!))) quote = c;
      else if (c === '#' && (i === 0 || /\s/.test(body[i - 1]!))) break;
      else if (c === '[' || c === '{') {
        flow++;
        if (depth + flow > maxDepth) throw tooDeep(file, maxDepth, n + 1, 'YAML');
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (depth + flow > maxDepth) throw tooDeep(file, maxDepth, n + 1, 'YAML');
    if (flow === 0 && /(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$/.test(body)) blockScalarParent = indent;
  }
}

export type YamlOptions = ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions;

/**
 * The one way untrusted YAML is parsed: depth pre-scan, then the `yaml` parser with alias
 * expansion capped (billion-laughs). Errors are PARSE_ERROR naming the file.
 */
export function parseYamlBounded(text: string, file: string, opts: BoundedParseOptions & YamlOptions = {}): unknown {
  const { maxDepth = MAX_NESTING_DEPTH, ...yamlOpts } = opts;
  assertYamlDepth(text, file, maxDepth);
  try {
    return parseYaml(text, { maxAliasCount: 100, ...yamlOpts });
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      file,
      cause: err,
    });
  }
}

/** Like parseYamlBounded, but returns the `yaml` Document (nodes keep their source ranges). */
export function parseYamlDocumentBounded(
  text: string,
  file: string,
  opts: BoundedParseOptions & YamlOptions = {},
): Document.Parsed {
  const { maxDepth = MAX_NESTING_DEPTH, ...yamlOpts } = opts;
  assertYamlDepth(text, file, maxDepth);
  const doc = parseDocument(text, { maxAliasCount: 100, ...yamlOpts });
  const err = doc.errors[0];
  if (err)
    throw new GateError('PARSE_ERROR', `${file} is not valid YAML: ${err.message.split('\n')[0]}`, {
      file,
      cause: err,
    });
  try {
    doc.toJS({ maxAliasCount: 100 }); // alias expansion is where a billion-laughs file explodes
  } catch (e) {
    throw new GateError('PARSE_ERROR', `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
      file,
      cause: e,
    });
  }
  return doc;
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
