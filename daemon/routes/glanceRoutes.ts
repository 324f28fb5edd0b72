import type Router from '@koa/router';
import type { Context } from 'koa';
import { GLANCE_ROUTES, WEB_ROUTES } from '../../src/api/routes.ts';
import type { ImageService } from '../../src/images/ImageService.ts';
import { assertSignedIn } from '../../src/auth/callerRules.ts';
import { notFound, VisorError } from '../../src/errors/VisorError.ts';
import { GlanceImages } from '../../src/glance/GlanceImages.ts';
import { GLANCE_SCHEMAS } from '../../src/glance/GlanceSchemas.ts';
import { GlanceImports } from '../../src/glance/GlanceImports.ts';
import type { StoreDirectory } from '../../src/image-files/StoreDirectory.ts';
import { GlanceMembers, type ProjectDirectory } from '../../src/glance/GlanceMembers.ts';
import { versionsDocument } from '../../src/glance/GlanceVersions.ts';
import { parsePatch, PATCH_MEDIA_TYPES } from '../../src/glance/GlancePatch.ts';
import { jsonBody } from '../jsonBody.ts';
import { glanceList, glanceShow } from '../glanceReads.ts';
import { pickRange } from '../rangeHeader.ts';
import { sendDownload } from '../downloadSender.ts';
import { declaredLength } from '../declaredLength.ts';
import { on, principal } from '../route.ts';
import type { FileServices } from './fileRoutes.ts';

const unsupportedMediaType = (field: string, expected: string, got: string) =>
  new VisorError('unsupported_media_type', `Content-Type must be ${expected}`, [{ field, rule: 'media-type', expected, message: `Content-Type is ${got || 'missing'}` }]);

/**
 * The Glance v2 Images API (what `glance` and `openstack image` speak), translated onto the same core
 * as VISOR's own routes: src/glance does the translating, these routes only move it over HTTP.
 * Errors answer in Glance's shape (daemon/app.ts, src/glance/GlanceErrors.ts).
 */
