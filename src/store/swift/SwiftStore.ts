import type { Readable } from 'node:stream';
import type { ByteRange, IncompleteWrite, ObjectStat, StoreAdapter, StoreWrite, WriteOptions } from '../ImageStore.ts';
import { assertObjectKey } from '../objectKey.ts';
import { rangeOf } from '../remote/rangeOf.ts';
import { objectNotFound, storeFailure } from '../storeErrors.ts';
import type { RetryPolicy } from '../remote/transientRetry.ts';
import type { SwiftAuth } from './SwiftAuth.ts';
import { SwiftConnection } from './SwiftConnection.ts';
import { SwiftSegmentWrite } from './SwiftSegmentWrite.ts';

export interface SwiftStoreOptions {
  name: string;
  auth: SwiftAuth;
  container: string;
  /** Where segments of large objects go (default <container>_segments): listings of the container stay clean. */
  segmentContainer: string;
  /** Prepended to every object name, so several VISORs can share a container. */
  prefix: string;
  segmentSize: number;
  /** SLO's max_manifest_segments (1,000 by default). */
  maxSegments: number;
  timeoutMs: number;
  retry: RetryPolicy;
}

interface ListingEntry {
  name?: string;
  subdir?: string;
  bytes?: number;
  last_modified?: string;
}

const SEGMENT_TAIL = /^(.*)\/([0-9a-z]+-[0-9a-f]{8})\/(\d{8})$/;

/**
 * Images in OpenStack Swift through its native API: TempAuth or Keystone tokens, objects written as
 * static large objects (any size, beyond Swift's 5 GiB object limit), ranged reads, and gc of the
 * segments of writes that never got their manifest.
 */
export class SwiftStore implements StoreAdapter {
  readonly name: string;
  readonly type = 'swift';
  readonly writable = true;
  private readonly o: SwiftStoreOptions;
  private readonly c: SwiftConnection;
  private containersReady: Promise<void> | undefined;

  constructor(options: SwiftStoreOptions) {
    this.name = options.name;
    this.o = options;
    this.c = new SwiftConnection({ store: this, auth: options.auth, timeoutMs: options.timeoutMs, retry: options.retry });
  }

  private objectName(key: string): string {
    return this.o.prefix + key;
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const name = this.objectName(key);
    const head = await this.c.call('HEAD', this.o.container, name, { operation: `stat of ${key}` });
    if (head.status === 404) return undefined;
    if (head.status !== 200) throw this.c.unexpected(`stat of ${key}`, head);
    const modified = head.headers['last-modified'] ? new Date(head.headers['last-modified']) : undefined;
    return { key, size: Number(head.headers['content-length'] ?? 0), ...(modified ? { modified } : {}) };
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const name = this.objectName(key);
    const opened = await this.c.open('GET', this.o.container, name, { operation: `read of ${key}`, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {}, ...(signal ? { signal } : {}) });
    if (opened.status === 200 || opened.status === 206) return rangeOf(opened, range);
    opened.stream.resume();
    if (opened.status === 404) throw objectNotFound(this, key);
    throw this.c.unexpected(`read of ${key}`, opened);
  }

