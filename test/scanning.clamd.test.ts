import test from 'ava';
import { randomBytes } from 'node:crypto';
import { ClamdClient, parseClamdAddress, type ClamdOutcome } from '../src/scanning/ClamdClient.ts';
import { EICAR, EICAR_SIGNATURE, infectedDisk, NO_CLAMD, testClamd } from './scanning/testClamd.ts';

// The clamd client against the real engine (Debian's clamd, the tests' EICAR-only database): the
// INSTREAM framing, the verdicts, clamd's StreamMaxLength and an engine that is not there.

async function scanned(client: ClamdClient, chunks: Buffer[]): Promise<ClamdOutcome> {
  const scan = client.instream();
  for (const chunk of chunks) await scan.write(chunk);
  return scan.finish();
}

test('clamd names its engine; a clean stream is clean, one carrying EICAR anywhere is infected with the signature', async (t) => {
  const clamd = new ClamdClient(parseClamdAddress((await testClamd()).socket)!);
  const version = await clamd.version();
  t.regex(version.engine, /^ClamAV \d+\.\d+/);
  t.deepEqual(await scanned(clamd, [randomBytes(200_000)]), { kind: 'clean' });
  const found = await scanned(clamd, [EICAR]);
  t.is(found.kind, 'infected');
  t.regex((found as { signature: string }).signature, EICAR_SIGNATURE);
  // Split across chunks (and frames) at an awkward place, deep in the stream.
  const disk = infectedDisk(2 << 20, (1 << 20) - 30);
  const chunks = [disk.subarray(0, 1 << 20), disk.subarray(1 << 20)];
  t.is((await scanned(clamd, chunks)).kind, 'infected');
});

test('a stream past the configured StreamMaxLength is too large to scan, not a pass; the writes that follow never throw', async (t) => {
  const { socket, maxStreamBytes } = await testClamd();
  const chunk = Buffer.alloc(1 << 20);
  const feed = async (clamd: ClamdClient) => {
    const scan = clamd.instream();
    for (let sent = 0; sent <= maxStreamBytes + (2 << 20); sent += chunk.length) await scan.write(chunk);
    return scan.finish();
  };
  // Said by the client at the limit it is told, without sending past it.
  t.deepEqual(await feed(new ClamdClient(parseClamdAddress(socket)!, { maxStreamBytes })), { kind: 'too_large' });
  // Not told: clamd cuts the stream; its answer, or the cut named with the setting to check, never a pass.
  const cut = await feed(new ClamdClient(parseClamdAddress(socket)!));
  t.true(cut.kind === 'too_large' || (cut.kind === 'failed' && /StreamMaxLength/.test(cut.reason)), JSON.stringify(cut));
});

test("a stream within StreamMaxLength but past clamd's MaxFileSize is too large, naming the limit, not clean", async (t) => {
  const { socket, maxStreamBytes, maxFileBytes } = await testClamd();
  t.true(maxFileBytes < maxStreamBytes);
  const clamd = new ClamdClient(parseClamdAddress(socket)!, { maxStreamBytes });
  t.deepEqual(await scanned(clamd, [Buffer.alloc(maxFileBytes + (512 << 10))]), { kind: 'too_large', limit: 'MaxFileSize' });
});

test('an engine that is down gives no verdict, saying where it was looked for', async (t) => {
  const clamd = new ClamdClient(parseClamdAddress(NO_CLAMD)!);
  const outcome = await scanned(clamd, [EICAR]);
  t.is(outcome.kind, 'failed');
  t.regex((outcome as { reason: string }).reason, /clamd at \/nonexistent\/visor-test\/clamd\.sock is not reachable: ENOENT/);
  await t.throwsAsync(clamd.version(), { message: /not reachable/ });
});

test('socket settings: a unix path, unix:path or tcp://host:port; anything else is refused', (t) => {
  t.deepEqual(parseClamdAddress('/run/clamav/clamd.ctl'), { kind: 'unix', path: '/run/clamav/clamd.ctl' });
  t.deepEqual(parseClamdAddress('unix:/tmp/c.sock'), { kind: 'unix', path: '/tmp/c.sock' });
  t.deepEqual(parseClamdAddress('tcp://127.0.0.1:3310'), { kind: 'tcp', host: '127.0.0.1', port: 3310 });
  t.deepEqual(parseClamdAddress('tcp://[::1]:3310'), { kind: 'tcp', host: '::1', port: 3310 });
  t.is(parseClamdAddress('clamd.sock'), undefined);
});
