import type { StoreConfig } from '../config/storeConfig.ts';
import { FsStore } from './FsStore.ts';
import { HttpStore } from './http/HttpStore.ts';
import type { ImageStore } from './ImageStore.ts';
import { S3Store } from './s3/S3Store.ts';
import { KeystoneV3, TempAuthV1 } from './swift/SwiftAuth.ts';
import { SwiftStore } from './swift/SwiftStore.ts';
import { DEFAULT_RETRY } from './transientRetry.ts';
import { WebHdfsStore } from './webhdfs/WebHdfsStore.ts';

/** The adapter for one configured store instance. */
export function createStore(name: string, c: StoreConfig): ImageStore {
  switch (c.type) {
    case 'fs':
      return new FsStore({ name, path: c.path, fsync: c.fsync });
    case 's3':
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
    case 'swift': {
      const auth =
        c.authVersion === 1
          ? new TempAuthV1({ url: c.authUrl, user: c.user, key: c.key! })
          : new KeystoneV3({ url: c.authUrl, user: c.user, password: c.password!, userDomain: c.userDomain, project: c.project!, projectDomain: c.projectDomain, interface: c.interface, ...(c.region ? { region: c.region } : {}) });
      return new SwiftStore({ name, auth, container: c.container, segmentContainer: c.segmentContainer, prefix: c.prefix, segmentSize: c.segmentSize, maxSegments: c.maxSegments, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
    }
    case 'http':
      return new HttpStore({ name, url: c.url, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
    case 'hdfs':
      return new WebHdfsStore({ name, url: c.url, path: c.path, ...(c.user ? { user: c.user } : {}), ...(c.delegationToken ? { delegationToken: c.delegationToken } : {}), timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
  }
}
