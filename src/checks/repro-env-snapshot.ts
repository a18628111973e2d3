import { defineCheck, fail, pass } from './define.js';
import { parseEnvironmentYml, parseRequirementsTxt, type Requirement } from '../parse/requirements.js';

export const check = defineCheck({
  id: 'repro.env_snapshot',
  category: 'repro',
  title: 'Environment snapshot saved',
  heavy: false,
  remediation: 'Generate requirements file with pinned versions (e.g. torch==2.1.0 not torch>=2.0): pip freeze > requirements.txt, or conda env export > environment.yml.',
  async run({ run, policy }) {
    const files: { rel: string; reqs: Requirement[] }[] = [];
    for (const rel of [policy.paths.requirements, policy.paths.environment]) {
      if (!(await run.exists(rel))) continue;
      const text = await run.readText(rel, policy.limits.max_text_bytes);
      files.push({ rel, reqs: rel.endsWith('.txt') ? parseRequirementsTxt(text) : parseEnvironmentYml(text, rel) });
    }
    if (files.length === 0) return fail([`neither ${policy.paths.requirements} nor ${policy.paths.environment} exists`], { packages: 0, unpinned: 0 });
    const evidence: string[] = [];
    const problems: string[] = [];
    let total = 0;
    let unpinned = 0;
    for (const f of files) {
      total += f.reqs.length;
      const loose = f.reqs.filter((r) => !r.pinned);
      unpinned += loose.length;
      if (f.reqs.length === 0) problems.push(`${f.rel} lists no packages`);
      else if (loose.length) {
        problems.push(`${f.rel}: ${loose.length} of ${f.reqs.length} packages not pinned with ==: ${loose.map((r) => `${r.name} ${r.spec} (line ${r.line})`).join(', ')}`);
      } else {
        const key = f.reqs.filter((r) => /^(torch|tensorflow|numpy|onnx|onnxruntime|scikit-learn)$/i.test(r.name)).map((r) => `${r.name}${r.spec}`);
        evidence.push(`${f.rel}: all ${f.reqs.length} packages pinned${key.length ? ` (${key.join(', ')})` : ''}`);
      }
    }
    const metrics = { packages: total, unpinned };
    return problems.length ? fail([...problems, ...evidence], metrics) : pass(evidence, metrics);
  },
});
