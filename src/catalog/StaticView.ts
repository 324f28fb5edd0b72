import { GitRunner } from '../git/GitRunner.ts';
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
 */
export class StaticView {
  private readonly git: GitRunner;
  private readonly reader: GitObjectReader;

  constructor(dir: string) {
    this.git = new GitRunner(dir);
    this.reader = new GitObjectReader(dir);
  }

  async head(): Promise<string> {
    return (await this.git.revParse('HEAD')) ?? '';
  }

  async entry(path: string): Promise<StaticEntry> {
    const clean = path.replace(/\/+$/, '');
    if (clean !== '' && (!SAFE_PATH.test(clean) || clean.split('/').some((s) => s === '.' || s === '..'))) {
      throw invalidField('path', 'pattern', 'a catalogue path such as images/ab/<id>.json');
    }
    const listing = async (treeish: string) =>
      (await this.git.run(['ls-tree', '-z', treeish])).stdout
        .split('\0')
        .filter(Boolean)
        .map((line) => {
          const [meta = '', name = ''] = line.split('\t');
          const [, kind, oid = ''] = meta.split(' ');
          return { name, type: kind === 'tree' ? ('folder' as const) : ('file' as const), oid };
        });
    if (clean === '') {
      const oid = (await this.git.run(['rev-parse', 'HEAD^{tree}'])).stdout.trim();
      return { oid, type: 'folder', content: await listing(oid) };
    }
    const found = (await this.git.run(['ls-tree', '-z', 'HEAD', '--', clean])).stdout.split('\0')[0];
    const [meta = '', name] = (found ?? '').split('\t');
    if (!found || name !== clean) throw notFound(`catalogue path ${clean}`);
    const [, kind, oid = ''] = meta.split(' ');
    if (kind === 'tree') return { oid, type: 'folder', content: await listing(oid) };
    const bytes = await this.reader.read(oid);
    if (!bytes) throw notFound(`catalogue path ${clean}`);
    return { oid, type: 'file', content: bytes };
  }

  close(): void {
    this.reader.close();
  }
}
