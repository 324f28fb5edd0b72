import type { Writable } from 'node:stream';
import got, { type Got, type Method } from 'got';
import { pathOf, ROUTES, type Route } from '../api/routes.ts';
import type { GcReport, GroupView, Grantee, HealthReport, HiddenImage, HistoryEntry, ImageBrief, ImageGrantsView, ImageInput, ImageView, IssuedKey, Permission, Role, StoreListing, UsageReport, UserView } from '../api/wire.ts';
import { downloadImageFile, type DownloadOptions, type DownloadResult } from './downloadImageFile.ts';
import { toSearchParams, type ImageFilter } from './ImageFilter.ts';
import { uploadImageFile, type UploadOptions } from './uploadImageFile.ts';
import { VisorClientError } from './VisorClientError.ts';
import { DEFAULT_VISOR_URL } from './defaultUrl.ts';
import { httpOrigin } from './origin.ts';
import { VISOR_USER_AGENT } from '../api/visorVersion.ts';
import type { EndorsementView } from '../trust/EndorsementState.ts';
import type { ImageTrust } from '../trust/ImageTrust.ts';
import type { PolicyJudgement } from '../trust/TrustPolicy.ts';

export { DEFAULT_VISOR_URL };
export type { HealthReport };

export interface VisorClientOptions {
  /** Base URL of the daemon (default http://127.0.0.1:4568). */
  url?: string;
  /**
   * Bearer token; needed for writes and to see private images. It is sent only to the origin (scheme,
   * host, port) of `url`: never to another server, whether named by a redirect or by a `next` link.
   */
  token?: string;
  /** Extra trusted certificate authorities (PEM), e.g. for a daemon with a self-signed certificate. */
  ca?: string | Buffer;
  /** How often a failed read (GET/HEAD) is retried on network errors and 5xx (default 2); writes never are. */
  retries?: number;
  /** The User-Agent every request sends (default `visor/<version>`), so the daemon's audit log can tell its clients apart. */
  userAgent?: string;
}

/** One page of a listing; `next` is the daemon's link to the following page, absent on the last. */
export interface ImagePage<T> {
  images: T[];
  next?: string;
}

/** Fields for PUT /images/:id: a partial ImageInput where null removes an optional field. */
export type ImagePatch = { [K in keyof ImageInput]?: ImageInput[K] | null };

/** What `visor store gc` found and removed in one store (the daemon's own report shape). */
export type StoreGcReport = GcReport;

interface JsonRequest {
  method?: Method;
  json?: unknown;
  searchParams?: URLSearchParams;
  headers?: Record<string, string>;
}

/** A typed client for the VISOR REST API. Connections are reused through Node's keep-alive agent. */
export class VisorClient {
  readonly url: string;
  private readonly http: Got;

