/**
 * Requests below fetch, for tests of what clients may send that fetch never would: raw bytes over
 * node:net (malformed requests, trickled headers and bodies, idle connections) and node:http requests
 * from a chosen loopback address (127.0.0.0/8 is all loopback, so each address is another client).
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/** What came back on a raw connection: the status line's code (0 when none), headers, body, and when it closed. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connecting to the connection's close. */
  ms: number;
  /** The connection was reset or failed rather than closed. */
  error: string | undefined;
}

export interface RawConnection {
  socket: Socket;
  /** Resolves when the server closes the connection (or `timeoutMs` passes, then it is destroyed). */
  answer: Promise<RawAnswer>;
}

/** Opens a connection to the daemon at `url`, optionally from another loopback address. */
export function openRaw(url: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: hostname, port: Number(port), ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const answer = new Promise<RawAnswer>((done) => {
      const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 10_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
      socket.on('close', () => {
        clearTimeout(timer);
        done({ ...parseAnswer(Buffer.concat(chunks).toString('latin1')), ms: performance.now() - started, error });
      });
    });
    socket.once('connect', () => resolve({ socket, answer }));
    socket.once('error', reject);
  });
}

/** Sends `text` (or bytes) on a fresh connection and waits for the server to close it. */
export async function rawExchange(url: string, data: string | Buffer, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const c = await openRaw(url, options);
  c.socket.on('error', () => undefined);
  c.socket.write(data);
  return c.answer;
}

/** The first answer in a raw byte stream (later ones, on a kept-alive connection, are ignored). */
export function parseAnswer(text: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  // Interim answers (100 Continue) come before the one that counts.
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.indexOf('\r\n\r\n') !== -1) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = end === -1 ? '' : text.slice(end + 4);
  const length = Number(headers['content-length'] ?? NaN);
  if (Number.isInteger(length)) body = body.slice(0, length);
  return { status, headers, body };
}

/** One request with node:http from a chosen local address; resolves with status, headers and body text. */
export function requestFrom(
  url: string,
  localAddress: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), localAddress, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
