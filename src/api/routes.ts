/**
 * The REST API's route table: every route's method, path pattern and audit action, in one place.
 * The daemon's router registers exactly these, the hot read path matches them, the audit log names
 * requests by them, and VisorClient builds its URLs from them.
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Koa-router pattern: `:name` is one segment, `{*name}` the rest of the path. */
  readonly path: string;
  /** Name of the operation in the audit log (a HEAD is named like its GET). */
  readonly action: string;
}

export const ROUTES = {
  listImages: { method: 'GET', path: '/images', action: 'image.list' },
  listImageDetails: { method: 'GET', path: '/images/detail', action: 'image.list' },
  showImage: { method: 'GET', path: '/images/:id', action: 'image.show' },
  createImage: { method: 'POST', path: '/images', action: 'image.create' },
  updateImage: { method: 'PUT', path: '/images/:id', action: 'image.update' },
  deleteImage: { method: 'DELETE', path: '/images/:id', action: 'image.delete' },
  uploadFile: { method: 'PUT', path: '/images/:id/file', action: 'image.upload' },
  downloadFile: { method: 'GET', path: '/images/:id/file', action: 'image.download' },
  imageHistory: { method: 'GET', path: '/images/:id/history', action: 'image.history' },
  imageEndorsements: { method: 'GET', path: '/images/:id/endorsements', action: 'image.endorsements' },
  copyImage: { method: 'POST', path: '/images/:id/copy', action: 'image.copy' },
  linkImage: { method: 'POST', path: '/images/:id/locations', action: 'image.link' },
  inspectImage: { method: 'POST', path: '/images/:id/inspect', action: 'image.inspect' },
  scanImage: { method: 'POST', path: '/images/:id/scan', action: 'image.scan' },
  releaseImage: { method: 'POST', path: '/images/:id/release', action: 'image.release' },
  latestOfSeries: { method: 'GET', path: '/series/:name/latest', action: 'series.latest' },
  latestFileOfSeries: { method: 'GET', path: '/series/:name/latest/file', action: 'series.latest_file' },
  listGrants: { method: 'GET', path: '/images/:id/grants', action: 'grant.list' },
  grantUser: { method: 'PUT', path: '/images/:id/grants/users/:name', action: 'grant.set' },
  grantGroup: { method: 'PUT', path: '/images/:id/grants/groups/:name', action: 'grant.set' },
  revokeUser: { method: 'DELETE', path: '/images/:id/grants/users/:name', action: 'grant.revoke' },
  revokeGroup: { method: 'DELETE', path: '/images/:id/grants/groups/:name', action: 'grant.revoke' },
  whoami: { method: 'GET', path: '/whoami', action: 'user.whoami' },
  listUsers: { method: 'GET', path: '/users', action: 'user.list' },
  createUser: { method: 'POST', path: '/users', action: 'user.create' },
  showUser: { method: 'GET', path: '/users/:name', action: 'user.show' },
  updateUser: { method: 'PUT', path: '/users/:name', action: 'user.update' },
  removeUser: { method: 'DELETE', path: '/users/:name', action: 'user.remove' },
  rotateKey: { method: 'POST', path: '/users/:name/key', action: 'user.rotate_key' },
  listGroups: { method: 'GET', path: '/groups', action: 'group.list' },
  createGroup: { method: 'POST', path: '/groups', action: 'group.create' },
  deleteGroup: { method: 'DELETE', path: '/groups/:name', action: 'group.delete' },
  addGroupMember: { method: 'PUT', path: '/groups/:name/members/:user', action: 'group.add_member' },
  removeGroupMember: { method: 'DELETE', path: '/groups/:name/members/:user', action: 'group.remove_member' },
  usageReport: { method: 'GET', path: '/report', action: 'report.usage' },
  sync: { method: 'POST', path: '/sync', action: 'catalog.sync' },
  syncWebhook: { method: 'POST', path: '/sync/webhooks/:upstream', action: 'catalog.webhook' },
  catalogHead: { method: 'GET', path: '/catalog/HEAD', action: 'catalog.head' },
  catalogRoot: { method: 'GET', path: '/catalog/files', action: 'catalog.file' },
  catalogFile: { method: 'GET', path: '/catalog/files/{*path}', action: 'catalog.file' },
  listHidden: { method: 'GET', path: '/policy/hidden', action: 'policy.list_hidden' },
  hideImage: { method: 'PUT', path: '/policy/hidden/:id', action: 'policy.hide' },
  unhideImage: { method: 'DELETE', path: '/policy/hidden/:id', action: 'policy.unhide' },
  listStores: { method: 'GET', path: '/stores', action: 'store.list' },
  collectStoreGarbage: { method: 'POST', path: '/stores/:name/gc', action: 'store.gc' },
  health: { method: 'GET', path: '/health', action: 'health' },
  metrics: { method: 'GET', path: '/metrics', action: 'metrics.read' },
  openApi: { method: 'GET', path: '/openapi.json', action: 'api.describe' },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof ROUTES;

/** The Glance v2 Images API, a second edge over the same core (daemon/routes/glanceRoutes.ts). */
export const GLANCE_ROUTES = {
  root: { method: 'GET', path: '/', action: 'glance.versions' },
  versions: { method: 'GET', path: '/versions', action: 'glance.versions' },
  v2: { method: 'GET', path: '/v2', action: 'glance.versions' },
  schema: { method: 'GET', path: '/v2/schemas/:name', action: 'glance.schema' },
  listImages: { method: 'GET', path: '/v2/images', action: 'glance.image.list' },
  createImage: { method: 'POST', path: '/v2/images', action: 'glance.image.create' },
  showImage: { method: 'GET', path: '/v2/images/:id', action: 'glance.image.show' },
  updateImage: { method: 'PATCH', path: '/v2/images/:id', action: 'glance.image.update' },
  deleteImage: { method: 'DELETE', path: '/v2/images/:id', action: 'glance.image.delete' },
  uploadFile: { method: 'PUT', path: '/v2/images/:id/file', action: 'glance.image.upload' },
  downloadFile: { method: 'GET', path: '/v2/images/:id/file', action: 'glance.image.download' },
  addTag: { method: 'PUT', path: '/v2/images/:id/tags/:tag', action: 'glance.image.tag' },
  removeTag: { method: 'DELETE', path: '/v2/images/:id/tags/:tag', action: 'glance.image.untag' },
  deactivate: { method: 'POST', path: '/v2/images/:id/actions/deactivate', action: 'glance.image.deactivate' },
  reactivate: { method: 'POST', path: '/v2/images/:id/actions/reactivate', action: 'glance.image.reactivate' },
  listMembers: { method: 'GET', path: '/v2/images/:id/members', action: 'glance.member.list' },
  addMember: { method: 'POST', path: '/v2/images/:id/members', action: 'glance.member.create' },
  showMember: { method: 'GET', path: '/v2/images/:id/members/:member', action: 'glance.member.show' },
  updateMember: { method: 'PUT', path: '/v2/images/:id/members/:member', action: 'glance.member.update' },
  removeMember: { method: 'DELETE', path: '/v2/images/:id/members/:member', action: 'glance.member.delete' },
  importInfo: { method: 'GET', path: '/v2/info/import', action: 'glance.info' },
  storesInfo: { method: 'GET', path: '/v2/info/stores', action: 'glance.info' },
  stageFile: { method: 'PUT', path: '/v2/images/:id/stage', action: 'glance.image.stage' },
  importImage: { method: 'POST', path: '/v2/images/:id/import', action: 'glance.image.import' },
  /** What OSC asks Identity for a project (here: a VISOR group or user), without Keystone. */
  showProject: { method: 'GET', path: '/v2/projects/:id', action: 'glance.project.show' },
  findProjects: { method: 'GET', path: '/v2/projects', action: 'glance.project.list' },
} as const satisfies Record<string, Route>;

/**
 * The web catalogue (daemon/routes/webRoutes.ts): HTML pages for browsers over the same core and
 * access rules as the API. Browsers asking for `/` are sent to `browse` (JSON clients get Glance's
 * version document there).
 */
export const WEB_ROUTES = {
  browse: { method: 'GET', path: '/ui/', action: 'web.browse' },
  /** Sends `/ui` on to `/ui/`, the first page. */
  home: { method: 'GET', path: '/ui', action: 'web.browse' },
  image: { method: 'GET', path: '/ui/images/:id', action: 'web.image' },
  series: { method: 'GET', path: '/ui/series', action: 'web.series' },
  upload: { method: 'GET', path: '/ui/upload', action: 'web.upload' },
  admin: { method: 'GET', path: '/ui/admin', action: 'web.admin' },
  signInForm: { method: 'GET', path: '/ui/sign-in', action: 'web.sign_in_form' },
  signIn: { method: 'POST', path: '/ui/sign-in', action: 'web.sign_in' },
  signOut: { method: 'POST', path: '/ui/sign-out', action: 'web.sign_out' },
  asset: { method: 'GET', path: '/ui/assets/:name', action: 'web.asset' },
} as const satisfies Record<string, Route>;

/** Git's smart HTTP protocol is served under this prefix, ahead of the router (git sends its own paths). */
export const GIT_PREFIX = '/catalog.git';
export const GIT_ACTION = 'catalog.git';

const ACTIONS = new Map<string, string>([...Object.values(ROUTES), ...Object.values(GLANCE_ROUTES), ...Object.values(WEB_ROUTES)].map((r) => [`${r.method} ${r.path}`, r.action]));

/** The audit action of a request, by method and the route pattern that matched (if any). */
export function actionOf(method: string, route: string | undefined, path: string): string {
  if (route === undefined) return path === GIT_PREFIX || path.startsWith(`${GIT_PREFIX}/`) ? GIT_ACTION : `${method} (no route)`;
  return ACTIONS.get(`${method === 'HEAD' ? 'GET' : method} ${route}`) ?? `${method} ${route}`;
}

const NAMES = new Map<string, string>(Object.entries(ROUTES).map(([name, r]) => [`${r.method} ${r.path}`, name]));

/**
 * The route table's name of a request (a HEAD is named like its GET), for the metrics: `catalogGit`
 * for git's protocol, `none` when no route matched, else the pattern that matched. Never the path
 * itself, which a client chooses: the names are as few as the routes.
 */
export function routeNameOf(method: string, route: string | undefined, path: string): string {
  if (route === undefined) return path === GIT_PREFIX || path.startsWith(`${GIT_PREFIX}/`) ? 'catalogGit' : 'none';
  return NAMES.get(`${method === 'HEAD' ? 'GET' : method} ${route}`) ?? route;
}

type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : P extends `${string}{*${infer Name}}`
      ? Name
      : never;

/** The route's path with its parameters filled in, each percent-encoded (a `{*rest}` keeps its slashes). */
export function pathOf<R extends Route>(route: R, params: Record<ParamNames<R['path']>, string>): string {
  const values = params as Record<string, string>;
  return route.path
    .replace(/\{\*(\w+)\}/g, (_, name: string) => values[name]!.split('/').map(encodeURIComponent).join('/'))
    .replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(values[name]!));
}

/**
 * A matcher for the route's path: `:name` segments must match `segments[name]` (a regular
 * expression source without anchors). Answers the parameters, or undefined when the path differs.
 */
export function routeMatcher(route: Route, segments: Record<string, string> = {}): (path: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return `(${segments[name] ?? '[^/]+'})`;
  });
  const pattern = new RegExp(`^${source}$`);
  return (path) => {
    const m = pattern.exec(path);
    if (!m) return undefined;
    return Object.fromEntries(names.map((n, i) => [n, m[i + 1]!]));
  };
}
