#!/usr/bin/env node
/**
 * Validates docker-compose.yml as written with a real Compose (`docker compose` v2 when the docker
 * CLI has it, else Debian's docker-compose): in a scratch copy of the repository's compose file,
 * with .env and config/readiness.yml made from their examples as README's setup says, `config`
 * must pass; then the resolved file must build every service that is not a registry image, mount
 * config/readiness.yml read-only with the long bind syntax (never created when missing), and
 * publish the health/metrics port on 127.0.0.1 only.
 *
 *   node scripts/compose-check.mjs
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const REGISTRY_IMAGES = new Set(['redis']);

function compose() {
  const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (v2.status === 0) return ['docker', 'compose'];
  const v1 = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (v1.status === 0) return ['docker-compose'];
  console.error('no Compose binary: install docker-compose (Debian) or the docker compose plugin');
  process.exit(2);
}

const problems = [];
const dir = mkdtempSync(path.join(tmpdir(), 'compose-check-'));
try {
  mkdirSync(path.join(dir, 'config'));
  copyFileSync(path.join(repo, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
  copyFileSync(path.join(repo, '.env.example'), path.join(dir, '.env'));
  copyFileSync(path.join(repo, 'config/readiness.example.yml'), path.join(dir, 'config/readiness.yml'));
  const [bin, ...pre] = compose();
  const r = spawnSync(bin, [...pre, 'config'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`${[bin, ...pre].join(' ')} config failed:\n${r.stderr}`);
    process.exit(1);
  }
  const resolved = parse(r.stdout);
  for (const [name, svc] of Object.entries(resolved.services)) {
    if (!REGISTRY_IMAGES.has(name) && !svc.build)
      problems.push(`${name}: built from this repository but has no build:`);
    if (REGISTRY_IMAGES.has(name)) continue;
    const cfg = (svc.volumes ?? []).find((v) => typeof v === 'object' && v.target === '/config/readiness.yml');
    if (!cfg) problems.push(`${name}: config/readiness.yml is not mounted at /config/readiness.yml`);
    else {
      if (cfg.type !== 'bind' || cfg.read_only !== true)
        problems.push(`${name}: config/readiness.yml must be a read-only bind mount`);
      if (cfg.bind?.create_host_path === true)
        problems.push(`${name}: config/readiness.yml would be created as a folder when missing`);
    }
    for (const p of svc.ports ?? []) {
      const target = String(typeof p === 'object' ? p.target : p.split(':').at(-1)).replace(/\/tcp$/, '');
      const hostIp = typeof p === 'object' ? p.host_ip : p.split(':').length === 3 ? p.split(':')[0] : undefined;
      if (target === '9464' && hostIp !== '127.0.0.1')
        problems.push(`${name}: metrics port 9464 published on ${hostIp ?? 'every interface'}, not 127.0.0.1`);
    }
  }
  console.log(`${[bin, ...pre].join(' ')} config: OK (${Object.keys(resolved.services).join(', ')})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  'docker-compose.yml: every repository service is built, config mounted read-only and required, metrics on 127.0.0.1',
);
