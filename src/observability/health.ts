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
export async function startHealthServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  probes: ReadinessProbe[];
  lanes?: CheckLanes;
}): Promise<HealthServer> {
  const lanes = opts.lanes ?? checkLanes;
  const lanesProbe = checkLanesProbe(lanes);
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
      // a process that runs checks also answers for them (see CheckLanes)
      const probes = lanes.used ? [...opts.probes, lanesProbe] : opts.probes;
      void Promise.all(
        probes.map(async (p) => {
          try {
            await withTimeout(p.check(), PROBE_TIMEOUT_MS);
            return { name: p.name, ok: true as const };
          } catch (err) {
            return { name: p.name, ok: false as const, error: (err as Error).message };
          }
        }),
      ).then((results) => {
        const ok = results.every((r) => r.ok);
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks: results }));
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

export type CheckLane = 'light' | 'heavy';

export interface RunningCheck {
  evaluation: string | null;
  check: string;
  lane: CheckLane;
  startedAt: number;
  limitMs: number;
}

/**
 * What the checks of this process are doing, for /readyz and /metrics: every running check with
 * its time limit, and whatever blocks the heavy lane (a killed check process that does not exit).
 * A check is "past its limit" when it still runs `graceMs` after its limit (enforcement should
 * have stopped it by then: a light check whose work ignores its abort, a hung read). The clock is
 * injected for tests.
 */
export class CheckLanes {
  /** Set once this process runs checks from a queue; only then does /readyz include the probe. */
  used = false;
  private readonly running = new Map<number, RunningCheck>();
  private readonly blocks = new Map<number, string>();
  private seq = 0;

  constructor(
    private readonly now: () => number = Date.now,
    readonly graceMs = 10_000,
  ) {}

  /** A check started; call the returned function once its work has really stopped. */
  begin(c: Omit<RunningCheck, 'startedAt'>): () => void {
    const id = ++this.seq;
    this.running.set(id, { ...c, startedAt: this.now() });
    return () => void this.running.delete(id);
  }

  /** The heavy lane cannot take work for `reason` until the returned function is called. */
  blockHeavy(reason: string): () => void {
    const id = ++this.seq;
    this.blocks.set(id, reason);
    return () => void this.blocks.delete(id);
  }

  snapshot(): { running: RunningCheck[]; pastLimit: (RunningCheck & { runningMs: number })[]; heavyBlocked: string[] } {
    const now = this.now();
    const running = [...this.running.values()];
    const pastLimit = running
      .filter((c) => now - c.startedAt > c.limitMs + this.graceMs)
      .map((c) => ({ ...c, runningMs: now - c.startedAt }));
    const heavyBlocked = [
      ...this.blocks.values(),
      ...pastLimit.filter((c) => c.lane === 'heavy').map((c) => `${describeRunning(c)} holds it`),
    ];
    return { running, pastLimit, heavyBlocked };
  }

  /** Sentences for /readyz; empty when all is well. */
  problems(): string[] {
    const s = this.snapshot();
    return [
      ...s.pastLimit.map(
        (c) =>
          `${describeRunning(c)} has run ${Math.round(c.runningMs / 1000)} s, past its ${Math.round(c.limitMs / 1000)} s limit`,
      ),
      ...s.heavyBlocked.filter((b) => !b.endsWith(' holds it')).map((b) => `heavy lane blocked: ${b}`),
    ];
  }
}

function describeRunning(c: RunningCheck): string {
  return `${c.lane} check ${c.check}${c.evaluation ? ` of evaluation ${c.evaluation}` : ''}`;
}

/** This process's check lanes (one per process, like its metrics registry). */
export const checkLanes = new CheckLanes();

/** /readyz probe: fails while a check runs past its limit or the heavy lane is blocked. */
export function checkLanesProbe(lanes: CheckLanes = checkLanes): ReadinessProbe {
  return {
    name: 'checks',
    check: async () => {
      const problems = lanes.problems();
      if (problems.length > 0) throw new Error(problems.join('; '));
    },
  };
}
