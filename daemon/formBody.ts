import type { Context } from 'koa';
import { VisorError } from '../src/errors/VisorError.ts';
import { readBody } from './jsonBody.ts';

/** A web form's fields are a key, a token and a few names: far below this. */
const MAX_FORM_BYTES = 16 * 1024;

/** The fields of an HTML form post (application/x-www-form-urlencoded), read within a small limit. */
export async function formBody(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    const expected = 'application/x-www-form-urlencoded';
    throw new VisorError('invalid', `the body must be a form (Content-Type: ${expected})`, [
      { field: 'Content-Type', rule: 'media-type', expected, message: `Content-Type is ${ctx.get('content-type') || 'missing'}` },
    ]);
  }
  return new URLSearchParams(await readBody(ctx.req, MAX_FORM_BYTES));
}
