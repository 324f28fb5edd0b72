import { connect, type Socket } from 'node:net';

/** Where clamd listens: a unix socket path, or `tcp://host:port` (loopback: INSTREAM is unauthenticated). */
export type ClamdAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseClamdAddress(text: string): ClamdAddress | undefined {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(text);
  if (tcp) return { kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  const path = text.startsWith('unix:') ? text.slice('unix:'.length) : text;
  return path.startsWith('/') ? { kind: 'unix', path } : undefined;
}

export function describeAddress(a: ClamdAddress): string {
  return a.kind === 'unix' ? a.path : `${a.host}:${a.port}`;
}

/** What clamd says of itself (zVERSION): "ClamAV 1.4.6/27500/Mon Dec  1 09:00:00 2026", the database part absent with local databases only. */
export interface ClamdVersion {
  engine: string;
  databaseVersion?: string;
  databaseDate?: string;
}

/** How one stream's scan ended. `unreachable`/`failed`: no verdict on the bytes, never a pass. */
export type ClamdOutcome =
  | { kind: 'clean' }
  | { kind: 'infected'; signature: string }
  /** Past StreamMaxLength, or (`limit`) past another of clamd's limits it reports with AlertExceedsMax. */
  | { kind: 'too_large'; limit?: string }
  | { kind: 'failed'; reason: string };

/** clamd refuses a chunk longer than StreamMaxLength anyway; smaller frames keep each write bounded. */
const MAX_FRAME = 1 << 20;

/**
 * A client of clamd's socket protocol (the z-prefixed, NUL-terminated commands): zVERSION, and
 * zINSTREAM fed chunk by chunk (InstreamScan). One connection per command, as clamd expects.
 */
export class ClamdClient {
  readonly address: ClamdAddress;
  private readonly timeoutMs: number;

  /** clamd's StreamMaxLength as configured here: a longer stream is ended by the client, too large, never sent past it. */
  private readonly maxStreamBytes: number;

  constructor(address: ClamdAddress, options: { timeoutMs?: number; maxStreamBytes?: number } = {}) {
    this.address = address;
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.maxStreamBytes = options.maxStreamBytes ?? Number.MAX_SAFE_INTEGER;
  }

  get where(): string {
    return describeAddress(this.address);
  }

  private open(): Socket {
    const socket = this.address.kind === 'unix' ? connect(this.address.path) : connect(this.address.port, this.address.host);
    // No byte for this long, either way: clamd is stuck (or scanning a file far beyond its limits).
    socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`no answer from clamd for ${this.timeoutMs / 1000} s`)));
    return socket;
  }

  /** The engine's version and its signature database's, or a rejection saying why clamd cannot be asked. */
  async version(): Promise<ClamdVersion> {
    const socket = this.open();
    socket.end('zVERSION\0');
    const reply = await replyOf(socket);
    if (reply.error) throw new Error(`clamd at ${this.where} is not reachable: ${reply.error}`);
    const [engine = '', databaseVersion, databaseDate] = reply.text.split('/');
    if (!engine.startsWith('ClamAV')) throw new Error(`clamd at ${this.where} answered VERSION with ${JSON.stringify(reply.text.slice(0, 80))}`);
    return { engine, ...(databaseVersion ? { databaseVersion } : {}), ...(databaseDate ? { databaseDate } : {}) };
  }

  /** Starts a zINSTREAM scan: feed it with write(), then finish(). */
  instream(): InstreamScan {
    return new InstreamScan(this.open(), this.where, this.maxStreamBytes);
  }
}

/**
 * One stream sent to clamd as it passes (an upload's single pass, or a read of a stored file): each
 * chunk framed with its 4-byte big-endian length, a zero length to end. write() never throws and
 * never blocks the pass beyond clamd's own pace: it answers a promise only when the socket's buffer
 * is full (back-pressure), and once clamd has answered early (its StreamMaxLength passed) or the
 * connection failed, the rest is dropped and finish() tells why.
 */
export class InstreamScan {
  private readonly socket: Socket;
  private readonly reply: Promise<{ text: string; error?: string }>;
  private over = false;
  private ended: ClamdOutcome | undefined;
  private readonly where: string;
  private readonly limit: number;
  private sent = 0;

  constructor(socket: Socket, where: string, limit: number) {
    this.socket = socket;
    this.where = where;
    this.limit = limit;
    this.reply = replyOf(socket);
    void this.reply.then((r) => {
      this.over = true;
      this.ended ??= this.outcomeOf(r);
    });
    socket.write('zINSTREAM\0');
  }

  /** How the scan ended, if it already has before the stream did: clamd unreachable, or past its StreamMaxLength. */
  get endedEarly(): ClamdOutcome | undefined {
    return this.ended;
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.over) return undefined;
    this.sent += chunk.length;
    if (this.sent > this.limit) {
      // clamd would close on it anyway, and its answer can be lost to our next write's EPIPE: said here, deterministically.
      this.over = true;
      this.ended = { kind: 'too_large' };
      this.socket.destroy();
      return undefined;
    }
    let ready = true;
    for (let at = 0; at < chunk.length; at += MAX_FRAME) {
      const frame = chunk.subarray(at, Math.min(chunk.length, at + MAX_FRAME));
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(frame.length);
      this.socket.write(length);
      ready = this.socket.write(frame);
    }
    if (ready) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Ends the stream and waits for clamd's verdict. */
  async finish(): Promise<ClamdOutcome> {
    if (!this.over) this.socket.end(Buffer.alloc(4));
    const reply = await this.reply;
    return this.ended ?? this.outcomeOf(reply);
  }

  private outcomeOf(reply: { text: string; error?: string }): ClamdOutcome {
    const text = reply.text;
    if (/size limit exceeded/i.test(text)) return { kind: 'too_large' };
    const found = /^stream: (.+) FOUND$/.exec(text);
    // AlertExceedsMax: the part past MaxFileSize/MaxScanSize/... was not scanned. Without it clamd says OK (README).
    const limit = found && /^Heuristics\.Limits\.Exceeded\.(\w+)/.exec(found[1]!);
    if (limit) return { kind: 'too_large', limit: limit[1]! };
    if (found) return { kind: 'infected', signature: found[1]! };
    if (text === 'stream: OK') return { kind: 'clean' };
    if (reply.error && text === '' && this.sent > 0 && (reply.error === 'EPIPE' || reply.error === 'ECONNRESET')) {
      return { kind: 'failed', reason: `clamd at ${this.where} closed the connection after ${this.sent} bytes without a verdict (${reply.error}): is its StreamMaxLength below scanning.max_stream_bytes?` };
    }
    if (reply.error && text === '') return { kind: 'failed', reason: `clamd at ${this.where} is not reachable: ${reply.error}` };
    return { kind: 'failed', reason: `clamd at ${this.where} answered ${JSON.stringify(text.slice(0, 200))}${reply.error ? ` (${reply.error})` : ''}` };
  }

  /** Gives the scan up (the upload failed): clamd sees the connection close. */
  abort(): void {
    this.over = true;
    this.socket.destroy();
  }
}

/**
 * clamd's answer on this connection: its text up to the NUL, once the connection ends. A write that
 * fails after clamd answered (it closes on a stream over its limit, so our next frame meets EPIPE)
 * keeps the answer; an error before any answer is reported as such.
 */
function replyOf(socket: Socket): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      const text = Buffer.concat(parts).toString('utf8').replace(/\0[\s\S]*$/, '').trim();
      resolve(error === undefined ? { text } : { text, error });
    });
  });
}
