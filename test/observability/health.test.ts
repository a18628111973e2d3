import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CheckLanes, type HealthServer, startHealthServer } from '../../src/observability/health.js';
import { createMetrics } from '../../src/observability/metrics.js';

const servers: HealthServer[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const c of clients) c.disconnect();
});

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

describe('health and metrics listener', () => {
  it('answers /healthz, /readyz against a real Redis, and /metrics with the gate metrics', async () => {
    const redis = new Redis(inject('redisUrl'), { lazyConnect: true, maxRetriesPerRequest: 1 });
    clients.push(redis);
    const metrics = createMetrics();
    metrics.setQueueSource(async () => [{ queue: 'readiness-heavy', counts: { waiting: 3, active: 1, failed: 2 } }]);
    metrics.evaluations.inc({ outcome: 'passed' });
    metrics.checkDuration.observe({ check: 'export.parity', status: 'pass' }, 1.5);
    metrics.signoffs.inc({ role: 'technical', decision: 'refused' });
    metrics.slackApiErrors.inc({ method: 'chat.update', error: 'ratelimited' });
    metrics.slackRateLimitWaits.inc({ method: 'chat.update' });
    const h = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      probes: [{ name: 'redis', check: async () => void (await redis.ping()) }],
    });
    servers.push(h);

    expect((await get(h.port, '/healthz')).status).toBe(200);
    const ready = await get(h.port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: [{ name: 'redis', ok: true }] });

    const m = await get(h.port, '/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(m.body).toContain('readiness_evaluations_total{outcome="passed"} 1');
    expect(m.body).toContain('readiness_check_duration_seconds_bucket{le="5",check="export.parity",status="pass"} 1');
    expect(m.body).toContain('readiness_queue_jobs{queue="readiness-heavy",state="waiting"} 3');
    expect(m.body).toContain('readiness_queue_jobs{queue="readiness-heavy",state="failed"} 2');
    expect(m.body).toContain('readiness_signoffs_total{role="technical",decision="refused"} 1');
    expect(m.body).toContain('readiness_slack_api_errors_total{method="chat.update",error="ratelimited"} 1');
    expect(m.body).toContain('readiness_slack_rate_limit_waits_total{method="chat.update"} 1');
    expect(m.body).toMatch(/process_resident_memory_bytes \d+/);
    expect((await get(h.port, '/nope')).status).toBe(404);
  });

  it('/readyz is 503 naming the failing probe when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    dead.on('error', () => undefined);
    clients.push(dead);
    const metrics = createMetrics({ defaultMetrics: false });
    const h = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      probes: [
        {
          name: 'redis',
          check: async () => {
            await dead.connect().catch(() => undefined);
            await dead.ping();
          },
        },
        { name: 'queues', check: async () => undefined },
      ],
    });
    servers.push(h);
    const ready = await get(h.port, '/readyz');
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as { status: string; checks: { name: string; ok: boolean; error?: string }[] };
    expect(body.status).toBe('not_ready');
    expect(body.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: false });
    expect(body.checks.find((c) => c.name === 'queues')).toMatchObject({ ok: true });
    expect((await get(h.port, '/healthz')).status).toBe(200);
  });
});

describe('check lanes in /readyz and /metrics', () => {
  it('fails /readyz naming the evaluation and check while a check runs past its limit, and while the heavy lane is blocked', async () => {
    let now = 1_000_000;
    const lanes = new CheckLanes(() => now, 5_000);
    lanes.used = true;
    const metrics = createMetrics({ defaultMetrics: false, lanes });
    const h = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, probes: [], lanes });
    servers.push(h);
    const endHeavy = lanes.begin({ evaluation: 'ev1', check: 'export.parity', lane: 'heavy', limitMs: 60_000 });
    lanes.begin({ evaluation: 'ev2', check: 'docs.monitoring', lane: 'light', limitMs: 1_000 });
    now += 2_000; // the light check is past its limit but within the grace
    expect((await get(h.port, '/readyz')).status).toBe(200);
    now += 10_000;
    let ready = await get(h.port, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).checks).toEqual([
      {
        name: 'checks',
        ok: false,
        error: 'light check docs.monitoring of evaluation ev2 has run 12 s, past its 1 s limit',
      },
    ]);
    let m = (await get(h.port, '/metrics')).body;
    expect(m).toContain('readiness_checks_running{lane="heavy"} 1');
    expect(m).toContain('readiness_checks_past_limit{lane="light"} 1');
    expect(m).toContain('readiness_heavy_lane_blocked 0');
    now += 60_000; // the heavy check too: it holds the heavy lane
    ready = await get(h.port, '/readyz');
    expect(JSON.parse(ready.body).checks[0].error).toMatch(
      /heavy check export\.parity of evaluation ev1 has run 72 s, past its 60 s limit/,
    );
    expect((await get(h.port, '/metrics')).body).toContain('readiness_heavy_lane_blocked 1');
    endHeavy();
    const unblock = lanes.blockHeavy('heavy check process 4242 was killed (exceeded 3 s) 5 s ago and has not exited');
    m = (await get(h.port, '/metrics')).body;
    expect(m).toContain('readiness_heavy_lane_blocked 1');
    expect(JSON.parse((await get(h.port, '/readyz')).body).checks[0].error).toMatch(
      /heavy lane blocked: heavy check process 4242 was killed/,
    );
    unblock();
    expect((await get(h.port, '/metrics')).body).toContain('readiness_heavy_lane_blocked 0');
  });

  it('a process that runs no checks has no checks probe', async () => {
    const lanes = new CheckLanes();
    const metrics = createMetrics({ defaultMetrics: false, lanes });
    const h = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, probes: [], lanes });
    servers.push(h);
    expect(JSON.parse((await get(h.port, '/readyz')).body)).toEqual({ status: 'ready', checks: [] });
  });
});