export function glanceRoutes(router: Router, images: ImageService, files: FileServices, projects: ProjectDirectory, maxJsonBytes: number, stores: StoreDirectory): void {
  const glance = GlanceImages.of(images);
  // A background import's failure is recorded on the image (the upload path marks it); nothing else to tell.
  const imports = new GlanceImports({ uploads: files.uploads, webDownloads: files.webDownloads, copier: files.copier, stores, onError: () => undefined });
  const members = new GlanceMembers(images, glance, projects);
  const json = jsonBody(maxJsonBytes, assertSignedIn);
  const patchJson = jsonBody(maxJsonBytes, assertSignedIn, PATCH_MEDIA_TYPES);
  const versions = () => versionsDocument(files.views.publicUrl);
  const params = (ctx: Context) => ctx.params as Record<string, string>;

  // keystoneauth (openstack) discovers the API at / with Accept: application/json and expects 300;
  // a browser (asking for HTML) is sent to the web catalogue; any other client (*/*: curl, fetch)
  // finds nothing here, as before either existed.
  on(router, GLANCE_ROUTES.root, (ctx) => {
    const accept = ctx.get('accept');
    if (/\bapplication\/json\b/.test(accept) && ctx.accepts('json', 'html') === 'json') {
      ctx.status = 300;
      ctx.body = versions();
    } else if (/\btext\/html\b/.test(accept)) {
      ctx.redirect(WEB_ROUTES.browse.path);
    } else {
      throw notFound(`route ${ctx.method} ${ctx.path}`);
    }
  });
  on(router, GLANCE_ROUTES.versions, (ctx) => {
    ctx.body = versions();
  });
  on(router, GLANCE_ROUTES.v2, (ctx) => {
    ctx.body = versions();
  });
  on(router, GLANCE_ROUTES.schema, (ctx) => {
    const schema = GLANCE_SCHEMAS[params(ctx)['name']!];
    if (schema === undefined) throw notFound(`schema ${params(ctx)['name']!}`);
    ctx.body = schema;
  });

  // Answered on the hot read path too (daemon/hotReads.ts), with the same text.
  on(router, GLANCE_ROUTES.listImages, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = glanceList(images, ctx.querystring, principal(ctx)).json;
  });
  on(router, GLANCE_ROUTES.showImage, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = glanceShow(images, params(ctx)['id']!, principal(ctx)).json;
  });
  on(router, GLANCE_ROUTES.createImage, json, async (ctx) => {
    const image = await glance.create(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `${files.views.publicUrl}/v2/images/${image.id}`);
    // The SDK reads this header: `openstack image create --import` needs glance-direct in it.
    ctx.set('OpenStack-image-import-methods', imports.methods().join(','));
    ctx.body = image;
  });
  on(router, GLANCE_ROUTES.updateImage, (ctx, next) => {
    // Glance answers any other patch type with 415 and the types it takes.
    ctx.set('Accept-Patch', PATCH_MEDIA_TYPES.join(', '));
    if (!ctx.is(...PATCH_MEDIA_TYPES)) throw unsupportedMediaType('Content-Type', PATCH_MEDIA_TYPES.join(' or '), ctx.get('content-type'));
    return next();
  }, patchJson, async (ctx) => {
    const type = PATCH_MEDIA_TYPES.find((t) => ctx.is(t))!;
    ctx.body = await glance.patch(params(ctx)['id']!, parsePatch(ctx.request.body, type), principal(ctx));
  });
  on(router, GLANCE_ROUTES.deleteImage, async (ctx) => {
    await glance.remove(params(ctx)['id']!, principal(ctx));
    ctx.status = 204;
  });
  on(router, GLANCE_ROUTES.addTag, async (ctx) => {
    await glance.tag(params(ctx)['id']!, params(ctx)['tag']!, principal(ctx));
    ctx.status = 204;
  });
  on(router, GLANCE_ROUTES.removeTag, async (ctx) => {
    await glance.untag(params(ctx)['id']!, params(ctx)['tag']!, principal(ctx));
    ctx.status = 204;
  });
  for (const [route, deactivated] of [[GLANCE_ROUTES.deactivate, true], [GLANCE_ROUTES.reactivate, false]] as const) {
    on(router, route, async (ctx) => {
      await glance.setDeactivated(params(ctx)['id']!, deactivated, principal(ctx));
      ctx.status = 204;
    });
  }

  on(router, GLANCE_ROUTES.listMembers, (ctx) => {
    ctx.body = members.list(params(ctx)['id']!, principal(ctx));
  });
  on(router, GLANCE_ROUTES.addMember, json, async (ctx) => {
    ctx.body = await members.add(params(ctx)['id']!, ctx.request.body, principal(ctx));
  });
  on(router, GLANCE_ROUTES.showMember, (ctx) => {
    ctx.body = members.show(params(ctx)['id']!, params(ctx)['member']!, principal(ctx));
  });
  on(router, GLANCE_ROUTES.updateMember, json, (ctx) => {
    ctx.body = members.update(params(ctx)['id']!, params(ctx)['member']!, ctx.request.body, principal(ctx));
  });
  on(router, GLANCE_ROUTES.removeMember, async (ctx) => {
    await members.remove(params(ctx)['id']!, params(ctx)['member']!, principal(ctx));
    ctx.status = 204;
  });
  on(router, GLANCE_ROUTES.importInfo, (ctx) => {
    ctx.body = { 'import-methods': { description: 'Import methods available.', type: 'array', value: imports.methods() } };
  });
  // With one store Glance answers 404 ("Multi Backend support is not enabled"), and clients expect it.
  on(router, GLANCE_ROUTES.storesInfo, (ctx) => {
    const info = imports.storeInfo(principal(ctx));
    if (info === undefined) throw notFound('stores information: this VISOR has one store');
    ctx.body = info;
  });
  // Staged through the one upload path as a file is uploaded; glance-direct publishes it.
  on(router, GLANCE_ROUTES.stageFile, async (ctx) => {
    const id = params(ctx)['id']!;
    glance.record(id, assertSignedIn(principal(ctx)));
    if (!ctx.is('application/octet-stream')) throw unsupportedMediaType('Content-Type', 'application/octet-stream', ctx.get('content-type'));
    await imports.stage(id, ctx.req, declaredLength(ctx), principal(ctx));
    ctx.status = 204;
  });
  on(router, GLANCE_ROUTES.importImage, json, async (ctx) => {
    const id = params(ctx)['id']!;
    glance.record(id, principal(ctx));
    await imports.start(id, ctx.request.body, principal(ctx));
    // Empty and without a JSON type: glanceclient parses a JSON-labelled empty body and fails.
    // (Koa makes a null body a 204: the status is set after it.)
    ctx.body = null;
    ctx.status = 202;
  });
  // OSC resolves a project through Identity before `image add project`; without Keystone it asks
  // here. A project is a VISOR group or user; only signed-in callers may ask (as with grants).
  const projectOf = (name: string) => ({ id: name, name, domain_id: 'default', enabled: true, description: projects.hasGroup(name) ? 'VISOR group' : 'VISOR user' });
  const exists = (name: string) => projects.hasGroup(name) || projects.hasUser(name);
  on(router, GLANCE_ROUTES.showProject, (ctx) => {
    assertSignedIn(principal(ctx));
    const name = params(ctx)['id']!;
    if (!exists(name)) throw notFound(`project ${name}`);
    ctx.body = { project: projectOf(name) };
  });
  on(router, GLANCE_ROUTES.findProjects, (ctx) => {
    assertSignedIn(principal(ctx));
    const name = typeof ctx.query['name'] === 'string' ? ctx.query['name'] : undefined;
    ctx.body = { projects: name !== undefined && exists(name) ? [projectOf(name)] : [] };
  });

  // The file goes through VISOR's one upload path (ImageUploads): streamed, hashed (checksum, md5,
  // sha512), format-inspected and scanned in one pass, the same limits, the same refusals.
  on(router, GLANCE_ROUTES.uploadFile, async (ctx) => {
    const id = params(ctx)['id']!;
    const who = assertSignedIn(principal(ctx));
    glance.record(id, who);
    if (!ctx.is('application/octet-stream')) throw unsupportedMediaType('Content-Type', 'application/octet-stream', ctx.get('content-type'));
    const length = declaredLength(ctx);
    await files.uploads.upload(id, ctx.req, { clientDigests: true, ...(length !== undefined ? { length } : {}) }, who);
    ctx.status = 204;
  });

  on(router, GLANCE_ROUTES.downloadFile, async (ctx) => {
    const id = params(ctx)['id']!;
    const record = glance.record(id, principal(ctx));
    // An image without data yet: Glance answers 204 ("has no data").
    if (record.status === 'locked') {
      ctx.status = 204;
      return;
    }
    const download = files.downloads.prepare(id, principal(ctx), (size, checksum) => pickRange(ctx.get('range') || undefined, size, ctx.get('if-range') || undefined, `"${checksum}"`));
    const { image } = download;
    ctx.set('Accept-Ranges', 'bytes');
    // Hex, not base64: Glance sends the image's md5 checksum, and both clients verify against it.
    if (image.digests?.md5 !== undefined) ctx.set('Content-MD5', image.digests.md5);
    ctx.type = 'application/octet-stream';
    await sendDownload(ctx, download);
  });
}
