import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { parseEnvironmentYml } from '../parse/conda.js';
import {
  normaliseName,
  parsePipRequirements,
  type Requirement,
  type RequirementInclude,
  resolveInclude,
} from '../parse/requirements.js';
import { defineCheck, fail, pass } from './define.js';
import type { CheckOutcome } from './types.js';

const KEY_PACKAGES = /^(torch|pytorch|tensorflow|numpy|onnx|onnxruntime|scikit-learn)$/i;
/** Include chains deeper than this are refused (pip itself has no limit; a cycle is caught earlier). */
const MAX_INCLUDE_DEPTH = 16;

interface SpecFile {
  rel: string;
  requirements: Requirement[];
  /** Requirements read from -c constraints files: they restrict versions but install nothing. */
  constraints: Requirement[];
  /** Defects, each starting with "file:line". */
  problems: string[];
  /** Where pip's hash-checking mode is switched on (--require-hashes), if anywhere. */
  requireHashes?: string;
}

const at = (r: { file: string; line: number }): string => `${r.file}:${r.line}`;
const describe = (r: Requirement): string =>
  `${at(r)} ${r.name}${r.spec.startsWith('@') || r.spec.startsWith('-e') ? ` ${r.spec}` : r.spec === '(no version)' ? '' : r.spec} (${r.reason})`;

/**
 * Follows -r / -c includes inside the run (pip resolves them against the including file's folder),
 * each file once; every file read goes through RunArtifacts, so it is in the manifest.
 */
async function followIncludes(
  run: RunArtifacts,
  out: SpecFile,
  from: string,
  includes: readonly RequirementInclude[],
  asConstraint: boolean,
  maxBytes: number,
  seen: Set<string>,
  depth = 0,
): Promise<void> {
  for (const inc of includes) {
    const flag = `${inc.kind === 'constraint' ? '-c' : '-r'} ${inc.target}`;
    const target = resolveInclude(inc.target, from);
    if ('refused' in target) {
      out.problems.push(`${from}:${inc.line}: ${flag}: ${target.refused}; cannot be followed`);
      continue;
    }
    if (seen.has(target.rel)) continue;
    if (depth >= MAX_INCLUDE_DEPTH) {
      out.problems.push(`${from}:${inc.line}: ${flag}: includes nested deeper than ${MAX_INCLUDE_DEPTH} files`);
      continue;
    }
    let exists: boolean;
    try {
      exists = await run.exists(target.rel);
    } catch (err) {
      if (err instanceof GateError)
        throw new GateError(err.code, `${from}:${inc.line}: ${flag}: ${err.message}`, {
          file: target.rel,
          hostile: err.hostile,
          cause: err,
        });
      throw err;
    }
    if (!exists) {
      out.problems.push(`${from}:${inc.line}: ${flag}: ${target.rel} not found in the run`);
      continue;
    }
    seen.add(target.rel);
    const constraint = asConstraint || inc.kind === 'constraint';
    const parsed = parsePipRequirements(await run.readText(target.rel, maxBytes), target.rel);
    if (parsed.requireHashes) out.requireHashes ??= `${target.rel}:${parsed.requireHashes}`;
    (constraint ? out.constraints : out.requirements).push(...parsed.requirements);
    for (const p of parsed.problems) out.problems.push(`${target.rel}:${p.line}: ${p.message}`);
    await followIncludes(run, out, target.rel, parsed.includes, constraint, maxBytes, seen, depth + 1);
  }
}

/** Reads a requirements file or environment.yml and every file it includes inside the run. */
async function readSpecFile(run: RunArtifacts, rel: string, maxBytes: number): Promise<SpecFile> {
  const text = await run.readText(rel, maxBytes);
  const parsed = /\.ya?ml$/i.test(rel) ? parseEnvironmentYml(text, rel) : parsePipRequirements(text, rel);
  const out: SpecFile = {
    rel,
    requirements: [...parsed.requirements],
    constraints: [],
    problems: parsed.problems.map((p) => `${rel}:${p.line}: ${p.message}`),
  };
  if ('requireHashes' in parsed && parsed.requireHashes) out.requireHashes = `${rel}:${parsed.requireHashes}`;
  await followIncludes(run, out, rel, parsed.includes, false, maxBytes, new Set([rel]));
  return out;
}

/** A requirement without its own pin is pinned by an exact constraint (pip -c) for the same name and markers. */
function applyConstraints(f: SpecFile): void {
  f.requirements = f.requirements.map((r) => {
    if (r.pinned || r.spec.startsWith('@') || r.spec.startsWith('-e')) return r;
    const c = f.constraints.find(
      (k) =>
        k.pinned &&
        normaliseName(k.name) === normaliseName(r.name) &&
        (k.marker ?? '') === (r.marker ?? '') &&
        /^===?/.test(k.spec),
    );
    return c
      ? {
          ...r,
          pinned: true,
          reason: `${r.reason}; pinned to ${c.spec} by the constraint at ${at(c)}`,
          pinnedBy: { spec: c.spec, file: c.file, line: c.line },
        }
      : r;
  });
}

/**
 * pip's hash-checking mode: once any requirement carries --hash (or --require-hashes is given),
 * pip refuses every requirement without one, and VCS references altogether; such a file cannot
 * be installed as written.
 */
