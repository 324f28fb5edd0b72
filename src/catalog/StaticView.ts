import { GitObjectReader } from '../git/GitObjectReader.ts';
import { invalidField, notFound } from '../errors/VisorError.ts';

export interface StaticEntry {
  /** Blob or tree id: the ETag, so a mirror re-fetches only what changed (the crates.io sparse-index lesson). */
  oid: string;
  type: 'file' | 'folder';
  /** The file's bytes, or for a folder its entries. */
  content: Buffer | Array<{ name: string; type: 'file' | 'folder'; oid: string }>;
}

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * The shared catalogue's files at its current commit, read-only, for mirrors that do not want to
 * clone: each file by path, each folder as a listing, each with its object id as validator.
 * Everything comes through one `git cat-file --batch` by `<commit>:<path>`: a process per request
 * held a full walk of 100,000 files to ~100 requests/s.
 */
export class StaticView {
  private readonly reader: GitObjectReader;
  private readonly headCommit: () => string | undefined;

  /** `head` answers the commit the daemon's catalogue is at (the writer keeps it current). */
  constructor(dir: string, head: () => string | undefined) {
    this.reader = new GitObjectReader(dir);
    this.headCommit = head;
  }

  async head(): Promise<string> {
    return this.headCommit() ?? '';
  }

  async entry(path: string): Promise<StaticEntry> {
    const clean = path.replace(/\/+$/, '');
    if (clean !== '' && (!SAFE_PATH.test(clean) || clean.split('/').some((s) => s === '.' || s === '..'))) {
      throw invalidField('path', 'pattern', 'a catalogue path such as images/ab/<id>.json');
    }
    const head = this.headCommit();
    const object = head ? await this.reader.object(`${head}:${clean}`) : undefined;
    if (!object || (object.type !== 'blob' && object.type !== 'tree')) throw notFound(`catalogue path ${clean}`);
    if (object.type === 'blob') return { oid: object.oid, type: 'file', content: object.body };
    return { oid: object.oid, type: 'folder', content: treeEntries(object.body) };
  }

  close(): void {
    this.reader.close();
  }
}

/** A tree object's entries: "<mode> <name>\0<20-byte id>" each (SHA-1 repositories). */
function treeEntries(body: Buffer): Array<{ name: string; type: 'file' | 'folder'; oid: string }> {
  const entries: Array<{ name: string; type: 'file' | 'folder'; oid: string }> = [];
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const nul = body.indexOf(0, space);
    const mode = body.toString('latin1', at, space);
    const name = body.toString('utf8', space + 1, nul);
    entries.push({ name, type: mode === '40000' ? 'folder' : 'file', oid: body.toString('hex', nul + 1, nul + 21) });
    at = nul + 21;
  }
  return entries;
}