  constructor(options: VisorClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_VISOR_URL).replace(/\/+$/, '');
    const origin = httpOrigin(this.url);
    if (origin === undefined) throw new VisorClientError(`${this.url} is not an http:// or https:// URL`, { code: 'invalid_url' });
    const authorization = options.token ? `Bearer ${options.token}` : undefined;
    // A daemon behind a proxy under a path prefix shares its origin with whatever else the proxy
    // serves: the key goes to paths under the prefix only.
    const prefix = new URL(this.url).pathname.replace(/\/+$/, '');
    const ownPath = (path: string): boolean => prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
    this.http = got.extend({
      headers: { 'user-agent': options.userAgent ?? VISOR_USER_AGENT },
      // Set per request, not as a default header: every request (a retry, a redirect, a `next` page
      // anywhere) carries the key only when it goes to the daemon's own origin.
      hooks: {
        beforeRequest: [
          (request) => {
            if (authorization !== undefined && request.url instanceof URL && request.url.origin === origin && ownPath(request.url.pathname)) request.headers['authorization'] = authorization;
            else if (request.headers['authorization'] !== undefined) delete request.headers['authorization'];
          },
        ],
      },
      // Only reads are retried: a repeated write could apply twice.
      retry: { limit: options.retries ?? 2, methods: ['GET', 'HEAD'] },
      timeout: { connect: 10_000, socket: 120_000 },
      ...(options.ca !== undefined ? { https: { certificateAuthority: options.ca } } : {}),
    });
  }

  list(query?: ImageFilter): Promise<ImagePage<ImageBrief>> {
    return this.json(this.resolve(ROUTES.listImages.path), { searchParams: toSearchParams(query) });
  }

  detail(query?: ImageFilter): Promise<ImagePage<ImageView>> {
    return this.json(this.resolve(ROUTES.listImageDetails.path), { searchParams: toSearchParams(query) });
  }

  /** Every matching image, fetching page after page by following `next`. */
  listAll(query: ImageFilter | undefined, options: { detail: true }): AsyncGenerator<ImageView>;
  listAll(query?: ImageFilter, options?: { detail?: false }): AsyncGenerator<ImageBrief>;
  async *listAll(query?: ImageFilter, options: { detail?: boolean } = {}): AsyncGenerator<ImageBrief | ImageView> {
    let page = options.detail ? await this.detail(query) : await this.list(query);
    yield* page.images;
    while (page.next !== undefined) {
      page = await this.json<ImagePage<ImageView>>(this.resolve(page.next));
      yield* page.images;
    }
  }

  async get(id: string): Promise<ImageView> {
    return (await this.getWithETag(id)).image;
  }

  /** The image and its ETag, to pass as `ifMatch` to update() so a concurrent change is not overwritten. */
  async getWithETag(id: string): Promise<{ image: ImageView; etag: string | undefined }> {
    const { body, headers } = await this.request<ImageView>(this.at(ROUTES.showImage, { id }));
    return { image: body, etag: headers['etag'] };
  }

  create(input: ImageInput): Promise<ImageView> {
    return this.json(this.at(ROUTES.createImage, {}), { method: 'POST', json: input });
  }

  update(id: string, patch: ImagePatch, options: { ifMatch?: string } = {}): Promise<ImageView> {
    const headers: Record<string, string> = options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch };
    return this.json(this.at(ROUTES.updateImage, { id }), { method: 'PUT', json: patch, headers });
  }

  /** Removes the image; answers the record as it was. */
  delete(id: string): Promise<ImageView> {
    return this.json(this.at(ROUTES.deleteImage, { id }), { method: 'DELETE' });
  }

  /** Streams a file (path) or a stream into the image; allowed while the image is locked or error. */
  upload(id: string, source: string | NodeJS.ReadableStream, options: UploadOptions = {}): Promise<ImageView> {
    return uploadImageFile(this.http, this.at(ROUTES.uploadFile, { id }), source, options);
  }

  /** Streams the image's file to a path or stream, verifying its digest unless a range is asked for. */
  async download(id: string, destination: string | Writable, options: DownloadOptions = {}): Promise<DownloadResult> {
    const image = await this.get(id);
    return downloadImageFile(this.http, this.at(ROUTES.downloadFile, { id }), image, destination, options);
  }

  /** Each change of an image, newest first: who, when, and every field's old and new value. */
  async history(id: string): Promise<HistoryEntry[]> {
    return (await this.json<{ history: HistoryEntry[] }>(this.at(ROUTES.imageHistory, { id }))).history;
  }

  /** The image's endorsements and the state of each, as the daemon judges them against its catalogue's endorser list. */
  async endorsements(id: string): Promise<EndorsementView[]> {
    return (await this.trust(id)).endorsements;
  }

  /** The image's trust: endorsements, deprecation, ancestry and its flags, expiry warnings, and the site's policy's judgement when it has one. */
  async trust(id: string): Promise<ImageTrust & { policy?: PolicyJudgement }> {
    const answer = await this.json<Partial<ImageTrust> & { endorsements: ImageTrust['endorsements']; policy?: PolicyJudgement }>(this.at(ROUTES.imageEndorsements, { id }));
    // A daemon from before ancestry answered its endorsements alone.
    return { id, ancestry: [], flags: [], warnings: [], ...answer };
  }

  /**
   * The newest available image of a series, of one owner: `owner` is required when the images the
   * caller sees in the series have several owners (a series is a namespace per owner).
   */
  latest(series: string, options: { owner?: string } = {}): Promise<ImageView> {
    const searchParams = new URLSearchParams(options.owner === undefined ? {} : { owner: options.owner });
    return this.json(this.at(ROUTES.latestOfSeries, { name: series }), { searchParams });
  }

  /** The account the client's key belongs to (`{name: null, anonymous: true}` without a key). */
  whoami(): Promise<UserView | { name: null; anonymous: true }> {
    return this.json(this.at(ROUTES.whoami, {}));
  }

  /** Who was granted what on an image (its owner and admins only). */
  grants(id: string): Promise<ImageGrantsView> {
    return this.json(this.at(ROUTES.listGrants, { id }));
  }

  /** Grants `checkout` or `commit` on an image to a user or group of the daemon's instance. */
  grant(id: string, grantee: Grantee, permission: Permission): Promise<ImageGrantsView> {
    return this.json(this.at(grantee.kind === 'user' ? ROUTES.grantUser : ROUTES.grantGroup, { id, name: grantee.name }), { method: 'PUT', json: { permission } });
  }

  revoke(id: string, grantee: Grantee): Promise<ImageGrantsView> {
    return this.json(this.at(grantee.kind === 'user' ? ROUTES.revokeUser : ROUTES.revokeGroup, { id, name: grantee.name }), { method: 'DELETE' });
  }

  /** Admin: every account. */
  async users(): Promise<UserView[]> {
    return (await this.json<{ users: UserView[] }>(this.at(ROUTES.listUsers, {}))).users;
  }

  user(name: string): Promise<UserView> {
    return this.json(this.at(ROUTES.showUser, { name }));
  }

  /** Admin: creates an account; the answer holds its key, which is shown this once. */
  addUser(input: { name: string; role?: Role; groups?: string[] }): Promise<IssuedKey> {
    return this.json(this.at(ROUTES.createUser, {}), { method: 'POST', json: input });
  }

  /** Admin: a disabled account's key is refused until it is enabled again. */
  setUserDisabled(name: string, disabled: boolean): Promise<UserView> {
    return this.json(this.at(ROUTES.updateUser, { name }), { method: 'PUT', json: { disabled } });
  }

  removeUser(name: string): Promise<UserView> {
    return this.json(this.at(ROUTES.removeUser, { name }), { method: 'DELETE' });
  }

  /** A new key for the account (admins, or the user themself); the old one stops working at once. */
  rotateKey(name: string): Promise<IssuedKey> {
    return this.json(this.at(ROUTES.rotateKey, { name }), { method: 'POST' });
  }

  async groups(): Promise<GroupView[]> {
    return (await this.json<{ groups: GroupView[] }>(this.at(ROUTES.listGroups, {}))).groups;
  }

  createGroup(name: string): Promise<GroupView> {
    return this.json(this.at(ROUTES.createGroup, {}), { method: 'POST', json: { name } });
  }

  deleteGroup(name: string): Promise<GroupView> {
    return this.json(this.at(ROUTES.deleteGroup, { name }), { method: 'DELETE' });
  }

  addGroupMember(group: string, user: string): Promise<GroupView> {
    return this.json(this.at(ROUTES.addGroupMember, { name: group, user }), { method: 'PUT' });
  }

  removeGroupMember(group: string, user: string): Promise<GroupView> {
    return this.json(this.at(ROUTES.removeGroupMember, { name: group, user }), { method: 'DELETE' });
  }

  /** Admin: download counts, unused images, per-user activity and storage use. */
  report(options: { unusedDays?: number; top?: number; activityDays?: number } = {}): Promise<UsageReport> {
    const searchParams = new URLSearchParams();
    if (options.unusedDays !== undefined) searchParams.set('unused_days', String(options.unusedDays));
    if (options.top !== undefined) searchParams.set('top', String(options.top));
    if (options.activityDays !== undefined) searchParams.set('activity_days', String(options.activityDays));
    return this.json(this.at(ROUTES.usageReport, {}), { searchParams });
  }

  health(): Promise<HealthReport> {
    return this.json(this.at(ROUTES.health, {}));
  }

  /** Copies (or with move, moves) the image's file to another store; verified on arrival. */
  copy(id: string, to: string, options: { move?: boolean } = {}): Promise<ImageView> {
    return this.json(this.at(ROUTES.copyImage, { id }), { method: 'POST', json: { to, ...(options.move ? { move: true } : {}) } });
  }

  /** Registers a file already in a store (by URL, or store and key) as the image's file or one more location. */
  link(id: string, target: { url: string } | { store: string; key: string }, options: { checksum?: string } = {}): Promise<ImageView> {
    return this.json(this.at(ROUTES.linkImage, { id }), { method: 'POST', json: { ...target, ...options } });
  }

  /** Inspects the image's file again (owner or admin): records what it is, or refuses it (400, the image then in error). */
  inspect(id: string): Promise<ImageView> {
    return this.json(this.at(ROUTES.inspectImage, { id }), { method: 'POST' });
  }

  /** Scans the image's file for malware now (owner or admin); the verdict is in the answer's `scan`. */
  scan(id: string): Promise<ImageView> {
    return this.json(this.at(ROUTES.scanImage, { id }), { method: 'POST' });
  }

  /** Lets a quarantined image be served again (admins). */
  release(id: string): Promise<ImageView> {
    return this.json(this.at(ROUTES.releaseImage, { id }), { method: 'POST' });
  }

  /** The daemon's stores (names and types) and the default one. */
  stores(): Promise<StoreListing> {
    return this.json(this.at(ROUTES.listStores, {}));
  }

  /** Removes what crashed writes left in a store (and, asked, objects no image names); admins only. */
  collectStoreGarbage(store: string, options: { dryRun?: boolean; olderThanSeconds?: number; unreferenced?: boolean } = {}): Promise<StoreGcReport> {
    return this.json(this.at(ROUTES.collectStoreGarbage, { name: store }), {
      method: 'POST',
      json: { dry_run: options.dryRun === true, unreferenced: options.unreferenced === true, ...(options.olderThanSeconds !== undefined ? { older_than_seconds: options.olderThanSeconds } : {}) },
    });
  }

  /** Admin: the images of other instances this site does not offer. */
  async hidden(): Promise<HiddenImage[]> {
    return (await this.json<{ hidden: HiddenImage[] }>(this.at(ROUTES.listHidden, {}))).hidden;
  }

  /** Admin: stops offering another instance's image here (its record stays as its instance wrote it). */
  hide(id: string, reason: string): Promise<HiddenImage> {
    return this.json(this.at(ROUTES.hideImage, { id }), { method: 'PUT', json: { reason } });
  }

  /** Admin: offers a hidden image again. */
  unhide(id: string): Promise<HiddenImage> {
    return this.json(this.at(ROUTES.unhideImage, { id }), { method: 'DELETE' });
  }

  /** The URL of a route of the one route table, its parameters filled in. */
  private at<R extends Route>(route: R, params: Parameters<typeof pathOf<R>>[1]): string {
    return this.resolve(pathOf(route, params));
  }

  /** Paths from the daemon (e.g. `next`) are absolute paths; keep any path prefix of the base URL. */
  private resolve(path: string): string {
    return /^https?:\/\//i.test(path) ? path : `${this.url}${path}`;
  }

  private async json<T>(url: string, init: JsonRequest = {}): Promise<T> {
    return (await this.request<T>(url, init)).body;
  }

  private async request<T>(url: string, init: JsonRequest = {}): Promise<{ body: T; headers: Record<string, string | undefined> }> {
    try {
      const response = await this.http(url, {
        method: init.method ?? 'GET',
        json: init.json,
        searchParams: init.searchParams,
        headers: init.headers,
        responseType: 'text',
        throwHttpErrors: false,
      });
      if (response.statusCode >= 400) {
        throw VisorClientError.fromResponse(response.statusCode, response.body, response.statusMessage);
      }
      return { body: parseJson<T>(response.body, url), headers: response.headers as Record<string, string | undefined> };
    } catch (error) {
      throw VisorClientError.fromTransportFailure(error, url);
    }
  }
}

function parseJson<T>(text: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new VisorClientError(`${url} did not answer JSON`, { code: 'bad_response', cause: error });
  }
}
