import type { StoreConfig } from '../config/storeConfig.ts';
import { FsStore } from './FsStore.ts';
import type { ImageStore } from './ImageStore.ts';
import { DEFAULT_RETRY } from './transientRetry.ts';

/**
 * The adapter for one configured store instance. Remote adapters are loaded only when configured:
 * the S3 SDK and the HTTP client would otherwise add ~60 MB to every daemon's memory.
 */
export async function createStore(name: string, c: StoreConfig): Promise<ImageStore> {
  switch (c.type) {
    case 'fs':
      return new FsStore({ name, path: c.path, fsync: c.fsync });
    case 's3': {
      const { S3Store } = await import('./s3/S3Store.ts');
      return new S3Store({
        name,
        bucket: c.bucket,
        prefix: c.prefix,
        region: c.region,
        ...(c.endpoint ? { endpoint: c.endpoint } : {}),
        forcePathStyle: c.forcePathStyle,
        ...(c.accessKeyId && c.secretAccessKey ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) } } : {}),
        partSize: c.partSize,
        parallelParts: c.parallelParts,
        maxParts: c.maxParts,
        timeoutMs: c.timeoutMs,
        retries: c.retries,
      });
    }
    case 'swift': {
      const [{ KeystoneV3, TempAuthV1 }, { SwiftStore }] = await Promise.all([import('./swift/SwiftAuth.ts'), import('./swift/SwiftStore.ts')]);
      const auth =
        c.authVersion === 1
          ? new TempAuthV1({ url: c.authUrl, user: c.user, key: c.key! })
          : new KeystoneV3({ url: c.authUrl, user: c.user, password: c.password!, userDomain: c.userDomain, project: c.project!, projectDomain: c.projectDomain, interface: c.interface, ...(c.region ? { region: c.region } : {}) });
      return new SwiftStore({ name, auth, container: c.container, segmentContainer: c.segmentContainer, prefix: c.prefix, segmentSize: c.segmentSize, maxSegments: c.maxSegments, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
    }
    case 'http': {
      const { HttpStore } = await import('./http/HttpStore.ts');
      return new HttpStore({ name, url: c.url, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
    }
    case 'hdfs': {
      const { WebHdfsStore } = await import('./webhdfs/WebHdfsStore.ts');
      return new WebHdfsStore({ name, url: c.url, path: c.path, ...(c.user ? { user: c.user } : {}), ...(c.delegationToken ? { delegationToken: c.delegationToken } : {}), timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
    }
  }
}
