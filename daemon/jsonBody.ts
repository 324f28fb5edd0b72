import type { Context } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { invalidField, VisorError } from '../src/errors/VisorError.ts';

/** Accepts only JSON bodies on the JSON routes; the body parser alone would silently skip others. */
export function jsonBody(maxBytes: number): (ctx: Context, next: () => Promise<unknown>) => Promise<unknown> {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: maxBytes, jsonStrict: true });
  return async (ctx: Context, next: () => Promise<unknown>) => {
    if (!ctx.is('application/json')) {
      throw new VisorError('invalid', 'the body must be JSON (Content-Type: application/json)', [
        { field: 'Content-Type', rule: 'media-type', expected: 'application/json', message: `Content-Type is ${ctx.get('content-type') || 'missing'}` },
      ]);
    }
    return parse(ctx, next);
  };
}

/** The parsed body of a route whose body is a JSON object of named fields. */
export function objectBody(ctx: Context): Record<string, unknown> {
  const b = ctx.request.body as unknown;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidField('(body)', 'type', 'a JSON object');
  return b as Record<string, unknown>;
}
