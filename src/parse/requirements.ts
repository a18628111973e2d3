import path from 'node:path';
import { satisfies, valid as validPep440 } from '@renovatebot/pep440';

/**
 * pip requirement files, read by pip's own rules (pip/_internal/req/req_file.py): backslash
 * continuations, `#` comments (line start or after whitespace), `${VAR}` expansion, options
 * (`-r`, `-c`, `-e`, index options, `--hash`), and each requirement by PEP 508 (name, extras,
 * version specifiers or `@ url`, markers) with versions by PEP 440.
 *
 * "Pinned" means exactly one version can be installed: `==1.2.3` and `===1.2.3` are; a wildcard,
 * a range or no version is not; a VCS reference is pinned only by a full commit id; a URL by a
 * hash (or a wheel file name, which fixes the version); a local path never is.
 */
export interface Requirement {
  /** Package name as written (for VCS/URL lines, the `#egg=` name or the URL itself). */
  name: string;
  /** The version specifier, URL or path as written; "(no version)" when there is none. */
  spec: string;
  pinned: boolean;
  /** Why it is pinned or not, in a phrase. */
  reason: string;
  /** Run-relative file and 1-based line of the (first physical line of the) requirement. */
  file: string;
  line: number;
  source: 'pip' | 'conda';
  /** PEP 508 environment marker, when written. */
  marker?: string;
  /** `--hash` options (or a URL's `#sha256=` fragment) given for this requirement. */
  hashes?: number;
  /** The -c constraint that pins a requirement written without a version. */
  pinnedBy?: { spec: string; file: string; line: number };
}

export interface RequirementInclude {
  kind: 'requirement' | 'constraint';
  /** As written after -r/-c. */
  target: string;
  line: number;
}

export interface ParseProblem {
  line: number;
  message: string;
}

export interface PipRequirementsFile {
  file: string;
  requirements: Requirement[];
  includes: RequirementInclude[];
  /** Lines pip itself would refuse (unknown options, invalid versions). */
  problems: ParseProblem[];
  /** Line of a `--require-hashes` option, when written. */
  requireHashes?: number;
}

// pip: COMMENT_RE = re.compile(r"(^|\s+)#.*$")
const COMMENT_AT_START = /^(?:\s+)?#/;
const COMMENT = /(^|\s+)#.*$/;
const ENV_VAR = /\$\{([A-Z0-9_]+)\}/;

/** Logical lines of a requirements file, numbered by their first physical line (pip's preprocess). */
export function logicalLines(text: string): { line: number; text: string }[] {
  const physical = text.split('\n');
  const joined: { line: number; text: string }[] = [];
  let pending: string[] = [];
  let first = 0;
  physical.forEach((raw, i) => {
    const n = i + 1;
    const isComment = COMMENT_AT_START.test(raw);
    if (!raw.endsWith('\\') || isComment) {
      const l = isComment ? ` ${raw}` : raw;
      if (pending.length) {
        pending.push(l);
        joined.push({ line: first, text: pending.join('') });
        pending = [];
      } else joined.push({ line: n, text: l });
    } else {
      if (!pending.length) first = n;
      pending.push(raw.replace(/^\\+|\\+$/g, ''));
    }
  });
  if (pending.length) joined.push({ line: first, text: pending.join('') });
  const out: { line: number; text: string }[] = [];
  for (const j of joined) {
    const t = j.text.replace(COMMENT, '').trim();
    if (t) out.push({ line: j.line, text: t });
  }
  return out;
}

/** pip's break_args_options: the requirement part ends at the first token starting with "-". */
function splitArgsOptions(line: string): [string, string] {
  const tokens = line.split(' ');
  const k = tokens.findIndex((t) => t.startsWith('-'));
  return k < 0 ? [line, ''] : [tokens.slice(0, k).join(' '), tokens.slice(k).join(' ')];
}

/** shlex-like split of an option string (quotes and backslash escapes). */
function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}

