import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Asks `probe` every `every` ms until `done` accepts its answer or `within` ms have passed, and
 * answers the last answer either way: the test asserts on it, so a timeout fails with what was seen.
 * For what the daemon finishes just after answering (audit lines, the index catching up, a cut
 * upload noticed).
 */
export async function pollUntil<T>(probe: () => T | Promise<T>, done: (answer: T) => boolean, { within = 2000, every = 50 } = {}): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const answer = await probe();
    if (done(answer) || Date.now() >= deadline) return answer;
    await sleep(every);
  }
}
