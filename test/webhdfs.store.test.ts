import test from 'ava';
import { finished } from 'node:stream/promises';
import { WebHdfsStore } from '../src/store/webhdfs/WebHdfsStore.ts';
import { DEFAULT_RETRY } from '../src/store/remote/transientRetry.ts';
import { storeConformance } from './stores/storeConformance.ts';
import { startWebHdfsTestServer } from './stores/webhdfs/webHdfsTestServer.ts';

// No HDFS runs on these machines: an in-test server that follows the WebHDFS REST spec (redirects included).
const server = startWebHdfsTestServer();
test.after.always(async () => (await server).close());

const hdfs = async (credentials: { user?: string; delegationToken?: string }) =>
  new WebHdfsStore({ name: 'hdfs-under-test', url: (await server).url, path: `/visor-${Math.random().toString(36).slice(2)}`, ...credentials, timeoutMs: 10_000, retry: { ...DEFAULT_RETRY, retries: 1 } });

storeConformance(test, {
  partSize: 0,
  open: async () => hdfs({ user: (await server).user }),
  openWithBadCredentials: async () => ({ store: await hdfs({ delegationToken: 'not-the-token-7e1f' }), secrets: ['not-the-token-7e1f'] }),
});

test('uploads take the two steps and reads follow the redirect to the datanode', async (t) => {
  const { log, user } = await server;
  const store = await hdfs({ user });
  const w = await store.write('protocol-check');
  w.stream.end(Buffer.from('bytes'));
  await finished(w.stream);
  await w.commit();
  for await (const chunk of await store.read('protocol-check', { start: 1, end: 2 })) t.is(String(chunk), 'yt');
  await store.close();
  for (const step of ['namenode PUT CREATE', 'datanode PUT CREATE', 'namenode GET OPEN', 'datanode GET OPEN', 'namenode PUT RENAME']) t.true(log.includes(step), step);
});
