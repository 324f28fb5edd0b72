/**
 * Images through the HTTP API, and the facts about them tests compare: the one place a test file
 * registers, uploads, names, digests or finds the stored copy of an image.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { call, type DaemonAddress } from './http.ts';

/** Names unique per test file run: tests share one daemon, so fixed names would collide. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The multihash of the bytes as the daemon writes it in a record: `sha256:<hex>`. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The record the daemon answered with when an image was registered. */
export type RegisteredImage = Record<string, unknown> & { id: string };

/** Registers an image as the key's owner (POST /images); throws unless it answers 201. */
export async function registerImage(d: Pick<DaemonAddress, 'url'>, key: string, fields: unknown): Promise<RegisteredImage> {
  const res = await call(d, key, 'POST', '/images', fields);
  if (res.status !== 201) throw new Error(`registering an image failed: ${res.status} ${res.text}`);
  return res.json as RegisteredImage;
}

/** Registers an image as the key's owner; answers its id. */
export async function createImage(d: Pick<DaemonAddress, 'url'>, key: string, fields: unknown): Promise<string> {
  return (await registerImage(d, key, fields)).id;
}

/** PUT /images/{id}/file with the bytes, as the API's own tests want it: the answer unread. */
export function putFile(d: Pick<DaemonAddress, 'url'>, key: string | undefined, id: string, data: Uint8Array, options: { query?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${d.url}/images/${id}/file${options.query ?? ''}`, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream', ...(key ? { authorization: `Bearer ${key}` } : {}), ...options.headers },
  });
}

/** Uploads the bytes as an image's file; throws unless it answers 200; answers the record. */
export async function uploadFile(d: Pick<DaemonAddress, 'url'>, key: string, id: string, data: Uint8Array): Promise<Record<string, unknown>> {
  const res = await putFile(d, key, id, data);
  if (res.status !== 200) throw new Error(`uploading ${id} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A file of random bytes in the directory, for uploads from disk. */
export async function randomFile(dir: string, bytes: number): Promise<{ path: string; content: Buffer }> {
  const content = randomBytes(bytes);
  const path = join(dir, `${unique('disk')}.raw`);
  await writeFile(path, content);
  return { path, content };
}

/** The stored copy of an image's file in a daemon's filesystem store, found by its first location's key. */
export async function storedFile(dataDir: string, image: { locations?: ReadonlyArray<{ key?: string }> | undefined }): Promise<string> {
  const key = image.locations?.[0]?.key;
  if (key === undefined) throw new Error('image has no location');
  const root = join(dataDir, 'images');
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === key) return join(entry.parentPath, entry.name);
  }
  throw new Error(`no stored file for ${key}`);
}
