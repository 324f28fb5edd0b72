import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ByteRange, IncompleteWrite, ObjectStat, StoreAdapter, StoreWrite, WriteOptions } from '../ImageStore.ts';
import { objectNotFound, storeFailure } from '../storeErrors.ts';
import { WebHdfsNamenode, type WebHdfsAccess } from './WebHdfsNamenode.ts';
import { WebHdfsWrite } from './WebHdfsWrite.ts';

export interface WebHdfsStoreOptions extends WebHdfsAccess {
  name: string;
  /** Folder in HDFS that holds the images. */
  path: string;
}

interface FileStatus {
  pathSuffix: string;
  type: string;
  length: number;
  modificationTime: number;
}

const INCOMING = '.incoming';

/**
 * Images in HDFS through WebHDFS (REST): two-step CREATE (the namenode redirects to a datanode, which
 * takes the bytes), OPEN with offset and length, RENAME into place on commit, DELETE, GETFILESTATUS,
 * LISTSTATUS. Files are sharded like the fs store: <path>/<key[0:2]>/<key>.
 */
export class WebHdfsStore implements StoreAdapter {
  readonly name: string;
  readonly type = 'hdfs';
  readonly writable = true;
  private readonly namenode: WebHdfsNamenode;
  private readonly root: string;

  constructor(options: WebHdfsStoreOptions) {
    this.name = options.name;
    this.root = `/${options.path.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
    this.namenode = new WebHdfsNamenode(this, options);
  }

  private pathOf(key: string): string {
    return `${this.root}/${key.slice(0, 2)}/${key}`;
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const answer = await this.namenode.call('GET', this.pathOf(key), 'GETFILESTATUS', `stat of ${key}`);
    if (answer.status === 404) return undefined;
    const s = (answer.json as { FileStatus?: FileStatus } | undefined)?.FileStatus;
    if (answer.status !== 200 || !s) throw this.namenode.unexpected(`stat of ${key}`, answer);
    if (s.type !== 'FILE') return undefined;
    return { key, size: s.length, modified: new Date(s.modificationTime) };
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const params: Record<string, string> = range ? { offset: String(range.start), length: String(range.end - range.start + 1) } : {};
    const operation = `read of ${key}`;
    const options = { operation, ...(signal ? { signal } : {}) };
    // The namenode redirects to a datanode that holds the blocks.
    const opened = await this.namenode.http.open('GET', this.namenode.url(this.pathOf(key), 'OPEN', params), { ...options, redirects: 5 });
    if (opened.status === 200) return opened.stream;
    const body = await readSmall(opened.stream);
    if (opened.status === 404) throw objectNotFound(this, key);
    if (opened.status >= 300 && opened.status < 400) throw storeFailure(this, operation, `redirect ${opened.status} without Location`);
    throw this.namenode.unexpected(operation, { status: opened.status, headers: opened.headers, body });
  }

  async write(key: string, options: WriteOptions = {}): Promise<StoreWrite> {
    const target = this.pathOf(key);
    const temp = `${this.root}/${INCOMING}/${encodeURIComponent(key)}.${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    return new WebHdfsWrite({ namenode: this.namenode, key, target, temp, ...(options.signal ? { signal: options.signal } : {}) });
  }

  async delete(key: string): Promise<void> {
    const answer = await this.namenode.call('DELETE', this.pathOf(key), 'DELETE', `delete of ${key}`, { recursive: 'false' });
    if (answer.status !== 200 && answer.status !== 404) throw this.namenode.unexpected(`delete of ${key}`, answer);
  }

  private async listStatus(path: string, operation: string): Promise<FileStatus[]> {
    const answer = await this.namenode.call('GET', path, 'LISTSTATUS', operation);
    if (answer.status === 404) return [];
    const list = (answer.json as { FileStatuses?: { FileStatus?: FileStatus[] } } | undefined)?.FileStatuses?.FileStatus;
    if (answer.status !== 200 || !list) throw this.namenode.unexpected(operation, answer);
    return list;
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for (const shard of await this.listStatus(this.root || '/', 'listing')) {
      if (shard.type !== 'DIRECTORY' || shard.pathSuffix.startsWith('.')) continue;
      for (const f of await this.listStatus(`${this.root}/${shard.pathSuffix}`, 'listing')) {
        if (f.type === 'FILE' && f.pathSuffix.startsWith(prefix)) yield { key: f.pathSuffix, size: f.length, modified: new Date(f.modificationTime) };
      }
    }
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    for (const f of await this.listStatus(`${this.root}/${INCOMING}`, 'listing of unfinished writes')) {
      if (f.type !== 'FILE' || f.pathSuffix.startsWith('.')) continue;
      yield { key: decodeURIComponent(f.pathSuffix.replace(/\.[0-9a-z]+-[0-9a-f]{8}$/, '')), id: f.pathSuffix, started: new Date(f.modificationTime), bytes: f.length };
    }
  }

  async discardIncomplete(write: IncompleteWrite): Promise<void> {
    if (write.id.includes('/') || write.id.startsWith('.')) throw storeFailure(this, 'discard', `${write.id} is not an unfinished write`);
    const answer = await this.namenode.call('DELETE', `${this.root}/${INCOMING}/${write.id}`, 'DELETE', `discard of ${write.id}`);
    if (answer.status !== 200 && answer.status !== 404) throw this.namenode.unexpected(`discard of ${write.id}`, answer);
  }

  async close(): Promise<void> {
    this.namenode.close();
  }
}

async function readSmall(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 65536) break;
  }
  return Buffer.concat(parts);
}