/** Options pip accepts on their own line, by whether they take a value. */
const LINE_OPTIONS: Record<string, { value: boolean; name: string }> = {
  '-i': { value: true, name: 'index_url' },
  '--index-url': { value: true, name: 'index_url' },
  '--extra-index-url': { value: true, name: 'extra_index_url' },
  '--no-index': { value: false, name: 'no_index' },
  '-c': { value: true, name: 'constraint' },
  '--constraint': { value: true, name: 'constraint' },
  '-r': { value: true, name: 'requirement' },
  '--requirement': { value: true, name: 'requirement' },
  '-e': { value: true, name: 'editable' },
  '--editable': { value: true, name: 'editable' },
  '-f': { value: true, name: 'find_links' },
  '--find-links': { value: true, name: 'find_links' },
  '--no-binary': { value: true, name: 'no_binary' },
  '--only-binary': { value: true, name: 'only_binary' },
  '--prefer-binary': { value: false, name: 'prefer_binary' },
  '--require-hashes': { value: false, name: 'require_hashes' },
  '--pre': { value: false, name: 'pre' },
  '--trusted-host': { value: true, name: 'trusted_host' },
  '--use-feature': { value: true, name: 'use_feature' },
};
/** Options pip accepts after a requirement on the same line. */
const REQ_OPTIONS: Record<string, { value: boolean; name: string }> = {
  '--hash': { value: true, name: 'hash' },
  '--global-option': { value: true, name: 'global_option' },
  '--config-settings': { value: true, name: 'config_settings' },
  '-C': { value: true, name: 'config_settings' },
};

/** optparse-style option parsing: `--opt=value`, `--opt value`, `-rfile`, `-r file`. */
function parseOptions(
  s: string,
  table: Record<string, { value: boolean; name: string }>,
): { opts: { name: string; value: string }[]; error?: string } {
  const tokens = shellSplit(s);
  const opts: { name: string; value: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let key = t;
    let value: string | undefined;
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      if (eq > 0) {
        key = t.slice(0, eq);
        value = t.slice(eq + 1);
      }
    } else if (t.startsWith('-') && t.length > 2) {
      key = t.slice(0, 2);
      value = t.slice(2);
    }
    const def = table[key];
    if (!def)
      return { opts, error: t.startsWith('-') ? `unknown option ${key}` : `unexpected "${t}" after the options` };
    if (def.value) {
      if (value === undefined) {
        value = tokens[++i];
        if (value === undefined) return { opts, error: `option ${key} needs a value` };
      }
    } else if (value !== undefined) return { opts, error: `option ${key} takes no value` };
    opts.push({ name: def.name, value: value ?? '' });
  }
  return { opts };
}

