import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiverOptions {
  /** Answer 500 to the first this many attempts of each delivery (by X-Readiness-Delivery), then 200. */
  failFirst?: number;
  /** The path (and query) of the receiver's URL. */
  path?: string;
}

/** A local webhook endpoint that keeps every request it gets. */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  url = '';
  private readonly attempts = new Map<string, number>();
  private server: Server | null = null;

  constructor(private readonly opts: WebhookReceiverOptions = {}) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        const id = String(req.headers['x-readiness-delivery']);
        const n = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, n);
        const status = n <= (this.opts.failFirst ?? 0) ? 500 : 200;
        this.requests.push({ headers: req.headers, body, status });
        res.writeHead(status).end(status === 200 ? 'ok' : 'try again');
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${this.opts.path ?? '/hooks'}`;
  }

  /** The requests of one event about one evaluation, in arrival order. */
  of(event: string, evaluation: string): ReceivedWebhook[] {
    return this.requests.filter(
      (r) =>
        r.headers['x-readiness-event'] === event &&
        (JSON.parse(r.body) as { evaluation_id: string }).evaluation_id === evaluation,
    );
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * A receiver for the enclosing describe block (or file): listening before the hooks registered
 * after this call run, so its URL can go into a harness's config, and closed after them.
 */
export function useWebhookReceiver(opts: WebhookReceiverOptions = {}): WebhookReceiver {
  const receiver = new WebhookReceiver(opts);
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  return receiver;
}
