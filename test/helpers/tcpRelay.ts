import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay between the daemon and a real store: what a proxy or a network path is to the
 * daemon. Killing it resets every connection and closes the port (a dead proxy); a black hole accepts
 * connections and never answers (a firewall dropping packets, a hung server); revive() listens again
 * on the same port.
 */
export interface TcpRelay {
  /** http://127.0.0.1:<port>, the address the daemon is given instead of the store's. */
  readonly url: string;
  readonly port: number;
  /** Bytes relayed towards the store so far. */
  readonly sentUpstream: number;
  /** Resets every connection and stops listening: the store vanishes mid-stream. */
  kill(): Promise<void>;
  /** Resets every connection once this many more bytes went upstream (after the call). */
  killAfterUpstream(bytes: number): Promise<void>;
  /** Resets every connection once this many more bytes went downstream (after the call). */
  killAfterDownstream(bytes: number): Promise<void>;
  /**
   * Once this many more bytes went upstream, stops passing bytes either way while keeping every
   * connection open, and new ones too: a store that stops answering without closing (a black hole).
   */
  freezeAfterUpstream(bytes: number): Promise<void>;
  /** The same, once this many more bytes went downstream (a store that stalls mid-download). */
  freezeAfterDownstream(bytes: number): Promise<void>;
  /** Listens again on the same port; `blackHole` accepts but never forwards nor answers. */
  revive(mode?: 'relay' | 'blackHole'): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }, mode: 'relay' | 'blackHole' = 'relay'): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let up = 0;
  let down = 0;
  let trip: { direction: 'up' | 'down'; at: number; fire: () => void } | undefined;
  let frozen = false;

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A reset peer is what the test wants; its error must not end the test process.
    s.on('error', () => undefined);
  };
  const check = () => {
    if (trip && (trip.direction === 'up' ? up : down) >= trip.at) {
      const fire = trip.fire;
      trip = undefined;
      fire();
    }
  };
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };

  const listen = (m: 'relay' | 'blackHole') =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        track(client);
        if (m === 'blackHole' || frozen) {
          // Never read, never answer: the kernel's buffers fill and the sender's writes stall.
          return;
        }
        const store = connect(target.port, target.host);
        track(store);
        client.on('data', (chunk: Buffer) => {
          if (frozen) return void client.pause();
          up += chunk.length;
          if (!store.write(chunk)) client.pause();
          check();
        });
        store.on('drain', () => client.resume());
        store.on('data', (chunk: Buffer) => {
          if (frozen) return void store.pause();
          down += chunk.length;
          if (!client.write(chunk)) store.pause();
          check();
        });
        client.on('drain', () => store.resume());
        client.on('end', () => store.end());
        store.on('end', () => client.end());
        client.on('close', () => store.destroy());
        store.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        port = (s.address() as { port: number }).port;
        resolve();
      });
    });

  const stop = async () => {
    frozen = false;
    const s = server;
    server = undefined;
    resetAll();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  const freezeAfter = (direction: 'up' | 'down', bytes: number) =>
    new Promise<void>((resolve) => {
      trip = {
        direction,
        at: (direction === 'up' ? up : down) + bytes,
        fire: () => {
          frozen = true;
          resolve();
        },
      };
    });

  await listen(mode);
  const relay: TcpRelay = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get sentUpstream() {
      return up;
    },
    kill: stop,
    killAfterUpstream: (bytes) =>
      new Promise<void>((resolve) => {
        trip = { direction: 'up', at: up + bytes, fire: () => void stop().then(resolve) };
      }),
    killAfterDownstream: (bytes) =>
      new Promise<void>((resolve) => {
        trip = { direction: 'down', at: down + bytes, fire: () => void stop().then(resolve) };
      }),
    freezeAfterUpstream: (bytes) => freezeAfter('up', bytes),
    freezeAfterDownstream: (bytes) => freezeAfter('down', bytes),
    revive: async (m = 'relay') => {
      await stop();
      await listen(m);
    },
    close: stop,
  };
  return relay;
}
