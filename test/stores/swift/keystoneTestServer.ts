import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TestSwift } from './testSwift.ts';

export interface KeystoneTestServer {
  url: string;
  user: string;
  password: string;
  project: string;
  /** Password authentications answered so far. */
  issued: number;
  /** The next token handed out is one Swift refuses (as a revoked one would be). */
  revokeNext(): void;
  close(): Promise<void>;
}

/**
 * An identity service for the Keystone v3 path of the Swift adapter: POST /v3/auth/tokens with
 * password identity and project scope, the token in X-Subject-Token and a service catalogue whose
 * object-store endpoint is the real test Swift. Behind it the token is a real TempAuth token of that
 * Swift, so every storage request still goes to the real store.
 */
export async function startKeystoneTestServer(swift: TestSwift, options: { lifetimeMs: number }): Promise<KeystoneTestServer> {
  const state = { issued: 0, revoke: false };
  const user = 'visor';
  const password = 'keystone-secret-42';
  const project = 'images';
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.method !== 'POST' || req.url !== '/v3/auth/tokens') return void res.writeHead(404).end();
    const auth = (JSON.parse(body) as { auth?: { identity?: { password?: { user?: { name?: string; password?: string; domain?: { name?: string } } } }; scope?: { project?: { name?: string } } } }).auth;
    const u = auth?.identity?.password?.user;
    if (u?.name !== user || u.password !== password || u.domain?.name !== 'Default' || auth?.scope?.project?.name !== project) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }));
      return;
    }
    const tempauth = await fetch(swift.authUrl, { headers: { 'x-auth-user': swift.user, 'x-auth-key': swift.key } });
    state.issued++;
    const token = state.revoke ? 'AUTH_tk00000000000000000000000000000000' : tempauth.headers.get('x-auth-token')!;
    state.revoke = false;
    const storage = tempauth.headers.get('x-storage-url')!;
    res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token }).end(
      JSON.stringify({
        token: {
          expires_at: new Date(Date.now() + options.lifetimeMs).toISOString(),
          catalog: [
            { type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: 'http://127.0.0.1:1/v3' }] },
            { type: 'object-store', endpoints: [
              { interface: 'internal', region_id: 'RegionOne', url: 'http://127.0.0.1:1/v1/wrong' },
              { interface: 'public', region_id: 'RegionTwo', url: 'http://127.0.0.1:1/v1/wrong' },
              { interface: 'public', region_id: 'RegionOne', url: storage },
            ] },
          ],
        },
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`,
    user,
    password,
    project,
    get issued() {
      return state.issued;
    },
    revokeNext() {
      state.revoke = true;
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
