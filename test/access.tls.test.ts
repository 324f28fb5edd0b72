import test from 'ava';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { VisorClient } from '../src/client/VisorClient.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';

// A self-signed certificate for 127.0.0.1 valid until 2126, made with:
// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem \
//   -days 36500 -subj "/CN=visor test" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
const CERT = resolve('test/fixtures/tls/cert.pem');
const KEY = resolve('test/fixtures/tls/key.pem');

test('with a certificate and key the daemon speaks HTTPS, and the client trusts a given CA', async (t) => {
  const d = await startTestDaemon({ config: { server: { tls_cert: CERT, tls_key: KEY } } });
  try {
    t.regex(d.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const visor = new VisorClient({ url: d.url, token: d.token, ca: await readFile(CERT), retries: 0 });
    t.like(await visor.whoami(), { name: 'admin' });
    const image = await visor.create({ name: 'over-tls', access: 'public' });
    t.true(image.uri.startsWith('https://'), 'image uris use the scheme the daemon serves');
    // Without the CA the client refuses the certificate rather than send the key.
    const untrusting = new VisorClient({ url: d.url, token: d.token, retries: 0 });
    await t.throwsAsync(untrusting.whoami(), { message: /certificate/ });
    // Plain HTTP to the TLS port carries nothing.
    const url = new URL(d.url);
    const plain = await new Promise<number | string>((done) => {
      const req = request({ host: url.hostname, port: url.port, path: '/whoami', headers: { authorization: `Bearer ${d.token}` } }, (res) => {
        res.resume();
        done(res.statusCode!);
      });
      req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
      req.end();
    });
    t.not(plain, 200);
  } finally {
    await d.stop();
  }
});

test('TLS needs both files, and readable ones', async (t) => {
  const env = { HOME: '/nonexistent' };
  t.throws(() => loadConfig({ env, overrides: { server: { tls_cert: CERT } } }), { message: /server\.tls_key/ });
  t.throws(() => loadConfig({ env, overrides: { server: { tls_key: KEY } } }), { message: /server\.tls_cert/ });
  t.like(loadConfig({ env: { ...env, VISOR_TLS_CERT: CERT, VISOR_TLS_KEY: KEY } }).server.tls, { cert: CERT, key: KEY });
  const error = await t.throwsAsync(startTestDaemon({ config: { server: { tls_cert: '/nonexistent/cert.pem', tls_key: KEY } } }));
  t.regex(error.message, /server\.tls_cert: cannot read \/nonexistent\/cert\.pem/);
});
