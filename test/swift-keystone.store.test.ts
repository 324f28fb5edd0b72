import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SwiftStore } from '../src/store/swift/SwiftStore.ts';
import { KeystoneV3 } from '../src/store/swift/SwiftAuth.ts';
import { DEFAULT_RETRY } from '../src/store/remote/transientRetry.ts';
import { storeConformance } from './stores/storeConformance.ts';
import { testSwift } from './stores/swift/testSwift.ts';
import { startKeystoneTestServer } from './stores/swift/keystoneTestServer.ts';

// Keystone v3 in front of the real Swift: a small identity service whose tokens are real TempAuth ones.
const identity = (async () => startKeystoneTestServer(await testSwift(), { lifetimeMs: 3600_000 }))();
test.after.always(async () => (await identity).close());

async function keystoneStore(password?: string, region = 'RegionOne'): Promise<SwiftStore> {
  const k = await identity;
  const container = `visor-ks-${randomBytes(5).toString('hex')}`;
  const auth = new KeystoneV3({ url: k.url, user: k.user, password: password ?? k.password, userDomain: 'Default', project: k.project, projectDomain: 'Default', region, interface: 'public' });
  return new SwiftStore({ name: 'swift-keystone', auth, container, segmentContainer: `${container}_segments`, prefix: 'v/', segmentSize: 1 << 20, maxSegments: 1000, timeoutMs: 30_000, retry: { ...DEFAULT_RETRY, retries: 1 } });
}

storeConformance(test, {
  partSize: 1 << 20,
  secrets: ['keystone-secret-42'],
  open: () => keystoneStore(),
  openWithBadCredentials: async () => ({ store: await keystoneStore('wrong-password-77'), secrets: ['wrong-password-77'] }),
});
