/**
 * The evaluation manifest: path, size and sha256 of every byte any check reads. Sign-offs,
 * results and attestations are bound to its digest, so a file a check reads but the manifest
 * does not hash is a hole: swap it after the checks and nobody would notice.
 *
 * One resolver (`resolveManifestFiles`) decides what the manifest covers, from the policy and the
 * run itself: every layout path of the policy (the run's own readiness.yml included), the test-set
 * alternatives the readers fall back to (.npy ↔ .npz), every external-data file the ONNX model
 * references, and every requirements file included with -r/-c from requirements.txt or
 * environment.yml (recursively, as the env-snapshot check follows them), and the config file
 * final_report.md names (repro.documented opens it).
 */
import { createHash } from 'node:crypto';
import { GateError } from '../errors.js';
import { onnxLimits, onnxReferencedFiles } from '../onnx/inspect.js';
import { parseEnvironmentYml } from '../parse/conda.js';
import { parseMarkdown } from '../parse/markdown.js';
import { requirementIncludes, resolveInclude } from '../parse/requirements.js';
import { documentedConfigFile, reproducibilityLines } from '../parse/run-docs.js';
import type { Policy, PolicyPaths } from '../policy/schema.js';
import { checkRelativePath, type OpenedFile, type RunArtifacts } from './run.js';

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  /** The policy's layout field this file belongs to (an ONNX model's external data belongs to `onnx_model`). */
  artifact?: string;
}

export interface Manifest {
  entries: ManifestEntry[];
  /** sha256 over the sorted "sha256  size  path" lines. */
  digest: string;
  /** Bytes of every file hashed. */
  bytes: number;
}

/** A file the manifest must cover and the artifact (layout field) it belongs to. */
export interface ManifestFile {
  path: string;
  artifact: string;
}

const HASH_CHUNK = 1024 * 1024;

/** Streams a file through sha256 with a fixed buffer (never the whole file in memory). */
export async function sha256File(f: OpenedFile, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await f.handle.read(buf, 0, HASH_CHUNK, pos);
    if (bytesRead === 0) break;
    hash.update(bytesRead === HASH_CHUNK ? buf : buf.subarray(0, bytesRead));
    pos += bytesRead;
    onBytes?.(bytesRead);
  }
  return hash.digest('hex');
}

