import { GitRunner } from '../git/GitRunner.ts';
import { writeLooseObject, type ObjectFormat } from '../git/LooseObjects.ts';
import type { Logger } from '../log/Logger.ts';
import { HEAD_STATEMENT_REF, serializeHeadStatement, signHeadStatement, type SignedHeadStatement } from '../trust/HeadStatement.ts';
import type { InstanceKey } from './InstanceKey.ts';

/** How often the head is looked at for a commit to sign: a follower may see the branch this much ahead of the statement, which its check allows. */
const WATCH_MS = 2000;

export interface HeadPublisherOptions {
  dir: string;
  /** The catalogue's git folder and object format (its writer's): the statement's blob is written in-process. */
  repository: { gitDir: string; format: ObjectFormat };
  key: InstanceKey;
  instance: string;
  branch: string;
  /** The branch's commit now (the writer's). */
  head: () => string | undefined;
  /** How long a statement is valid; it is re-signed after a quarter of that even without a commit. */
  validitySeconds: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * Keeps the catalogue's signed head statement current (src/trust/HeadStatement.ts): signed at the
 * start, after each commit (looked for every two seconds) and again once a quarter of its validity
 * has passed, so a statement is never older than that while the instance runs. Published as a blob
 * under refs/visor/head, which the Git endpoint serves beside the branch (followers and `visor
 * mirror` fetch both at once), and kept in memory for GET /catalog/HEAD.
 */
export class HeadPublisher {
  private readonly o: HeadPublisherOptions;
  private readonly git: GitRunner;
  private timer: NodeJS.Timeout | undefined;
  private signed: { file: SignedHeadStatement; at: number } | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(options: HeadPublisherOptions) {
    this.o = options;
    this.git = new GitRunner(options.dir);
  }

  /** The statement last published, if any. */
  get current(): SignedHeadStatement | undefined {
    return this.signed?.file;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), WATCH_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Signs and publishes the head when it moved or the statement is a quarter through its validity. */
  refresh(): Promise<void> {
    const next = this.running.then(async () => {
      const head = this.o.head();
      if (head === undefined) return;
      const now = (this.o.now ?? (() => new Date()))();
      const due = this.signed === undefined || this.signed.file.statement.head !== head || now.getTime() - this.signed.at >= (this.o.validitySeconds * 1000) / 4;
      if (!due) return;
      const file = signHeadStatement(this.o.key.signing, { instance: this.o.instance, branch: this.o.branch, head, now, validitySeconds: this.o.validitySeconds });
      const { gitDir, format } = this.o.repository;
      const blob = await writeLooseObject(gitDir, 'blob', Buffer.from(serializeHeadStatement(file)), format);
      await this.git.run(['update-ref', HEAD_STATEMENT_REF, blob]);
      this.signed = { file, at: now.getTime() };
    });
    this.running = next.catch((error: unknown) => this.o.logger.warn({ err: error }, 'publishing the signed head statement failed'));
    return this.running;
  }
}
