import test from 'ava';
import { HttpStore } from '../src/store/http/HttpStore.ts';
import { DEFAULT_RETRY } from '../src/store/remote/transientRetry.ts';
import { storeConformance } from './stores/storeConformance.ts';
import { startStaticFileServer } from './stores/http/staticFileServer.ts';

// Read-only: objects are put in place as a real web server's files, then read through the adapter.
const server = startStaticFileServer();
test.after.always(async () => (await server).close());

// The same suite three times: plain, behind a redirect, and on a server that ignores Range.
for (const area of ['files', 'moved', 'norange']) {
  storeConformance(test, {
    label: area,
    partSize: 0,
    open: async () => new HttpStore({ name: `http-${area}`, url: `${(await server).url}/${area}/`, timeoutMs: 10_000, retry: { ...DEFAULT_RETRY, retries: 1 } }),
    seed: async (key, data) => (await server).put(key, data),
  });
}
