import test from 'ava';
import { randomBytes } from 'node:crypto';
import { GuardedStore } from '../src/store/GuardedStore.ts';
import { SwiftStore } from '../src/store/swift/SwiftStore.ts';
import { KeystoneV3 } from '../src/store/swift/SwiftAuth.ts';
import { DEFAULT_RETRY } from '../src/store/remote/transientRetry.ts';
import { testSwift } from './stores/swift/testSwift.ts';
import { startKeystoneTestServer } from './stores/swift/keystoneTestServer.ts';

async function storeWith(lifetimeMs: number) {
  const k = await startKeystoneTestServer(await testSwift(), { lifetimeMs });
  const container = `visor-tok-${randomBytes(5).toString('hex')}`;
  const auth = new KeystoneV3({ url: k.url, user: k.user, password: k.password, userDomain: 'Default', project: k.project, projectDomain: 'Default', interface: 'public', region: 'RegionOne' });
  const store = new GuardedStore(new SwiftStore({ name: 'swift-tokens', auth, container, segmentContainer: `${container}_segments`, prefix: '', segmentSize: 1 << 20, maxSegments: 1000, timeoutMs: 30_000, retry: DEFAULT_RETRY }));
  return { k, store };
}

test('a token Swift refuses (revoked or expired early) is replaced once and the request goes through', async (t) => {
  const { k, store } = await storeWith(3600_000);
  k.revokeNext();
  t.true((await store.health()).ok);
  t.is(k.issued, 2, 'one refused token, one fresh');
  t.is(await store.stat('nothing'), undefined);
  t.is(k.issued, 2, 'the good token is kept');
  await store.close();
  await k.close();
});

test('a token close to its expiry is renewed before use', async (t) => {
  const { k, store } = await storeWith(60_000);
  await store.stat('a');
  await store.stat('b');
  t.is(k.issued, 2, 'each request found the token within the renewal window');
  await store.close();
  await k.close();
});

test('an endpoint missing from the catalogue is a clear error naming the store', async (t) => {
  const k = await startKeystoneTestServer(await testSwift(), { lifetimeMs: 3600_000 });
  const auth = new KeystoneV3({ url: k.url, user: k.user, password: k.password, userDomain: 'Default', project: k.project, projectDomain: 'Default', interface: 'public', region: 'Mars' });
  const store = new SwiftStore({ name: 'swift-mars', auth, container: 'c', segmentContainer: 'c_segments', prefix: '', segmentSize: 1 << 20, maxSegments: 1000, timeoutMs: 5000, retry: DEFAULT_RETRY });
  await t.throwsAsync(store.stat('x'), { message: /store swift-mars \(swift\): authentication \(Keystone v3\) failed: no public object-store endpoint in region Mars/ });
  await store.close();
  await k.close();
});
