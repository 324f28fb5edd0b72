import cliProgress from 'cli-progress';
import { formatBytes } from './formatBytes.ts';

/**
 * A progress bar for uploads and downloads, drawn on stderr only when it is a terminal, so scripts and
 * logs never receive redraw sequences.
 */
export class TransferProgressBar {
  private readonly bar: cliProgress.SingleBar | undefined;
  private started = false;
  private startedAt = Date.now();

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    if (!stream.isTTY) return;
    this.bar = new cliProgress.SingleBar({
      stream,
      format: `${label} {bar} {percentage}% | {done} / {size} | {speed}`,
      hideCursor: true,
      clearOnComplete: false,
    });
  }

  /** Suits the onProgress option of VisorClient.upload/download. */
  readonly update = (transferred: number, total: number | undefined): void => {
    if (!this.bar) return;
    const payload = {
      done: formatBytes(transferred),
      size: total === undefined ? '?' : formatBytes(total),
      speed: this.speed(transferred),
    };
    if (!this.started) {
      this.started = true;
      this.startedAt = Date.now();
      this.bar.start(total ?? 0, transferred, payload);
      return;
    }
    if (total !== undefined) this.bar.setTotal(total);
    this.bar.update(transferred, payload);
  };

  stop(): void {
    if (this.started) this.bar?.stop();
  }

  private speed(transferred: number): string {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds <= 0 ? '' : `${formatBytes(transferred / seconds)}/s`;
  }
}
