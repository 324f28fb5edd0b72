import { STATUS_CODES } from 'node:http';
import type { ErrorBody } from '../api/wire.ts';

/** An error as Glance answers it: glanceclient reads `message` from every top-level value, so each must be an object. */
export interface GlanceErrorBody {
  error: { code: number; title: string; message: string; problems?: ErrorBody['error']['problems'] };
}

/** VISOR's error answer (its status and body, src/errors → daemon/httpErrors.ts) in Glance's shape: same status, same words. */
export function glanceErrorBody(status: number, body: ErrorBody): GlanceErrorBody {
  const error: GlanceErrorBody['error'] = { code: status, title: STATUS_CODES[status] ?? 'Error', message: body.error.message };
  if (body.error.problems !== undefined) error.problems = body.error.problems;
  return { error };
}

/** Paths the Glance v2 edge serves, whose errors answer in Glance's shape. */
export function isGlancePath(path: string): boolean {
  return path === '/' || path === '/versions' || path === '/v2' || path.startsWith('/v2/');
}
