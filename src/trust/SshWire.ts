/**
 * The SSH wire encoding (RFC 4251 §5) that keys and `sshsig` signatures are built from: a uint32 is
 * four bytes big-endian, a string is its uint32 length then its bytes.
 */
export function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

export function sshUint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** Reads fields in order; any read past the end throws, so a truncated or padded blob is never half-read. */
export class SshReader {
  private offset = 0;
  private readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  raw(n: number): Buffer {
    if (n < 0 || this.offset + n > this.bytes.length) throw new Error('truncated SSH data');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  uint32(): number {
    return this.raw(4).readUInt32BE(0);
  }

  string(): Buffer {
    return this.raw(this.uint32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  get rest(): Buffer {
    return this.bytes.subarray(this.offset);
  }
}