export function manifestDigest(entries: readonly ManifestEntry[]): string {
  const hash = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${e.sha256}  ${e.size}  ${e.path}\n`);
  }
  return hash.digest('hex');
}

/** Refusals the manifest leaves to the checks: they report them (as security findings) with the file named. */
function isLeftToChecks(err: unknown): boolean {
  return (
    err instanceof GateError && (err.code === 'NOT_FOUND' || err.code === 'NOT_A_FILE' || err.code === 'PATH_ESCAPE')
  );
}

/**
 * Hashes every existing regular file among `paths` (run-relative), through the same confined
 * open as the checks (a FIFO or device is never opened). Missing, non-regular and escaping files
 * are left out: the checks report them; the digest changes when they appear.
 */
export async function buildManifest(
  run: RunArtifacts,
  paths: Iterable<string | ManifestFile>,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<Manifest> {
  const artifactOf = new Map<string, string | undefined>();
  for (const p of paths) {
    const rel = checkRelativePath(typeof p === 'string' ? p : p.path);
    if (!artifactOf.has(rel) || artifactOf.get(rel) === undefined)
      artifactOf.set(rel, typeof p === 'string' ? undefined : p.artifact);
  }
  const unique = [...artifactOf.keys()].sort();
  const sized: { rel: string; size: number }[] = [];
  for (const rel of unique) {
    const size = await run.size(rel).catch((err: unknown) => {
      if (isLeftToChecks(err)) return null;
      throw err;
    });
    if (size !== null) sized.push({ rel, size });
  }
  const total = sized.reduce((a, s) => a + s.size, 0);
  let done = 0;
  const entries: ManifestEntry[] = [];
  for (const { rel } of sized) {
    const f = await run.openFile(rel).catch((err: unknown) => {
      if (isLeftToChecks(err)) return null;
      throw err;
    });
    if (!f) continue;
    try {
      const sha256 = await sha256File(f, (n) => {
        done += n;
        onProgress?.(done, total);
      });
      const entry: ManifestEntry = { path: rel, size: f.size, sha256 };
      const artifact = artifactOf.get(rel);
      if (artifact) entry.artifact = artifact;
      entries.push(entry);
    } finally {
      await f.handle.close();
    }
  }
  return { entries, digest: manifestDigest(entries), bytes: entries.reduce((a, e) => a + e.size, 0) };
}

/** Test-set layout fields whose readers fall back to the other extension (see locateTestArray). */
const TEST_ARRAYS: readonly (keyof PolicyPaths)[] = ['test_inputs', 'test_labels', 'reference_outputs'];

function arrayAlternatives(rel: string): string[] {
  const file = /^(.*\.npz):[^/]+$/.exec(rel)?.[1] ?? rel;
  const alt = file.endsWith('.npy')
    ? file.replace(/\.npy$/, '.npz')
    : file.endsWith('.npz')
      ? file.replace(/\.npz$/, '.npy')
      : null;
  return alt ? [file, alt] : [file];
}

/** Include chains deeper than this are not followed (the env-snapshot check refuses them). */
const MAX_INCLUDE_DEPTH = 16;

async function optionalText(run: RunArtifacts, rel: string, maxBytes: number): Promise<string | null> {
  try {
    if (!(await run.exists(rel))) return null;
    return await run.readText(rel, maxBytes);
  } catch (err) {
    // unreadable, escaping or oversized: the check that reads it fails and names it
    if (err instanceof GateError) return null;
    throw err;
  }
}

/** Every file a requirements file or environment.yml pulls in with -r/-c, recursively, inside the run. */
async function includedRequirementFiles(run: RunArtifacts, rel: string, maxBytes: number): Promise<string[]> {
  const text = await optionalText(run, rel, maxBytes);
  if (text === null) return [];
  const seen = new Set([rel]);
  const out: string[] = [];
  const first = /\.ya?ml$/i.test(rel)
    ? parseEnvironmentYml(text, rel).includes.flatMap((inc) => {
        const r = resolveInclude(inc.target, rel);
        return 'rel' in r ? [r.rel] : [];
      })
    : requirementIncludes(text, rel);
  let frontier = first.map((p) => ({ rel: p, depth: 1 }));
  while (frontier.length > 0) {
    const next: { rel: string; depth: number }[] = [];
    for (const f of frontier) {
      if (seen.has(f.rel) || f.depth > MAX_INCLUDE_DEPTH) continue;
      seen.add(f.rel);
      out.push(f.rel);
      const body = await optionalText(run, f.rel, maxBytes);
      if (body !== null) next.push(...requirementIncludes(body, f.rel).map((p) => ({ rel: p, depth: f.depth + 1 })));
    }
    frontier = next;
  }
  return out;
}

/** The external-data files the run's ONNX model references (none when it has none or cannot be inspected). */
async function onnxExternalFiles(run: RunArtifacts, policy: Policy): Promise<string[]> {
  const rel = policy.paths.onnx_model;
  try {
    if (!(await run.exists(rel))) return [];
    return await onnxReferencedFiles(run, rel, onnxLimits(policy));
  } catch (err) {
    // a model that cannot be inspected fails every check that loads it (same inspection), so the
    // gate cannot pass on bytes this manifest left out
    if (err instanceof GateError) return [];
    throw err;
  }
}

/** Everything the manifest of `run` under `policy` must hash, each file with the artifact it belongs to. */
export async function resolveManifestFiles(run: RunArtifacts, policy: Policy): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const [artifact, rel] of Object.entries(policy.paths)) {
    const paths = TEST_ARRAYS.includes(artifact as keyof PolicyPaths) ? arrayAlternatives(rel) : [rel];
    for (const p of paths) out.push({ path: p, artifact });
  }
  for (const p of await onnxExternalFiles(run, policy)) out.push({ path: p, artifact: 'onnx_model' });
  for (const artifact of ['requirements', 'environment'] as const) {
    for (const p of await includedRequirementFiles(run, policy.paths[artifact], policy.limits.max_text_bytes))
      out.push({ path: p, artifact });
  }
  const config = await documentedConfig(run, policy);
  if (config) out.push({ path: config, artifact: 'final_report' });
  return out;
}

/**
 * The config file final_report.md's reproducibility section names (repro.documented opens it),
 * when it is a path inside the run; null otherwise (no report, no such line, a path leaving the
 * run: the check fails on those itself).
 */
async function documentedConfig(run: RunArtifacts, policy: Policy): Promise<string | null> {
  const rel = policy.paths.final_report;
  const text = await optionalText(run, rel, policy.limits.max_text_bytes);
  if (text === null) return null;
  const section = reproducibilityLines(parseMarkdown(text, rel));
  const named = section ? documentedConfigFile(section.lines) : null;
  if (!named) return null;
  try {
    return checkRelativePath(named.rel);
  } catch (err) {
    if (err instanceof GateError) return null;
    throw err;
  }
}

/** The evaluation manifest of a run: resolve what the checks read, then hash it. */
export async function buildRunManifest(
  run: RunArtifacts,
  policy: Policy,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<Manifest> {
  return buildManifest(run, await resolveManifestFiles(run, policy), onProgress);
}

/**
 * Size of one artifact on disk: the file and every file that belongs to it (an ONNX model with its
 * external data, requirements with their includes), as the manifest resolver sees them; null when
 * the file itself does not exist.
 */
export async function artifactSize(
  run: RunArtifacts,
  policy: Policy,
  artifact: keyof PolicyPaths,
): Promise<{ bytes: number; files: string[] } | null> {
  const rel = policy.paths[artifact];
  const own = await run.size(rel);
  if (own === null) return null;
  const extra =
    artifact === 'onnx_model'
      ? await onnxExternalFiles(run, policy)
      : artifact === 'requirements' || artifact === 'environment'
        ? await includedRequirementFiles(run, rel, policy.limits.max_text_bytes)
        : [];
  let bytes = own;
  const files = [rel];
  for (const p of extra) {
    const size = await run.size(p).catch(() => null);
    if (size === null) continue;
    bytes += size;
    files.push(p);
  }
  return { bytes, files };
}

/** Bytes of one artifact: every file of it (an ONNX model with its external data, requirements with their includes). */
export function artifactBytes(manifest: Manifest, artifact: string): number {
  return manifest.entries.filter((e) => e.artifact === artifact).reduce((a, e) => a + e.size, 0);
}
