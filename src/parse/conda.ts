import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { GateError } from '../errors.js';
import { lineAt, parseYamlDocumentBounded } from './bounded.js';
import { type ParseProblem, parsePipRequirements, type Requirement, type RequirementInclude } from './requirements.js';

/**
 * conda environment files (`environment.yml`, what `conda env export` writes), each dependency
 * read by conda's MatchSpec rules (conda/models/match_spec.py `_parse_spec_str`):
 * `[channel[/subdir]::]name[ version[ build]]`, `name=version=build`, bracket keys
 * (`numpy[version='>=1.24',build=py*]`), explicit package URLs / file names, and `# comments`.
 * The `pip:` sub-list is a pip requirements file (conda hands it to `pip install -r`).
 *
 * Version translation as conda does it: `=1.2.3` means `1.2.3*` (fuzzy) when no build is given;
 * `==1.2.3`, a bare `1.2.3` and `=1.2.3=<build>` mean exactly 1.2.3.
 */
export interface MatchSpec {
  channel?: string;
  subdir?: string;
  name: string;
  /** conda's version spec after translation ("1.2.3", "1.2.3*", ">=1.2,<2"), "" when absent. */
  version: string;
  build?: string;
  /** Explicit package file (URL or `name-version-build.conda`). */
  explicit?: boolean;
}

const EXPLICIT = /(?:^|\/)([^/]+)-([^-/]+)-([^-/]+)\.(?:conda|tar\.bz2)$/;

