#!/usr/bin/env node
/**
 * Executes the Dockerfile's build steps without a Docker engine: each stage gets a scratch
 * folder standing for its WORKDIR, COPY copies from the repo (or from an earlier stage's
 * folder), ENV sets the environment, RUN runs in that folder with bash. At the end the runtime
 * stage's ENTRYPOINT is started with `--help`, each command's `--help`, and `check` on the example
 * run (onnxruntime from the production dependencies). Any failing step fails.
 *
 *   node scripts/dockerfile-steps.mjs [Dockerfile]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dockerfile = path.resolve(process.argv[2] ?? path.join(repo, 'Dockerfile'));
const text = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
const scratch = mkdtempSync(path.join(tmpdir(), 'dockerfile-steps-'));

const stages = new Map();
let stage = null;
let entrypoint = null;
let cmd = null;

function inStage(p) {
  // Paths inside the image: absolute ones relative to WORKDIR's root, others relative to WORKDIR.
  const rel = p.startsWith(stage.workdir) ? path.relative(stage.workdir, p) : p;
  return path.join(stage.dir, rel);
}

function run(command, cwd, env) {
  console.log(`+ ${command}`);
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', command], {
    cwd,
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(`step failed (exit ${r.status}): ${command}`);
    process.exit(1);
  }
}

try {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [instr, ...restParts] = line.split(/\s+/);
    const rest = line.slice(instr.length).trim();
    switch (instr.toUpperCase()) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
        if (!m) throw new Error(`cannot parse FROM ${rest}`);
        const name = m[2] ?? `stage${stages.size}`;
        const dir = path.join(scratch, name);
        mkdirSync(dir, { recursive: true });
        stage = { name, dir, env: {}, workdir: '/' };
        stages.set(name, stage);
        console.log(`== stage ${name} (${m[1]}) in ${dir}`);
        break;
      }
      case 'WORKDIR':
        stage.workdir = rest;
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]] = m[2].replace(/^"|"$/g, '');
        break;
      case 'COPY': {
        const args = restParts.filter((a) => !a.startsWith('--chown'));
        const from = args[0].startsWith('--from=') ? stages.get(args.shift().slice(7)) : null;
        const dst = args.pop();
        for (const src of args) {
          const source = from
            ? src.startsWith(from.workdir)
              ? path.join(from.dir, path.relative(from.workdir, src))
              : path.join(from.dir, src)
            : path.join(repo, src);
          const target = dst.endsWith('/') ? path.join(inStage(dst), path.basename(src)) : inStage(dst);
          console.log(`+ COPY ${from ? `--from=${from.name} ` : ''}${src} ${dst}`);
          cpSync(source, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        run(rest, stage.dir, stage.env);
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(rest);
        break;
      case 'CMD':
        cmd = JSON.parse(rest);
        break;
      case 'HEALTHCHECK': {
        const json = /CMD\s+(\[.*\])\s*$/.exec(rest);
        if (!json) throw new Error('HEALTHCHECK must use the exec form CMD [...]');
        JSON.parse(json[1]);
        break;
      }
      case 'USER':
      case 'EXPOSE':
      case 'LABEL':
      case 'ARG':
        break;
      default:
        throw new Error(`unsupported instruction ${instr}`);
    }
  }
  if (!entrypoint || !cmd) throw new Error('the runtime stage needs ENTRYPOINT and CMD');
  const env = { ...stage.env, NODE_ENV: 'production' };
  run([...entrypoint, '--help'].map((a) => JSON.stringify(a)).join(' '), stage.dir, env);
  for (const sub of [cmd[0], 'worker', 'check']) {
    run([...entrypoint, sub, '--help'].map((a) => JSON.stringify(a)).join(' '), stage.dir, env);
  }
  // The image's production dependencies really run the gate, heavy checks (onnxruntime) included.
  const check = [...entrypoint, 'check', path.join(repo, 'examples/digits-run'), '--quiet'];
  run(`${check.map((a) => JSON.stringify(a)).join(' ')} > /dev/null`, stage.dir, env);
  console.log('Dockerfile steps OK');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
