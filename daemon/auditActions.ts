/**
 * Names of API operations in the audit log, by method and route pattern. A route missing here is
 * still recorded, under its method and pattern; a HEAD is named like its GET.
 */
const ACTIONS: Record<string, string> = {
  'GET /images': 'image.list',
  'GET /images/detail': 'image.list',
  'GET /images/:id': 'image.show',
  'POST /images': 'image.create',
  'PUT /images/:id': 'image.update',
  'DELETE /images/:id': 'image.delete',
  'PUT /images/:id/file': 'image.upload',
  'GET /images/:id/file': 'image.download',
  'GET /images/:id/history': 'image.history',
  'GET /series/:name/latest': 'series.latest',
  'GET /series/:name/latest/file': 'series.latest_file',
  'GET /images/:id/grants': 'grant.list',
  'PUT /images/:id/grants/users/:name': 'grant.set',
  'PUT /images/:id/grants/groups/:name': 'grant.set',
  'DELETE /images/:id/grants/users/:name': 'grant.revoke',
  'DELETE /images/:id/grants/groups/:name': 'grant.revoke',
  'GET /whoami': 'user.whoami',
  'GET /users': 'user.list',
  'POST /users': 'user.create',
  'GET /users/:name': 'user.show',
  'PUT /users/:name': 'user.update',
  'DELETE /users/:name': 'user.remove',
  'POST /users/:name/key': 'user.rotate_key',
  'GET /groups': 'group.list',
  'POST /groups': 'group.create',
  'DELETE /groups/:name': 'group.delete',
  'PUT /groups/:name/members/:user': 'group.add_member',
  'DELETE /groups/:name/members/:user': 'group.remove_member',
  'GET /report': 'report.usage',
  'POST /sync': 'catalog.sync',
  'GET /catalog/HEAD': 'catalog.head',
  'GET /catalog/files': 'catalog.file',
  'GET /catalog/files/{*path}': 'catalog.file',
  'GET /health': 'health',
};

export function auditAction(method: string, route: string | undefined, path: string): string {
  // Git's smart HTTP protocol is served ahead of the router.
  if (route === undefined && path.startsWith('/catalog.git/')) return 'catalog.git';
  if (route === undefined) return `${method} (no route)`;
  return ACTIONS[`${method === 'HEAD' ? 'GET' : method} ${route}`] ?? `${method} ${route}`;
}