/** Parses one conda MatchSpec string; throws a plain Error with conda's reason when invalid. */
export function parseMatchSpec(input: string): MatchSpec {
  let s = input.split('#')[0]!.trim();
  if (s === '') throw new Error('empty spec');
  const explicit = EXPLICIT.exec(s);
  if (explicit) {
    const channel = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s.replace(/\/[^/]+\/[^/]+$/, '') : undefined;
    return {
      name: explicit[1]!,
      version: explicit[2]!,
      build: explicit[3]!,
      explicit: true,
      ...(channel ? { channel } : {}),
    };
  }
  // Bracket keys: name[version='1.2', build=py*].
  const brackets: Record<string, string> = {};
  const br = /^([^[]*)\[(.*)\]\s*$/.exec(s);
  if (br) {
    s = br[1]!.trim();
    for (const kv of br[2]!.match(/\w+\s*=\s*(?:"[^"]*"|'[^']*'|[^,\s\]]*)/g) ?? []) {
      const [, k, v] = /^(\w+)\s*=\s*(.*)$/.exec(kv.trim())!;
      brackets[k!] = v!.trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  let channel: string | undefined;
  let subdir: string | undefined;
  const cs = /^(.*?)::(.*)$/.exec(s);
  if (cs) {
    [channel, subdir] = cs[1]!.split('/', 2) as [string, string | undefined];
    s = cs[2]!;
  }
  const m = /^([^ =<>!~]+)?([><!=~ ].+)?$/.exec(s);
  if (!m?.[1]) throw new Error('no package name');
  const name = m[1];
  let version = '';
  let build: string | undefined;
  const rest = (m[2] ?? '').trim();
  if (rest) {
    const vb = /^((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[ =])([^-=,|<>~]+?))?$/.exec(rest);
    if (!vb) throw new Error(`cannot read version "${rest}"`);
    version = vb[1]!.trim();
    build = vb[2]?.trim();
    if (version === '==' || version === '=' || /^(?:[<>]=?|!=|~=)$/.test(version))
      throw new Error(`"${rest}" has an operator without a version`);
    if (version.startsWith('=')) {
      const test = version.slice(1);
      if (version.startsWith('==') && build === undefined) version = version.slice(2);
      else if (!/[=,|]/.test(test)) version = build === undefined && !test.endsWith('*') ? `${test}*` : test;
    }
  }
  if (/^==[^=,|<>!~]+$/.test(version)) version = version.slice(2);
  if (brackets.version !== undefined) version = brackets.version.replace(/^==(?=[^=])/, '');
  if (brackets.build !== undefined) build = brackets.build;
  if (brackets.channel !== undefined) channel = brackets.channel;
  if (brackets.subdir !== undefined) subdir = brackets.subdir;
  return {
    name,
    version,
    ...(build !== undefined ? { build } : {}),
    ...(channel ? { channel } : {}),
    ...(subdir ? { subdir } : {}),
  };
}

/** Release components of a conda version ("1.24.2" → 3; "2023c" → 1). */
function releaseParts(v: string): number {
  return v.split(/[._]/).length;
}

/**
 * Pinned when exactly one version can be chosen. conda's fuzzy `=1.24.2` (1.24.2*) also matches
 * sub-releases 1.24.2.x; it is accepted as pinned for a full major.minor.patch version (what
 * `conda env export --no-builds` writes) and refused for shorter ones (`=3.11` is every 3.11.x).
 */
export function judgeMatchSpec(ms: MatchSpec): { pinned: boolean; reason: string } {
  if (ms.explicit) return { pinned: true, reason: `package file fixes ${ms.name} ${ms.version} build ${ms.build}` };
  const v = ms.version;
  if (v === '' || v === '*') return { pinned: false, reason: 'no version given' };
  if (/[|,<>!~]/.test(v)) return { pinned: false, reason: `${v} is a range` };
  if (v.endsWith('*')) {
    const base = v.slice(0, -1).replace(/\.$/, '');
    if (base.includes('*')) return { pinned: false, reason: `wildcard ${v}` };
    if (releaseParts(base) >= 3)
      return { pinned: true, reason: `=${base} (conda reads ${base}*: that release and its sub-releases)` };
    return { pinned: false, reason: `=${base} is conda's fuzzy ${base}*: every ${base}.x release` };
  }
  if (v.includes('*')) return { pinned: false, reason: `wildcard ${v}` };
  return { pinned: true, reason: ms.build !== undefined ? `version ${v}, build ${ms.build}` : `==${v}` };
}

export interface EnvironmentFile {
  requirements: Requirement[];
  problems: ParseProblem[];
  /** -r / -c includes inside the `pip:` sub-list (relative to the environment file's folder). */
  includes: RequirementInclude[];
}

function nodeLine(text: string, node: Node | null | undefined, fallback: number): number {
  return node?.range ? lineAt(text, node.range[0]) : fallback;
}

/** Reads an environment.yml (conda `dependencies`, with an optional `pip:` sub-list). */
export function parseEnvironmentYml(text: string, file: string): EnvironmentFile {
  const doc = parseYamlDocumentBounded(text, file);
  const deps = isMap(doc.contents) ? doc.contents.get('dependencies', true) : undefined;
  if (!isSeq(deps)) throw new GateError('PARSE_ERROR', `${file}: expected a "dependencies" list`, { file });
  const out: EnvironmentFile = { requirements: [], problems: [], includes: [] };
  for (const item of deps.items) {
    const line = nodeLine(text, item as Node, 0);
    if (isScalar(item) && (typeof item.value === 'string' || typeof item.value === 'number')) {
      const raw = String(item.value);
      let ms: MatchSpec;
      try {
        ms = parseMatchSpec(raw);
      } catch (err) {
        out.problems.push({ line, message: `"${raw}" is not a conda match spec: ${(err as Error).message}` });
        out.requirements.push({
          name: raw,
          spec: raw,
          pinned: false,
          reason: 'not a conda match spec',
          file,
          line,
          source: 'conda',
        });
        continue;
      }
      const j = judgeMatchSpec(ms);
      const name =
        ms.channel && !ms.explicit ? `${ms.channel}${ms.subdir ? `/${ms.subdir}` : ''}::${ms.name}` : ms.name;
      const written = raw.split('#')[0]!.trim();
      const spec = ms.explicit
        ? written
        : written
            .slice(written.indexOf(ms.name) + ms.name.length)
            .replace(/\s+/g, ' ')
            .trim() || '(no version)';
      out.requirements.push({ name, spec, pinned: j.pinned, reason: j.reason, file, line, source: 'conda' });
    } else if (isMap(item) && item.has('pip')) {
      const pip = item.get('pip', true);
      if (!isSeq(pip)) {
        out.problems.push({ line, message: '"pip:" must be a list of requirement lines' });
        continue;
      }
      for (const p of pip.items) {
        const pline = nodeLine(text, p as Node, line);
        if (!isScalar(p) || typeof p.value !== 'string') {
          out.problems.push({ line: pline, message: 'a "pip:" entry is not a string' });
          continue;
        }
        const parsed = parsePipRequirements(p.value, file);
        out.requirements.push(...parsed.requirements.map((r) => ({ ...r, line: pline })));
        out.problems.push(...parsed.problems.map((x) => ({ ...x, line: pline })));
        out.includes.push(...parsed.includes.map((x) => ({ ...x, line: pline })));
      }
    } else {
      out.problems.push({ line, message: 'a dependencies entry is neither a match spec nor a "pip:" list' });
    }
  }
  return out;
}