// PEP 508 names: letters/digits, with . _ - inside.
const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/s;
const SPEC_CLAUSE = /^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$/;
const URL_SCHEME = /^(?:(?:git|hg|svn|bzr)\+)?[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const VCS = /^(git|hg|svn|bzr)\+/;
const HASH_FRAGMENT = /[#&](sha1|sha224|sha256|sha384|sha512|md5)=[0-9a-fA-F]+/;
const WHEEL = /([^/]+?)-([^-/]+)(?:-\d[^-/]*)?-[^-/]+-[^-/]+-[^-/]+\.whl$/;

interface Judged {
  pinned: boolean;
  reason: string;
  /** A line pip would refuse. */
  problem?: string;
}

/** The commit/revision after the last "@" of a VCS URL's path (not its user@host). */
function vcsRevision(url: string): string | null {
  const noFrag = url.split('#')[0]!.split('?')[0]!;
  const m = /^[^:]+:\/\/([^/]*)(\/.*)?$/.exec(noFrag);
  const p = m ? (m[2] ?? '') : noFrag;
  const at = p.lastIndexOf('@');
  return at >= 0 ? p.slice(at + 1) : null;
}

/** Judges a URL or local path requirement. */
function judgeLocation(loc: string, hashes: number): Judged {
  const vcs = VCS.exec(loc);
  if (vcs) {
    const rev = vcsRevision(loc);
    if (!rev)
      return { pinned: false, reason: `${vcs[1]} reference without a revision (installs the default branch's head)` };
    if ((vcs[1] === 'git' || vcs[1] === 'hg') && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(rev))
      return { pinned: true, reason: `${vcs[1]} commit ${rev.slice(0, 12)}` };
    if (vcs[1] === 'svn' && /^\d+$/.test(rev)) return { pinned: true, reason: `svn revision ${rev}` };
    if (/^[0-9a-f]{7,39}$/i.test(rev))
      return {
        pinned: false,
        reason: `abbreviated commit id "${rev}" (a branch or tag of that name would be taken first; write the full id)`,
      };
    return {
      pinned: false,
      reason: `${vcs[1]} reference "@${rev}" is a branch or tag, which can move; only a full commit id pins`,
    };
  }
  if (hashes > 0 || HASH_FRAGMENT.test(loc)) return { pinned: true, reason: 'archive fixed by its hash' };
  const wheel = WHEEL.exec(decodeURIComponent(loc.split('#')[0]!.split('?')[0]!));
  if (wheel && validPep440(wheel[2]!)) return { pinned: true, reason: `wheel file name fixes version ${wheel[2]}` };
  if (URL_SCHEME.test(loc) && !/^file:/i.test(loc))
    return { pinned: false, reason: 'URL without a hash: what it serves can change (add #sha256= or --hash)' };
  return { pinned: false, reason: 'local path: its contents are not fixed' };
}

/** Judges PEP 440 version specifiers ("" = none). */
export function judgeSpecifiers(spec: string): Judged {
  const s = spec
    .trim()
    .replace(/^\((.*)\)$/s, '$1')
    .trim();
  if (s === '') return { pinned: false, reason: 'no version given' };
  const clauses: { op: string; version: string }[] = [];
  for (const part of s.split(',')) {
    const m = SPEC_CLAUSE.exec(part.trim());
    if (!m)
      return {
        pinned: false,
        reason: `"${part.trim()}" is not a PEP 440 version specifier`,
        problem: `"${part.trim()}" is not a PEP 440 version specifier`,
      };
    const [, op, version] = m as unknown as [string, string, string];
    if (op !== '===') {
      const wildcard = (op === '==' || op === '!=') && version.endsWith('.*');
      const base = wildcard ? version.slice(0, -2) : version;
      if (!validPep440(base) || base.includes('*'))
        return {
          pinned: false,
          reason: `"${version}" is not a PEP 440 version`,
          problem: `${op}${version}: "${version}" is not a PEP 440 version`,
        };
    }
    clauses.push({ op, version });
  }
  const arbitrary = clauses.find((c) => c.op === '===');
  if (arbitrary) return { pinned: true, reason: `===${arbitrary.version} (arbitrary equality)` };
  const exact = clauses.find((c) => c.op === '==' && !c.version.endsWith('.*'));
  if (exact) {
    const others = clauses.filter((c) => c !== exact).map((c) => `${c.op}${c.version}`);
    if (others.length && !satisfies(exact.version, others.join(','))) {
      return { pinned: false, reason: `no version satisfies ${s}`, problem: `no version satisfies ${s}` };
    }
    return { pinned: true, reason: `==${exact.version}` };
  }
  const first = clauses[0]!;
  if (first.op === '==')
    return {
      pinned: false,
      reason: `wildcard ==${first.version} matches every ${first.version.slice(0, -2)}.x release`,
    };
  if (first.op === '~=')
    return { pinned: false, reason: `compatible release ~=${first.version} allows later releases` };
  if (first.op === '!=') return { pinned: false, reason: `${s} only excludes versions` };
  return { pinned: false, reason: `${s} is a range` };
}

/** A PEP 508 requirement or a pip URL/path line; `hashes` counts its --hash options. */
export function parseRequirementSpec(
  text: string,
  file: string,
  line: number,
  hashes = 0,
): { req: Requirement; problem?: string } {
  const base = { file, line, source: 'pip' as const, ...(hashes ? { hashes } : {}) };
  const envVar = ENV_VAR.exec(text);
  if (envVar)
    return {
      req: {
        ...base,
        name: text,
        spec: text,
        pinned: false,
        reason: `depends on the environment variable \${${envVar[1]}}`,
      },
    };
  const named = NAME.exec(text);
  // A bare URL or path (pip: is_url / looks like a path or archive), unless it is "name @ url".
  if (
    !(named?.[3] ?? '').trim().startsWith('@') &&
    (URL_SCHEME.test(text) ||
      /^(?:\.{1,2}\/|\/|~)/.test(text) ||
      /\.(?:whl|tar\.gz|tgz|zip|tar\.bz2)(?:[#?].*)?$/.test(text.split(/\s+;/)[0]!) ||
      text === '.')
  ) {
    const [loc, ...marker] = text.split(/\s+;\s*/);
    const egg = /#(?:.*&)?egg=([A-Za-z0-9._-]+)/.exec(loc!)?.[1];
    const wheel = WHEEL.exec(loc!.split('#')[0]!);
    const j = judgeLocation(loc!, hashes);
    return {
      req: {
        ...base,
        name: egg ?? wheel?.[1] ?? loc!,
        spec: loc!,
        pinned: j.pinned,
        reason: j.reason,
        ...(marker.length ? { marker: marker.join(';') } : {}),
      },
    };
  }
  const m = named;
  if (!m)
    return {
      req: { ...base, name: text, spec: text, pinned: false, reason: 'not a PEP 508 requirement' },
      problem: `"${text}" is not a PEP 508 requirement`,
    };
  const name = m[1]!;
  let rest = m[3]!.trim();
  if (rest.startsWith('@')) {
    // name @ url ; marker — the marker needs whitespace before ";" (PEP 508).
    const [loc, ...marker] = rest
      .slice(1)
      .trim()
      .split(/\s+;\s*/);
    const j = judgeLocation(loc!, hashes);
    return {
      req: {
        ...base,
        name,
        spec: `@ ${loc}`,
        pinned: j.pinned,
        reason: j.reason,
        ...(marker.length ? { marker: marker.join(';') } : {}),
      },
    };
  }
  let marker: string | undefined;
  const semi = rest.indexOf(';');
  if (semi >= 0) {
    marker = rest.slice(semi + 1).trim();
    rest = rest.slice(0, semi).trim();
  }
  const spec = rest.replace(/\s+/g, '');
  const j = judgeSpecifiers(spec);
  const req: Requirement = {
    ...base,
    name,
    spec: spec || '(no version)',
    pinned: j.pinned,
    reason: j.reason,
    ...(marker ? { marker } : {}),
  };
  return j.problem ? { req, problem: j.problem } : { req };
}

/** Parses one requirements file's text (includes are listed, not followed). */
export function parsePipRequirements(text: string, file: string): PipRequirementsFile {
  const out: PipRequirementsFile = { file, requirements: [], includes: [], problems: [] };
  for (const { line, text: l } of logicalLines(text)) {
    const [args, options] = splitArgsOptions(l);
    if (args === '') {
      const { opts, error } = parseOptions(options, LINE_OPTIONS);
      if (error) out.problems.push({ line, message: `${error} (pip refuses this line)` });
      for (const o of opts) {
        if (o.name === 'require_hashes') out.requireHashes ??= line;
        if (o.name === 'requirement' || o.name === 'constraint')
          out.includes.push({ kind: o.name, target: o.value, line });
        else if (o.name === 'editable') {
          const { req, problem } = parseRequirementSpec(o.value, file, line);
          const editable = {
            ...req,
            spec: `-e ${o.value}`,
            ...(req.pinned
              ? {}
              : {
                  reason: /^(?:[a-z]+\+)?[a-z]+:\/\//i.test(o.value)
                    ? req.reason
                    : 'editable install of a local folder: its contents are not fixed',
                }),
          };
          out.requirements.push(editable);
          if (problem) out.problems.push({ line, message: problem });
        }
      }
      continue;
    }
    const { opts, error } = parseOptions(options, REQ_OPTIONS);
    if (error) out.problems.push({ line, message: `${error} (pip refuses this line)` });
    const hashes = opts.filter((o) => o.name === 'hash');
    const badHash = hashes.find((h) => !/^(?:sha256|sha384|sha512):[0-9a-f]+$/i.test(h.value));
    if (badHash)
      out.problems.push({
        line,
        message: `--hash=${badHash.value} is not algorithm:hexdigest (sha256, sha384, sha512)`,
      });
    const { req, problem } = parseRequirementSpec(args.trim(), file, line, hashes.length);
    out.requirements.push(req);
    if (problem) out.problems.push({ line, message: problem });
  }
  return out;
}

/** Where an include target points, run-relative, or why it cannot be followed. */
export function resolveInclude(target: string, fromFile: string): { rel: string } | { refused: string } {
  if (URL_SCHEME.test(target)) return { refused: `${target} is a URL; a remote file cannot be verified` };
  if (ENV_VAR.test(target)) return { refused: `${target} depends on an environment variable` };
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.startsWith('~'))
    return { refused: `${target} is an absolute path outside the run folder` };
  const rel = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile || '.'), target));
  if (rel === '..' || rel.startsWith('../')) return { refused: `${target} leaves the run folder` };
  return { rel: rel.replace(/^\.\//, '') };
}

/**
 * Run-relative paths of the files a requirements file includes with -r/-c/--requirement/
 * --constraint, resolved against the including file's folder (pip's rule for local paths).
 * Targets that are URLs or leave the run folder are left out (the check reports them).
 */
export function requirementIncludes(text: string, fromFile = 'requirements.txt'): string[] {
  const out: string[] = [];
  for (const inc of parsePipRequirements(text, fromFile).includes) {
    const r = resolveInclude(inc.target, fromFile);
    if ('rel' in r && !out.includes(r.rel)) out.push(r.rel);
  }
  return out;
}

/** Normalised project name (PEP 503): case-insensitive, runs of -_. are one "-". */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
