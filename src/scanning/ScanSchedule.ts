import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { readJsonState } from '../localstate/readJsonState.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/** Where the scheduled scan got to (data_dir/scan-schedule.json). */
interface ScheduleState {
  /** In a pass: the last image scanned (ids are taken in order); the pass resumes after it. */
  after?: string;
  /** Between passes: when the last one ended. */
  finished_at?: string;
}

export interface ScanScheduleOptions {
  /** Every image a pass should scan now. */
  candidates(): Iterable<string>;
  /** Scans one image, recording its verdict; failures are logged and the pass goes on. */
  scan(id: string): Promise<unknown>;
  statePath: string;
  everySeconds: number;
  pauseMs: number;
  logger: Logger;
}

/**
 * The scheduled scan over all images: one image at a time, a pause between two, a pass every
 * `everySeconds` after the last ended. Where it got to is saved after each image, so a daemon
 * restarted mid-pass resumes after the last image it scanned instead of starting over (a pass over
 * many TiB takes days).
 */
export class ScanSchedule {
  private readonly o: ScanScheduleOptions;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(options: ScanScheduleOptions) {
    this.o = options;
  }

  start(): void {
    this.running = this.loop().catch((e: unknown) => {
      if (!this.stopping.signal.aborted) this.o.logger.error({ err: e }, 'the scheduled malware scan stopped');
    });
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    let state = ((await readJsonState(this.o.statePath, 'scanning.schedule_seconds')) ?? {}) as ScheduleState;
    for (;;) {
      if (state.after === undefined && state.finished_at !== undefined) {
        const due = Date.parse(state.finished_at) + this.o.everySeconds * 1000;
        if (due > Date.now()) await sleep(due - Date.now(), undefined, { signal });
      }
      const after = state.after ?? '';
      const ids = [...this.o.candidates()].filter((id) => id > after).sort();
      this.o.logger.info({ images: ids.length, resumed: after !== '' }, 'scheduled malware scan: pass starts');
      for (const id of ids) {
        signal.throwIfAborted();
        await this.o.scan(id).catch((e: unknown) => this.o.logger.warn({ image: id, err: e }, 'scheduled malware scan of an image failed'));
        state = { after: id };
        await writeFileAtomic(this.o.statePath, JSON.stringify(state));
        await sleep(this.o.pauseMs, undefined, { signal });
      }
      state = { finished_at: new Date().toISOString() };
      await writeFileAtomic(this.o.statePath, JSON.stringify(state));
      this.o.logger.info({ images: ids.length }, 'scheduled malware scan: pass done');
    }
  }
}
