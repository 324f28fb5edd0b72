import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SwiftStore } from '../src/store/swift/SwiftStore.ts';
import { TempAuthV1 } from '../src/store/swift/SwiftAuth.ts';
import { DEFAULT_RETRY } from '../src/store/remote/transientRetry.ts';
import { storeConformance } from './stores/storeConformance.ts';
import { testSwift } from './stores/swift/testSwift.ts';

// The real Swift of the tests through its native API, TempAuth; 1 MiB segments so sizes cross them.
const SEGMENT = 1024 * 1024;

async function swiftStore(key?: string): Promise<SwiftStore> {
  const swift = await testSwift();
  const container = `visor-swift-${randomBytes(5).toString('hex')}`;
  return new SwiftStore({
    name: 'swift-under-test', auth: new TempAuthV1({ url: swift.authUrl, user: swift.user, key: key ?? swift.key }),
    container, segmentContainer: `${container}_segments`, prefix: '', segmentSize: SEGMENT, maxSegments: 1000, timeoutMs: 30_000, retry: { ...DEFAULT_RETRY, retries: 2 },
  });
}

storeConformance(test, {
  partSize: SEGMENT,
  secrets: ['testing'],
  open: () => swiftStore(),
  openWithBadCredentials: async () => ({ store: await swiftStore('wrong-key-5f3a9c'), secrets: ['wrong-key-5f3a9c'] }),
});
