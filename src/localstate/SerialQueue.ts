/**
 * Runs tasks one after another, in call order: the changes of an instance-local state file (accounts,
 * grants) are applied and written one at a time, so a write never races another.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