  async write(key: string, options: WriteOptions = {}): Promise<StoreWrite> {
    return new SwiftSegmentWrite({
      connection: this.c,
      container: this.o.container,
      segmentContainer: this.o.segmentContainer,
      objectName: this.objectName(key),
      segmentSize: this.o.segmentSize,
      maxSegments: this.o.maxSegments,
      ...(options.expectedSize !== undefined ? { expectedSize: options.expectedSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ready: () => this.ensureContainers(),
      dropSegments: (paths) => this.dropSegments(paths),
    });
  }

  /** Creates the containers that do not exist yet (once per process). */
  private ensureContainers(): Promise<void> {
    this.containersReady ??= (async () => {
      for (const container of [this.o.container, this.o.segmentContainer]) {
        const head = await this.c.call('HEAD', container, undefined, { operation: `stat of container ${container}` });
        if (head.status === 204 || head.status === 200) continue;
        if (head.status !== 404) throw this.c.unexpected(`stat of container ${container}`, head);
        const put = await this.c.call('PUT', container, undefined, { operation: `creating container ${container}` });
        if (put.status !== 201 && put.status !== 202) throw this.c.unexpected(`creating container ${container}`, put);
      }
    })();
    this.containersReady.catch(() => (this.containersReady = undefined));
    return this.containersReady;
  }

  /** Deletes segments by their "/container/name" paths; missing ones are fine. */
  private async dropSegments(paths: string[]): Promise<void> {
    for (const path of paths) {
      const [, container, ...rest] = path.split('/');
      const name = rest.map(decodeURIComponent).join('/');
      const answer = await this.c.call('DELETE', decodeURIComponent(container!), name, { operation: `delete of segment ${name}` });
      if (answer.status !== 204 && answer.status !== 404) throw this.c.unexpected(`delete of segment ${name}`, answer);
    }
  }

  async delete(key: string): Promise<void> {
    const operation = `delete of ${key}`;
    // multipart-manifest=delete removes an SLO's segments with it.
    const answer = await this.c.call('DELETE', this.o.container, this.objectName(key), { operation, query: 'multipart-manifest=delete', headers: { accept: 'application/json' } });
    if (answer.status === 404 || answer.status === 204) return;
    if (answer.status !== 200) throw this.c.unexpected(operation, answer);
    const result = parseJson(answer.body) as { 'Response Status'?: string; Errors?: unknown[] } | undefined;
    if (!result?.['Response Status'] || /^(200|204|404)/.test(result['Response Status'])) return;
    const errors = JSON.stringify(result.Errors ?? []);
    if (/^400/.test(result['Response Status']) && errors.includes('Not an SLO manifest')) {
      // An object written whole (an empty one has no segment, so no manifest): a plain delete.
      const plain = await this.c.call('DELETE', this.o.container, this.objectName(key), { operation });
      if (plain.status === 204 || plain.status === 404) return;
      throw this.c.unexpected(operation, plain);
    }
    throw storeFailure(this, operation, `${result['Response Status']} ${errors.slice(0, 200)}`);
  }

  private async *listing(container: string, prefix: string): AsyncIterable<ListingEntry> {
    let marker = '';
    for (;;) {
      const query = new URLSearchParams({ format: 'json', prefix, limit: '10000', ...(marker ? { marker } : {}) });
      const answer = await this.c.call('GET', container, undefined, { operation: `listing of container ${container}`, query: query.toString(), headers: { accept: 'application/json' } });
      if (answer.status === 404) return;
      if (answer.status === 204) return;
      if (answer.status !== 200) throw this.c.unexpected(`listing of container ${container}`, answer);
      const page = (parseJson(answer.body) ?? []) as ListingEntry[];
      if (page.length === 0) return;
      yield* page;
      marker = page[page.length - 1]!.name ?? '';
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for await (const entry of this.listing(this.o.container, this.o.prefix + prefix)) {
      const key = entry.name!.slice(this.o.prefix.length);
      if (key.startsWith('.')) continue;
      yield { key, size: entry.bytes ?? 0, ...(entry.last_modified ? { modified: new Date(`${entry.last_modified}Z`) } : {}) };
    }
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    // Segments grouped by write; a group that the object's current manifest does not name is a leftover.
    const groups = new Map<string, { key: string; writeId: string; bytes: number }>();
    for await (const entry of this.listing(this.o.segmentContainer, this.o.prefix)) {
      const m = SEGMENT_TAIL.exec(entry.name!.slice(this.o.prefix.length));
      if (!m || m[1]!.startsWith('.')) continue;
      const id = `${m[1]}/${m[2]}`;
      const group = groups.get(id) ?? { key: m[1]!, writeId: m[2]!, bytes: 0 };
      group.bytes += entry.bytes ?? 0;
      groups.set(id, group);
    }
    const referenced = new Map<string, Set<string>>();
    for (const [id, group] of groups) {
      if (!referenced.has(group.key)) referenced.set(group.key, await this.manifestWrites(group.key));
      if (referenced.get(group.key)!.has(group.writeId)) continue;
      yield { key: group.key, id, started: new Date(parseInt(group.writeId.split('-')[0]!, 36)), bytes: group.bytes };
    }
  }

  /** Write ids whose segments the key's current manifest uses. */
  private async manifestWrites(key: string): Promise<Set<string>> {
    const name = this.o.prefix + key;
    const head = await this.c.call('HEAD', this.o.container, name, { operation: `stat of ${key}` });
    if (head.status !== 200 || String(head.headers['x-static-large-object']).toLowerCase() !== 'true') return new Set();
    const got = await this.c.call('GET', this.o.container, name, { operation: `reading the manifest of ${key}`, query: 'multipart-manifest=get&format=raw' });
    const segments = (got.status === 200 ? (parseJson(got.body) ?? []) : []) as Array<{ path?: string }>;
    return new Set(segments.map((s) => SEGMENT_TAIL.exec(decodeURIComponent(s.path ?? ''))?.[2]).filter((w): w is string => w !== undefined));
  }

  async discardIncomplete(write: IncompleteWrite): Promise<void> {
    assertObjectKey(this, write.id);
    const paths: string[] = [];
    for await (const entry of this.listing(this.o.segmentContainer, `${this.o.prefix}${write.id}/`)) paths.push(`/${encodeURIComponent(this.o.segmentContainer)}/${entry.name!.split('/').map(encodeURIComponent).join('/')}`);
    await this.dropSegments(paths);
  }

  async close(): Promise<void> {
    this.c.close();
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
