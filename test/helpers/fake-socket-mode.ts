import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** One WebSocket connection from the app, as the fake endpoint sees it. */
export class SocketConnection {
  /** Close code the client sent (1000 = normal closure; 1005 none, 1006 dropped), once closed. */
  closeCode: number | null = null;
  /** The connection has ended (after the close handshake, or dropped). */
  ended = false;

  constructor(
    private readonly socket: WebSocket,
    readonly path: string,
    onText: (text: string) => void,
  ) {
    socket.on('message', (data, isBinary) => {
      // binary frames are not part of Socket Mode
      if (!isBinary) onText(data.toString());
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.ended = true;
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  sendText(text: string): void {
    if (!this.open) throw new Error('socket mode connection is closed');
    this.socket.send(text);
  }

  destroy(): void {
    this.socket.terminate();
  }
}

/** An acknowledgement the app sent back over the socket. */
export interface SocketAck {
  envelope_id: string;
  payload: Record<string, unknown>;
}

/**
 * A local stand-in for Slack's Socket Mode endpoint (a `ws` server). Point FakeSlack's
 * `apps.connections.open` at `url`; every connection gets Slack's `hello`, and the test pushes
 * envelopes with `slashCommand` / `interactive` and reads the acks the app sends back.
 */
export class FakeSocketMode {
  readonly connections: SocketConnection[] = [];
  readonly acks: SocketAck[] = [];
  /** Text frames from the app that were not acks (should stay empty). */
  readonly otherMessages: string[] = [];
  private server: WebSocketServer | null = null;
  private port = 0;

  async start(): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server = server;
    server.on('connection', (socket: WebSocket, req: IncomingMessage) => this.accept(socket, req));
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The WebSocket URL `apps.connections.open` hands out (Slack's looks like wss://…/link/?ticket=…). */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/link/?ticket=test-ticket&app_id=A0TEST`;
  }

  /** The connection envelopes go to: the newest one still open. */
  get current(): SocketConnection | undefined {
    return [...this.connections].reverse().find((c) => c.open);
  }

  /** Sends an envelope on the current connection and returns its envelope id. */
  push(type: string, payload: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    const conn = this.current;
    if (!conn) throw new Error('no open Socket Mode connection');
    const envelope_id = randomUUID();
    conn.sendText(JSON.stringify({ envelope_id, type, payload, ...extra }));
    return envelope_id;
  }

  /** A slash command envelope; `payload` has the fields of the HTTP slash command form. */
  slashCommand(payload: Record<string, unknown>): string {
    return this.push('slash_commands', payload, { accepts_response_payload: true });
  }

  /** An interactivity envelope (block_actions, view_submission, …). */
  interactive(payload: Record<string, unknown>): string {
    return this.push('interactive', payload, { accepts_response_payload: payload.type === 'view_submission' });
  }

  ackFor(envelopeId: string): SocketAck | undefined {
    return this.acks.find((a) => a.envelope_id === envelopeId);
  }

  private accept(socket: WebSocket, req: IncomingMessage): void {
    const conn = new SocketConnection(socket, req.url ?? '/', (text) => this.onText(text));
    this.connections.push(conn);
    conn.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        connection_info: { app_id: 'A0TEST' },
        debug_info: { host: 'local' },
      }),
    );
  }

  private onText(text: string): void {
    try {
      const msg = JSON.parse(text) as Partial<SocketAck>;
      if (typeof msg.envelope_id === 'string') {
        this.acks.push({ envelope_id: msg.envelope_id, payload: msg.payload ?? {} });
        return;
      }
    } catch {
      // not JSON: kept below
    }
    this.otherMessages.push(text);
  }
}
