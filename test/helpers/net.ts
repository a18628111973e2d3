import { connect, createServer, type Socket } from 'node:net';

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until a TCP port on 127.0.0.1 accepts connections (`open`) or refuses them. */
export async function waitForPort(port: number, open = true, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok === open) return;
    if (Date.now() > deadline)
      throw new Error(`port ${port} did not ${open ? 'open' : 'close'} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP proxy to 127.0.0.1:`upstreamPort` that takes connections in but forwards nothing until
 * `release()`: a client of it waits at connect time for as long as the test says.
 */
export async function holdingProxy(
  upstreamPort: number,
): Promise<{ port: number; release(): void; freeze(): void; close(): Promise<void> }> {
  const held: Socket[] = [];
  const open = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  let released = false;
  const forward = (client: Socket): void => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    open.add(upstream);
    pairs.push([client, upstream]);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end).once('error', end);
    upstream.once('close', end).once('error', end);
    client.resume();
  };
  const srv = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    if (released) forward(client);
    else held.push(client);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  if (typeof addr !== 'object' || !addr) throw new Error('no port');
  return {
    port: addr.port,
    release() {
      released = true;
      for (const c of held.splice(0)) forward(c);
    },
    /** A network partition: every connection stays open and nothing more passes either way; new ones are held. */
    freeze() {
      released = false;
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        srv.close(() => resolve());
      }),
  };
}
