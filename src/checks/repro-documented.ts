import type { RunArtifacts } from '../artifacts/run.js';
import { documentedConfigFile, readMarkdown, reproducibilityLines } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

/** Size of the documented config file, opened through the run's confined open (null when missing). */
async function configSize(run: RunArtifacts, rel: string): Promise<number | null> {
  if (!(await run.exists(rel))) return null;
  const f = await run.openFile(rel);
  await f.handle.close();
  return f.size;
}

export const check = defineCheck({
  id: 'repro.documented',
  category: 'repro',
  title: 'Complete reproducibility documentation',
  heavy: false,
  remediation:
    'Document all reproducibility details in final_report.md: seed, config file (configs/final_config.yaml), checkpoint with its epoch, environment (Python, PyTorch, CUDA versions, GPU).',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const section = reproducibilityLines(await readMarkdown(run, rel, policy));
    if (!section) return fail([`${rel} has no "Reproducibility" section`]);
    // Lines of the section and its sub-sections; a table row reads as "label: value".
    const lines = section.lines;
    const first = (re: RegExp, among = lines) => {
      for (const l of among) {
        const m = re.exec(l.text);
        if (m) return { m, line: l.line };
      }
      return null;
    };
    const at = (line: number) => `${rel}:${line}`;
    const found: string[] = [];
    const missing: string[] = [];
    const metrics: Record<string, string | number | boolean | null> = {};

    const seed = first(/\bseed\b[^\d\n]{0,20}(\d+)/i);
    if (seed) {
      metrics.seed = Number(seed.m[1]);
      found.push(`seed ${seed.m[1]} (${at(seed.line)})`);
    } else missing.push('seed (e.g. "Seed: 42")');

    const configMention = documentedConfigFile(lines);
    const configRel = configMention?.rel ?? null;
    if (!configRel) missing.push(`config file (e.g. "Config: ${policy.paths.config}")`);
    // A path in the text that leaves the run is a documentation problem; a symlink that leaves it
    // is a hostile artifact and propagates as a security finding.
    else if (configRel.startsWith('/') || configRel.split('/').includes('..'))
      missing.push(`config file ${configRel} named in ${rel} is outside the run folder`);
    else {
      // Opened, not just looked up: the file the report vouches for is evidence, so the manifest
      // hashes it (resolveManifestFiles) and replacing it afterwards changes the digest.
      const size = await configSize(run, configRel);
      if (size === null) missing.push(`config file ${configRel} named in ${rel} does not exist in the run`);
      else {
        metrics.config = configRel;
        found.push(`config ${configRel} (exists; ${at(configMention!.line)})`);
      }
    }

    const ckptLines = lines.filter((l) => /checkpoint|\.pt\b/i.test(l.text));
    const ckpt = first(/([\w./-]+\.(?:pt|pth|ckpt))\b/, ckptLines);
    const epoch =
      first(/\bepoch\b\s*[:=]?\s*(\d+)/i, ckpt ? lines.filter((l) => l.line === ckpt.line) : ckptLines) ??
      first(/\b(?:best\s+)?epoch\b\s*[:=]?\s*(\d+)/i);
    const ckptName = ckpt?.m[1] ?? null;
    if (!ckptName) missing.push(`checkpoint (e.g. "Checkpoint: ${policy.paths.checkpoint_best} (epoch 45)")`);
    if (!epoch) missing.push('checkpoint epoch');
    if (ckptName && epoch) {
      metrics.checkpoint = ckptName;
      metrics.epoch = Number(epoch.m[1]);
      found.push(`checkpoint ${ckptName} epoch ${epoch.m[1]} (${at(epoch.line)})`);
    }

    // Versions as written, pre-release and local suffixes included ("1.13.0a0", "2.1.0+cu118"), after
    // the name in prose ("Python 3.11.2"), as a label ("Python: 3.11.2", "PyTorch version = 2.1") or
    // in a "| Python | 3.11.2 |" row (read as "Python: 3.11.2").
    const python = first(/\bpython(?:\s+version)?\s*[:=]?\s*v?(\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.post|\.dev)\d+)?)/i);
    const framework = first(
      /\b(?:pytorch|torch)(?:\s+version)?\s*(?:==|[:=])?\s*v?(\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.post|\.dev)\d+)?(?:\+[\w.]+)?)/i,
    );
    if (python) found.push(`Python ${python.m[1]} (${at(python.line)})`);
    else missing.push('Python version');
    if (framework) found.push(`PyTorch ${framework.m[1]} (${at(framework.line)})`);
    else missing.push('PyTorch version');
    metrics.python = python?.m[1] ?? null;
    metrics.pytorch = framework?.m[1] ?? null;

    const evidence = [`${rel} "${section.title}" (line ${section.line}): ${found.join(', ') || 'nothing usable'}`];
    if (missing.length) return fail([`missing: ${missing.join('; ')}`, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
