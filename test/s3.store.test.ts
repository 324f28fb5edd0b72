import test from 'ava';
import { S3Store, type S3StoreOptions } from '../src/store/s3/S3Store.ts';
import { storeConformance } from './stores/storeConformance.ts';
import { freshBucket, testSwift } from './stores/swift/testSwift.ts';

// The real S3 API of Swift's s3api middleware; 5 MiB is its smallest part, so sizes cross parts fast.
const PART = 5 * 1024 * 1024;

async function s3(secret?: string): Promise<S3Store> {
  const swift = await testSwift();
  const options: S3StoreOptions = {
    name: 's3-under-test', bucket: await freshBucket(swift, 'visor-s3'), prefix: 'images/', region: 'us-east-1', endpoint: swift.url,
    forcePathStyle: true, credentials: { accessKeyId: swift.user, secretAccessKey: secret ?? swift.key },
    partSize: PART, parallelParts: 3, maxParts: 1000, timeoutMs: 30_000, retries: 2,
  };
  return new S3Store(options);
}

storeConformance(test, {
  partSize: PART,
  secrets: ['testing'],
  open: () => s3(),
  openWithBadCredentials: async () => ({ store: await s3('wrong-secret-d41d8cd9'), secrets: ['wrong-secret-d41d8cd9'] }),
});
