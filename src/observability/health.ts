import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessProbe {
  /** Short name shown in /readyz ("redis", "slack_auth", "queues"). */
  name: string;
  check: () => Promise<void>;
}

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * A small HTTP listener for orchestrators and Prometheus: /healthz (the process is alive),
 * /readyz (every probe passes; 503 with the failing ones otherwise), /metrics (prom-client).
 */
export async function startHealthServer(opts: { port: number; host?: string; registry: Registry; probes: ReadinessProbe[] }): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (url === '/readyz') {
      void Promise.all(
        opts.probes.map(async (p) => {
          try {
            await withTimeout(p.check(), PROBE_TIMEOUT_MS);
            return { name: p.name, ok: true as const };
          } catch (err) {
            return { name: p.name, ok: false as const, error: (err as Error).message };
          }
        }),
      ).then((results) => {
        const ok = results.every((r) => r.ok);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks: results }));
      });
      return;
    }
    if (url === '/metrics') {
      opts.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
