import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Context } from 'koa';
import type { Principal } from '../src/auth/Principal.ts';
import { invalidField, tooLarge, VisorError } from '../src/errors/VisorError.ts';
import { jsonNestingExceeds } from './jsonNesting.ts';
import { principal } from './route.ts';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body, set by jsonBody on the routes that take one. */
    body?: unknown;
  }
}

/** Deeper JSON is refused before it is parsed: V8 takes ~0.7 s for 1 MB of nested arrays. No VISOR body nests beyond a few levels. */
export const MAX_JSON_DEPTH = 64;

/** Who may send a body to a route (src/auth/callerRules.ts): checked before a byte of the body is read. */
export type CallerRule = (who: Principal | undefined) => unknown;

/**
 * Reads a JSON body on the JSON routes, in this order: the caller is checked (a refused caller costs
 * no reading, decoding or parsing), then the media type, then the body is read within `maxBytes`
 * (after decoding), decoded, checked for nesting and parsed. Anything wrong with the body is a 400
 * (413 when too large), never a 500.
 */
export function jsonBody(maxBytes: number, mayCall: CallerRule, mediaTypes: readonly string[] = ['application/json']): (ctx: Context, next: () => Promise<unknown>) => Promise<unknown> {
  return async (ctx: Context, next: () => Promise<unknown>) => {
    mayCall(principal(ctx));
    if (!ctx.is(...mediaTypes)) {
      const expected = mediaTypes.join(' or ');
      throw new VisorError('invalid', `the body must be JSON (Content-Type: ${expected})`, [
        { field: 'Content-Type', rule: 'media-type', expected, message: `Content-Type is ${ctx.get('content-type') || 'missing'}` },
      ]);
    }
    ctx.request.body = parseJson(await readBody(ctx.req, maxBytes));
    return next();
  };
}

/** The parsed body of a route whose body is a JSON object of named fields. */
export function objectBody(ctx: Context): Record<string, unknown> {
  const b = ctx.request.body as unknown;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidField('(body)', 'type', 'a JSON object');
  return b as Record<string, unknown>;
}

const DECODERS: Record<string, (() => NodeJS.ReadWriteStream) | undefined> = {
  identity: undefined,
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The body as text, at most `maxBytes` once decoded (so a compressed bomb stops there). Hand-written
 * over zlib rather than a body library: the limit, the encodings and how each failure is answered are
 * the whole of it, and each must be ours to state.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() || 'identity';
  if (!Object.hasOwn(DECODERS, encoding)) {
    throw invalidField('Content-Encoding', 'supported', 'identity, gzip, deflate or br', `Content-Encoding ${encoding.slice(0, 64)} is not supported; expected identity, gzip, deflate or br`);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (encoding === 'identity' && declared > maxBytes) throw tooLarge(`request body exceeds the limit of ${maxBytes} bytes`);
  const makeDecoder = DECODERS[encoding];
  const decoder = makeDecoder?.();
  let source: Readable = req;
  if (decoder) {
    // The request's own failures (an aborted upload) reach the decoder and so the loop below.
    req.once('error', (e) => (decoder as unknown as Readable).destroy(e));
    source = req.pipe(decoder) as unknown as Readable;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(`request body exceeds the limit of ${maxBytes} bytes${decoder ? ' once decoded' : ''}`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof VisorError) throw error;
    const reason = (error as Error).message;
    throw invalidField('(body)', 'encoding', decoder ? `a body in ${encoding}` : 'a whole body', decoder ? `the body is not valid ${encoding}: ${reason}` : `the body could not be read: ${reason}`);
  } finally {
    if (decoder) {
      req.unpipe(decoder as unknown as NodeJS.WritableStream);
      (decoder as unknown as Readable).destroy();
    }
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** JSON.parse, refusing what it would take too long over or what could reach a prototype. */
function parseJson(text: string): unknown {
  const problem = (rule: string, expected: string, message: string) => invalidField('(body)', rule, expected, message);
  if (!/^[\x20\x09\x0a\x0d]*[[{]/.test(text)) throw problem('json', 'a JSON object', 'malformed JSON body: expected a JSON object');
  if (jsonNestingExceeds(text, MAX_JSON_DEPTH)) throw problem('nesting', `JSON nested at most ${MAX_JSON_DEPTH} levels deep`, `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text, guardPrototype);
  } catch (error) {
    if (error instanceof VisorError) throw error;
    throw problem('json', 'a JSON object', `malformed JSON body: ${(error as Error).message}`);
  }
}

/** A `__proto__` or `constructor.prototype` key is no field of ours, and dangerous wherever a body is merged into an object. */
function guardPrototype(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
    throw invalidField(key, 'known-field', 'no __proto__ or constructor.prototype key', `the JSON body may not contain a ${key} key`);
  }
  return value;
}
