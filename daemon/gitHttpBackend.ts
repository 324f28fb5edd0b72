import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { forbidden, invalidField, MethodNotAllowed, notFound, VisorError } from '../src/errors/VisorError.ts';

const PREFIX = '/catalog.git';

/**
 * What clones and fetches see, passed to git as configuration: branches and the signed head statement
 * only (never an upstream's tracking refs or anything else kept in the repository), and only objects reachable from them:
 * wants are limited to the advertised tips (protocol v0 enforces that; v2 takes any object id,
 * which would serve objects a sync fetched and then refused).
 */
const SERVED_CONFIG: ReadonlyArray<[string, string]> = [
  ['uploadpack.hideRefs', 'refs/'],
  ['uploadpack.hideRefs', '!refs/heads/'],
  // the signed head statement, which followers fetch with the branch (src/federation/HeadPublisher.ts)
  ['uploadpack.hideRefs', '!refs/visor/head'],
  ['uploadpack.allowTipSHA1InWant', 'false'],
  ['uploadpack.allowReachableSHA1InWant', 'false'],
  ['uploadpack.allowAnySHA1InWant', 'false'],
  ['uploadpack.allowFilter', 'false'],
];

export function isGitPath(path: string): boolean {
  return path === PREFIX || path.startsWith(`${PREFIX}/`);
}

/** What a git path takes: the pack negotiation is a POST, everything else a read. */
export function gitMethodsOf(path: string): string[] {
  return path === `${PREFIX}/git-upload-pack` ? ['POST'] : ['HEAD', 'GET'];
}

/**
 * Serves the shared catalogue over Git's smart HTTP protocol through the stock `git http-backend`
 * (CGI), so `git clone http://host:4568/catalog.git` works with any git client. Returns false for
 * requests outside /catalog.git.
 */
export async function serveGit(ctx: Context, repoDir: string): Promise<boolean> {
  if (!isGitPath(ctx.path)) return false;
  const pathInfo = ctx.path.slice(PREFIX.length);
  if (ctx.query['service'] === 'git-receive-pack' || pathInfo === '/git-receive-pack') throw forbidden('the catalogue is served read-only: clone and fetch only');
  // git http-backend would answer other methods itself, outside the error shape.
  const allowed = gitMethodsOf(ctx.path);
  if (ctx.method === 'OPTIONS') {
    ctx.set('Allow', allowed.join(', '));
    ctx.status = 204;
    return true;
  }
  if (!allowed.includes(ctx.method)) throw new MethodNotAllowed(ctx.method, ctx.path, allowed);
  // The smart protocol only: the dumb one reads files of the repository (objects/, info/refs,
  // packs) as they are, reachable or not.
  const smart = (pathInfo === '/info/refs' && ctx.query['service'] === 'git-upload-pack') || pathInfo === '/git-upload-pack';
  if (!smart) throw notFound(`${ctx.path}: the catalogue is served over Git's smart HTTP protocol only`);
  // git http-backend would refuse other bodies itself, in plain text.
  if (ctx.method === 'POST' && !ctx.is('application/x-git-upload-pack-request')) {
    throw invalidField('Content-Type', 'media-type', 'application/x-git-upload-pack-request', `Content-Type is ${ctx.get('content-type').slice(0, 100) || 'missing'}; git-upload-pack takes application/x-git-upload-pack-request`);
  }
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: `${repoDir}/.git`,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      QUERY_STRING: ctx.querystring,
      REQUEST_METHOD: ctx.method,
      CONTENT_TYPE: ctx.get('content-type'),
      REMOTE_ADDR: ctx.ip,
      // No GIT_PROTOCOL: protocol v0, whose wants must be advertised tips (see SERVED_CONFIG).
      HTTP_CONTENT_ENCODING: ctx.get('content-encoding'),
      GIT_CONFIG_COUNT: String(SERVED_CONFIG.length),
      ...Object.fromEntries(SERVED_CONFIG.flatMap(([key, value], i) => [[`GIT_CONFIG_KEY_${i}`, key], [`GIT_CONFIG_VALUE_${i}`, value]])),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.stdin.on('error', () => undefined);
  if (ctx.method === 'POST') ctx.req.pipe(child.stdin);
  else child.stdin.end();
  // A client gone (or cut by a timeout) before git is done must not leave git waiting on its stdin.
  ctx.res.once('close', () => {
    if (child.exitCode === null) child.kill();
  });

  // CGI: header lines, a blank line, then the body.
  const body = new PassThrough();
  let cgiStatus = 200;
  await new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0);
    let inBody = false;
    child.on('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      if (inBody) {
        body.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
      if (end < 0) return;
      const sep = head[end] === 13 ? 4 : 2;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') cgiStatus = Number(value.split(' ')[0]) || 500;
        else ctx.set(name, value);
      }
      inBody = true;
      body.write(head.subarray(end + sep));
      resolve();
    });
    child.stdout.on('end', () => {
      body.end();
      resolve();
    });
  });
  if (cgiStatus >= 400) throw await gitRefusal(cgiStatus, body);
  ctx.status = cgiStatus;
  ctx.body = body;
  return true;
}

/** git's own refusal (a malformed negotiation, say), in the one error shape rather than its plain text. */
async function gitRefusal(status: number, body: PassThrough): Promise<VisorError> {
  let text = '';
  for await (const chunk of body as AsyncIterable<Buffer>) if (text.length < 500) text += chunk.toString('utf8');
  const message = `git: ${text.trim().slice(0, 300) || `status ${status}`}`;
  if (status === 404) return new VisorError('not_found', message);
  if (status === 403) return forbidden(message);
  return new VisorError(status >= 500 ? 'internal' : 'invalid', message);
}