function hashModeProblems(f: SpecFile): string[] {
  const pip = f.requirements.filter((r) => r.source === 'pip');
  const hashed = pip.find((r) => r.hashes);
  const why = f.requireHashes ? `--require-hashes at ${f.requireHashes}` : hashed ? `--hash at ${at(hashed)}` : null;
  if (!why) return [];
  return pip
    .filter((r) => !r.hashes && !/#(?:.*&)?(?:sha256|sha384|sha512)=/.test(r.spec))
    .map((r) => `${at(r)}: ${r.name} has no --hash, but ${why} puts pip in hash-checking mode, which refuses it`);
}

/**
 * Two different specs for one package (same markers): which one was installed cannot be told.
 * Within an environment.yml a conda package and a pip: entry of the same name conflict when both
 * are pinned to different versions (pip would replace conda's copy).
 */
function duplicates(reqs: readonly Requirement[]): string[] {
  const by = new Map<string, Requirement>();
  const out: string[] = [];
  for (const r of reqs) {
    const key = `${normaliseName(r.name.replace(/^.*::/, ''))}\0${r.marker ?? ''}`;
    const prev = by.get(key);
    if (!prev) {
      by.set(key, r);
      continue;
    }
    const differs =
      prev.source === r.source
        ? prev.spec !== r.spec
        : exactVersion(prev) !== null && exactVersion(r) !== null && exactVersion(prev) !== exactVersion(r);
    if (differs)
      out.push(
        `ambiguous: ${r.name} is required twice with different versions: ${at(prev)} ${prev.spec} and ${at(r)} ${r.spec}`,
      );
  }
  return out;
}

/** The exact version a pinned requirement names, for comparing files ("==1.2.3", "=1.2.3=build", "1.2.3"). */
function exactVersion(r: Requirement): string | null {
  if (!r.pinned) return null;
  const m = /^(?:===?|=)?([^=,;\s@]+)(?:=.*)?$/.exec(r.spec);
  return m ? m[1]! : null;
}

/** The same package pinned to different versions in requirements.txt and environment.yml. */
function crossFileConflicts(files: readonly SpecFile[]): string[] {
  if (files.length < 2) return [];
  const out: string[] = [];
  const [a, b] = files as [SpecFile, SpecFile];
  for (const r of a.requirements) {
    const v = exactVersion(r);
    if (!v) continue;
    const other = b.requirements.find(
      (o) =>
        normaliseName(o.name.replace(/^.*::/, '')) === normaliseName(r.name.replace(/^.*::/, '')) &&
        exactVersion(o) !== null &&
        exactVersion(o) !== v &&
        (o.marker ?? '') === (r.marker ?? ''),
    );
    if (other)
      out.push(
        `ambiguous: ${r.name} is pinned to ${v} at ${at(r)} but to ${exactVersion(other)} at ${at(other)}; which environment was used cannot be told`,
      );
  }
  return out;
}

export const check = defineCheck({
  id: 'repro.env_snapshot',
  category: 'repro',
  title: 'Environment snapshot saved',
  heavy: false,
  remediation:
    'Generate requirements file with pinned versions (e.g. torch==2.1.0 not torch>=2.0): pip freeze > requirements.txt, or conda env export > environment.yml.',
  async run({ run, policy }): Promise<CheckOutcome> {
    const files: SpecFile[] = [];
    for (const rel of [policy.paths.requirements, policy.paths.environment]) {
      if (await run.exists(rel)) files.push(await readSpecFile(run, rel, policy.limits.max_text_bytes));
    }
    if (files.length === 0)
      return fail([`neither ${policy.paths.requirements} nor ${policy.paths.environment} exists`], {
        packages: 0,
        unpinned: 0,
      });
    const evidence: string[] = [];
    const problems: string[] = [];
    const ambiguities: string[] = [];
    let total = 0;
    let unpinned = 0;
    for (const f of files) {
      applyConstraints(f);
      ambiguities.push(...duplicates(f.requirements));
      total += f.requirements.length;
      const loose = f.requirements.filter((r) => !r.pinned);
      unpinned += loose.length;
      problems.push(...f.problems, ...hashModeProblems(f));
      const included = [...new Set([...f.requirements, ...f.constraints].map((r) => r.file))].filter(
        (x) => x !== f.rel,
      );
      const from = included.length ? ` (with ${included.join(', ')})` : '';
      if (f.requirements.length === 0) problems.push(`${f.rel} lists no packages${from}`);
      else if (loose.length) {
        problems.push(
          `${f.rel}${from}: ${loose.length} of ${f.requirements.length} packages not pinned to one version: ${loose.map(describe).join(', ')}`,
        );
      } else {
        const key = f.requirements
          .filter((r) => KEY_PACKAGES.test(r.name.replace(/^.*::/, '')))
          .map((r) =>
            r.pinnedBy
              ? `${r.name}${r.pinnedBy.spec} at ${at(r.pinnedBy)} for ${at(r)}`
              : `${r.name}${/^[=<>!~@-]/.test(r.spec) ? '' : ' '}${r.spec} at ${at(r)}`,
          );
        const hashed = f.requirements.filter((r) => r.hashes).length;
        evidence.push(
          `${f.rel}${from}: all ${f.requirements.length} packages pinned${hashed ? `, ${hashed} with --hash` : ''}${key.length ? ` (${key.join(', ')})` : ''}`,
        );
      }
    }
    ambiguities.push(...crossFileConflicts(files));
    const metrics = { packages: total, unpinned };
    if (ambiguities.length) return { status: 'error', evidence: [...ambiguities, ...problems, ...evidence], metrics };
    return problems.length ? fail([...problems, ...evidence], metrics) : pass(evidence, metrics);
  },
});
