import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/*
 * @slack/socket-mode 3.x connects with undici's WebSocket client; `ws` is only one of its
 * devDependencies and is not installed here. Node 20 has no WebSocket server, so this speaks the
 * few parts of RFC 6455 a Socket Mode client uses: the upgrade handshake, unfragmented or
 * fragmented text frames from the client (masked), ping → pong, and the close handshake.
 */

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One frame from server to client (servers never mask). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  let header: Buffer;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 0x10000) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = 0x80 | opcode;
  return Buffer.concat([header, payload]);
}

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  /** Bytes the frame took in the input. */
  size: number;
}

/** Parses one client frame from the start of `buf`, or null if it is not complete yet. */
function decodeFrame(buf: Buffer): Frame | null {
  if (buf.length < 2) return null;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  if ((b1 & 0x80) === 0) throw new Error('client frame not masked');
  let len = b1 & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + 4 + len) return null;
  const mask = buf.subarray(offset, offset + 4);
  const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, size: offset + 4 + len };
}

/** One WebSocket connection from the app, as the fake server sees it. */
export class SocketConnection {
  /** Close code the client sent (1000 = normal closure), once it closed. */
  closeCode: number | null = null;
  /** The TCP socket has ended (after the close handshake, or dropped). */
  ended = false;
  pings = 0;
  private input = Buffer.alloc(0);
  private fragments: Buffer[] = [];

  constructor(
    private readonly socket: Duplex,
    readonly path: string,
    private readonly onText: (text: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }

  sendText(text: string): void {
    if (this.ended || this.closeCode !== null) throw new Error('socket mode connection is closed');
    this.socket.write(encodeFrame(OP.text, Buffer.from(text, 'utf8')));
  }

  /** Server-initiated close (as Slack does when it recycles a connection). */
  close(code = 1000): void {
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    if (!this.ended) this.socket.write(encodeFrame(OP.close, body));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    for (;;) {
      let frame: Frame | null;
      try {
        frame = decodeFrame(this.input);
      } catch {
        this.socket.destroy();
        return;
      }
      if (!frame) return;
      this.input = this.input.subarray(frame.size);
      this.onFrame(frame);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.opcode) {
      case OP.ping:
        this.pings++;
        this.socket.write(encodeFrame(OP.pong, f.payload));
        return;
      case OP.pong:
        return;
      case OP.close:
        this.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        // answer the close frame, then end the TCP connection (the server closes first)
        this.socket.end(encodeFrame(OP.close, f.payload.subarray(0, 2)));
        return;
      case OP.text:
      case OP.continuation:
        this.fragments.push(f.payload);
        if (f.fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.onText(text);
        }
        return;
      default:
        // binary frames are not part of Socket Mode
        return;
    }
  }
}

/** An acknowledgement the app sent back over the socket. */
export interface SocketAck {
  envelope_id: string;
  payload: Record<string, unknown>;
}

/**
 * A local stand-in for Slack's Socket Mode endpoint. Point FakeSlack's `apps.connections.open` at
 * `url`; every connection gets Slack's `hello`, and the test pushes envelopes with
 * `slashCommand` / `interactive` and reads the acks the app sends back.
 */
export class FakeSocketMode {
  readonly connections: SocketConnection[] = [];
  readonly acks: SocketAck[] = [];
  /** Text frames from the app that were not acks (should stay empty). */
  readonly otherMessages: string[] = [];
  private server: Server | null = null;
  private port = 0;

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('WebSocket only');
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => this.upgrade(req, socket));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
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
    return [...this.connections].reverse().find((c) => !c.ended && c.closeCode === null);
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

  private upgrade(req: IncomingMessage, socket: Duplex): void {
    const key = req.headers['sec-websocket-key'];
    if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const accept = createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    socket.write(
      [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${accept}`,
        '',
        '',
      ].join('\r\n'),
    );
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
