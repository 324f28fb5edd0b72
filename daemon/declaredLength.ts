import type { Context } from 'koa';
import { invalidField } from '../src/errors/VisorError.ts';

/** A request body's declared Content-Length, when the client sent one (chunked bodies have none). */
export function declaredLength(ctx: Context): number | undefined {
  const header = ctx.get('content-length');
  const length = header === '' ? undefined : Number(header);
  if (length !== undefined && !Number.isSafeInteger(length)) throw invalidField('Content-Length', 'type', 'an integer');
  return length;
}
