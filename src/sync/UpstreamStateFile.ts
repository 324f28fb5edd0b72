import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/**
 * What a follower remembers per upstream between syncs, in one JSON file beside the catalogue's git
 * data (`{"<upstream>": value}`): read once, each change written whole and atomically, one at a time.
 * An admin who must make a follower forget an upstream's entry removes its line there.
 */
export class UpstreamStateFile<T> {
  private readonly path: string;
  private readonly setting: string;
  private readonly queue = new SerialQueue();
  private entries: Record<string, T> | undefined;

  constructor(path: string, setting: string) {
    this.path = path;
    this.setting = setting;
  }

  async get(upstream: string): Promise<T | undefined> {
    this.entries ??= ((await readJsonState(this.path, this.setting)) as Record<string, T> | undefined) ?? {};
    return this.entries[upstream];
  }

  set(upstream: string, value: T): Promise<void> {
    return this.queue.run(async () => {
      // Read first: a set before any get must not drop the other upstreams' entries.
      await this.get(upstream);
      const next = { ...this.entries, [upstream]: value };
      await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.entries = next;
    });
  }
}
