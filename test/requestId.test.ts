/**
 * One id per request, the same in three places: the answer's X-Request-Id, its audit entry, and the
 * daemon's log line for it, so an operator can go from any one to the others.
 */
import test from 'ava';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTestDaemon } from './helpers/daemon.ts';
import { auditEntriesOf } from './helpers/accounts.ts';
import { call } from './helpers/http.ts';
import { pollUntil } from './helpers/polling.ts';

test("the log's request id is the answer's X-Request-Id and its audit entry's id", async (t) => {
  const lines: string[] = [];
  // At debug level every request is logged (and takes the Koa path, where that line is written).
  const d = await startTestDaemon({ logger: pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) })) });
  try {
    const answers = [await call(d, undefined, 'GET', '/images'), await call(d, undefined, 'GET', '/images/00000000-0000-4000-8000-000000000000'), await call(d, d.token, 'POST', '/images', { name: 'logged' })];
    const ids = answers.map((a) => a.headers.get('x-request-id')!);
    t.is(new Set(ids).size, 3);
    const audit = await auditEntriesOf(d, ids);
    for (const id of ids) t.is(audit.get(id)?.request, id);
    const logged = await pollUntil(
      async () => lines.map((l) => JSON.parse(l) as { msg: string; request?: string }).filter((l) => l.msg === 'request'),
      (found) => ids.every((id) => found.some((l) => l.request === id)),
    );
    for (const id of ids) t.true(logged.some((l) => l.request === id), id);
  } finally {
    await d.stop();
  }
});
