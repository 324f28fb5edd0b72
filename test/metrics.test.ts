/**
 * GET /metrics: Prometheus's text format for admins only, with requests named by the route table
 * (never by a path a client chose), bytes by store, commits, the index size, uploads in flight and
 * upstream sync failures.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { call } from './helpers/http.ts';
import { createImage, uploadFile } from './helpers/images.ts';

let d: TestDaemon;
test.before(async () => {
  // An upstream nothing answers at: each sync of it fails.
  d = await startTestDaemon({ config: { upstreams: { gone: { url: '/nonexistent/catalogue.git', interval_seconds: 0 } } } });
});
test.after.always(async () => {
  await d?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${d.token}` } });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

/** A sample's value, by metric name and exact labels as the text format prints them; undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('only admins read the metrics: anonymous 401, a signed-in non-admin 403, an admin the text format', async (t) => {
  const user = await addUser(d, `reader-${randomBytes(3).toString('hex')}`);
  t.is((await call(d, undefined, 'GET', '/metrics')).status, 401);
  t.is((await call(d, user, 'GET', '/metrics')).status, 403);
  const res = await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${d.token}` } });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  t.regex(text, /^# HELP visor_http_requests_total /m);
  t.regex(text, /^# TYPE visor_http_requests_total counter$/m);
  t.regex(text, /^# TYPE visor_http_request_duration_seconds histogram$/m);
});

test('requests are counted and timed by route name, method and status, never by their path', async (t) => {
  const id = await createImage(d, d.token, { name: 'counted', access: 'public' });
  const before = await scrape();
  const ghost = '00000000-0000-4000-8000-000000000000';
  for (let i = 0; i < 3; i++) t.is((await call(d, undefined, 'GET', `/images/${id}`)).status, 200); // the hot read path
  t.is((await call(d, undefined, 'GET', `/images/${ghost}`)).status, 404); // the Koa path
  t.is((await call(d, undefined, 'GET', `/no/such/${ghost}`)).status, 404);
  const after = await scrape();
  const delta = (labels: string) => (sample(after, 'visor_http_requests_total', labels) ?? 0) - (sample(before, 'visor_http_requests_total', labels) ?? 0);
  t.is(delta('route="showImage",method="GET",status="200"'), 3);
  t.is(delta('route="showImage",method="GET",status="404"'), 1);
  t.is(delta('route="none",method="GET",status="404"'), 1);
  t.true((sample(after, 'visor_http_request_duration_seconds_count', 'route="showImage",method="GET"') ?? 0) >= 4);
  // Bounded labels: no id, no client-chosen path in any series.
  t.false(after.includes(id));
  t.false(after.includes(ghost));
  t.false(after.includes('/no/such'));
});

test('bytes in and out by store, commits, the index size, uploads in flight and key checks', async (t) => {
  const before = await scrape();
  const bytes = randomBytes(100_000);
  const id = await createImage(d, d.token, { name: 'bytes', access: 'private' });
  await uploadFile(d, d.token, id, bytes);
  const download = await call(d, d.token, 'GET', `/images/${id}/file`);
  t.is(download.status, 200);
  const after = await scrape();
  const delta = (name: string, labels: string) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
  t.is(delta('visor_store_bytes_total', 'store="fs",direction="in"'), bytes.length);
  t.is(delta('visor_store_bytes_total', 'store="fs",direction="out"'), bytes.length);
  // Registering, then the upload's lock and its result: private records, in the private catalogue.
  t.true(delta('visor_catalog_commits_total', 'catalog="private"') >= 2);
  t.true(delta('visor_catalog_commit_duration_seconds_count', 'catalog="private"') >= 2);
  t.is(sample(after, 'visor_catalog_index_images'), d.daemon.core.images.size);
  t.is(sample(after, 'visor_uploads_in_flight'), 0);
  // No key check is waiting once the answers are in.
  t.is(sample(after, 'visor_key_checks', 'state="queued"'), 0);
  t.is(typeof sample(after, 'visor_key_checks', 'state="running"'), 'number');
});

test('a failed upstream sync is counted for its upstream', async (t) => {
  const before = sample(await scrape(), 'visor_upstream_sync_failures_total', 'upstream="gone"') ?? 0;
  t.is((await call(d, d.token, 'POST', '/sync?upstream=gone')).status, 502);
  const after = await scrape();
  t.is(sample(after, 'visor_upstream_sync_failures_total', 'upstream="gone"'), before + 1);
  t.true((sample(after, 'visor_upstream_syncs_total', 'upstream="gone",outcome="failed"') ?? 0) >= 1);
});

test('list pages sent from what was kept and made afresh are counted, with what the kept ones hold', async (t) => {
  const before = await scrape();
  const made = sample(before, 'visor_list_pages_total', 'source="made"') ?? 0;
  const kept = sample(before, 'visor_list_pages_total', 'source="kept"') ?? 0;
  // A query of its own, so that no other test's page answers it.
  const search = `?limit=7&q=${Date.now()}`;
  t.is((await call(d, undefined, 'GET', `/images${search}`)).status, 200);
  t.is((await call(d, undefined, 'GET', `/images${search}`)).status, 200);
  const after = await scrape();
  t.true(sample(after, 'visor_list_pages_total', 'source="made"')! >= made + 1);
  t.true(sample(after, 'visor_list_pages_total', 'source="kept"')! >= kept + 1);
  t.true(sample(after, 'visor_list_pages_kept_bytes')! > 0);
});
