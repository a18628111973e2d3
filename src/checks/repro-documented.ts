import { defineCheck, fail, pass } from './define.js';
import { findSection, parseSections } from '../parse/markdown.js';

export const check = defineCheck({
  id: 'repro.documented',
  category: 'repro',
  title: 'Complete reproducibility documentation',
  heavy: false,
  remediation: 'Document all reproducibility details in final_report.md: seed, config file (configs/final_config.yaml), checkpoint with its epoch, environment (Python, PyTorch, CUDA versions, GPU).',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const section = findSection(parseSections(await run.readText(rel, policy.limits.max_text_bytes)), 'Reproducibility');
    if (!section) return fail([`${rel} has no "Reproducibility" section`]);
    const body = section.body;
    const found: string[] = [];
    const missing: string[] = [];
    const metrics: Record<string, string | number | boolean | null> = {};

    const seed = /\bseed\b[^\d\n]{0,20}(\d+)/i.exec(body);
    if (seed) {
      metrics.seed = Number(seed[1]);
      found.push(`seed ${seed[1]}`);
    } else missing.push('seed (e.g. "Seed: 42")');

    const configMention = /([\w./-]+\.(?:ya?ml|json|toml))/i.exec(body.split('\n').find((l) => /config/i.test(l)) ?? '');
    const configRel = configMention?.[1]?.replace(/^\.\//, '') ?? null;
    if (!configRel) missing.push(`config file (e.g. "Config: ${policy.paths.config}")`);
    // A path in the text that leaves the run is a documentation problem; a symlink that leaves it
    // is a hostile artifact and propagates as a security finding.
    else if (configRel.startsWith('/') || configRel.split('/').includes('..')) missing.push(`config file ${configRel} named in ${rel} is outside the run folder`);
    else if (!(await run.exists(configRel))) missing.push(`config file ${configRel} named in ${rel} does not exist in the run`);
    else {
      metrics.config = configRel;
      found.push(`config ${configRel} (exists)`);
    }

    const ckptLine = body.split('\n').find((l) => /checkpoint|\.pt\b/i.test(l)) ?? '';
    const epoch = /\bepoch\b\s*[:=]?\s*(\d+)/i.exec(ckptLine) ?? /\b(?:best\s+)?epoch\b\s*[:=]?\s*(\d+)/i.exec(body);
    const ckptName = /([\w./-]+\.(?:pt|pth|ckpt))\b/.exec(ckptLine)?.[1] ?? null;
    if (!ckptName) missing.push(`checkpoint (e.g. "Checkpoint: ${policy.paths.checkpoint_best} (epoch 45)")`);
    if (!epoch) missing.push('checkpoint epoch');
    if (ckptName && epoch) {
      metrics.checkpoint = ckptName;
      metrics.epoch = Number(epoch[1]);
      found.push(`checkpoint ${ckptName} epoch ${epoch[1]}`);
    }

    // Versions as written, pre-release and local suffixes included ("1.13.0a0", "2.1.0+cu118").
    const python = /\bpython\s*v?(\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.post|\.dev)\d+)?)/i.exec(body);
    const framework = /\b(?:pytorch|torch)\s*(?:==\s*)?v?(\d+\.\d+(?:\.\d+)?(?:(?:a|b|rc|\.post|\.dev)\d+)?(?:\+[\w.]+)?)/i.exec(body);
    if (python) found.push(`Python ${python[1]}`);
    else missing.push('Python version');
    if (framework) found.push(`PyTorch ${framework[1]}`);
    else missing.push('PyTorch version');
    metrics.python = python?.[1] ?? null;
    metrics.pytorch = framework?.[1] ?? null;

    const evidence = [`${rel} "${section.title}" (line ${section.line}): ${found.join(', ') || 'nothing usable'}`];
    if (missing.length) return fail([`missing: ${missing.join('; ')}`, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
