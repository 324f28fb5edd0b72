import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { infectedDisk, testClamd } from './scanning/testClamd.ts';

// The scheduled scan over all images: one at a time, a pause between, its place kept in the data
// directory so that a daemon restarted mid-pass resumes after the last image it scanned.

type Record_ = { scan?: { verdict: string; scanned_at: string } };

let d: TestDaemon | undefined;
let dataDir: string | undefined;
test.after.always(async () => {
  await d?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a pass resumes after the last image scanned before the stop, scans the rest one at a time, and records its end', async (t) => {
  const { socket, maxStreamBytes } = await testClamd();
  const before = await startTestDaemon({ config: { scanning: { mode: 'off' } } });
  dataDir = before.dataDir;
  const ids: string[] = [];
  const infected = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const id = await createImage(before, before.token, { name: unique('img'), disk: 'raw' });
    const bad = i % 2 === 1;
    await uploadFile(before, before.token, id, bad ? infectedDisk() : randomBytes(64 * 1024));
    if (bad) infected.add(id);
    ids.push(id);
  }
  await before.daemon.close();
  ids.sort();
  // Where a pass stopped: after the second image (in id order).
  const state = join(dataDir, 'scan-schedule.json');
  await writeFile(state, JSON.stringify({ after: ids[1] }));
  const pauseMs = 300;
  d = await startTestDaemon({ dataDir, config: { scanning: { mode: 'async', socket, max_stream_bytes: maxStreamBytes, schedule_seconds: 3600, pause_ms: pauseMs } } });
  const records = async () => Promise.all(ids.map(async (id) => (await call(d!, d!.token, 'GET', `/images/${id}`)).json as Record_));
  const done = await pollUntil(records, (rs) => rs[2]!.scan !== undefined && rs[3]!.scan !== undefined, { within: 20_000 });
  t.is(done[0]!.scan, undefined, 'scanned before the stop: not again in the resumed pass');
  t.is(done[1]!.scan, undefined);
  t.deepEqual(done.slice(2).map((r) => r.scan!.verdict), ids.slice(2).map((id) => (infected.has(id) ? 'infected' : 'clean')));
  // One at a time, the pause between: the two verdicts are at least a pause apart.
  const times = done.slice(2).map((r) => Date.parse(r.scan!.scanned_at));
  t.true(Math.abs(times[0]! - times[1]!) >= pauseMs - 50, `scanned ${Math.abs(times[0]! - times[1]!)} ms apart`);
  // The pass ended: the next starts an hour after, from the first image.
  const saved = await pollUntil(async () => JSON.parse(await readFile(state, 'utf8')) as { after?: string; finished_at?: string }, (s) => s.finished_at !== undefined, { within: 5000 });
  t.is(saved.after, undefined);
  t.true(Date.now() - Date.parse(saved.finished_at!) < 60_000);
});
