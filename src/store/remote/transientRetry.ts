import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** First backoff; doubles each attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 5000 };

const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

/** Whether a status or transport error code is worth another attempt (the store may answer next time). */
export function isTransient(failure: { status?: number; code?: string }): boolean {
  if (failure.status !== undefined) return TRANSIENT_STATUSES.has(failure.status);
  return failure.code !== undefined && TRANSIENT_CODES.has(failure.code);
}

/**
 * Runs `attempt` until it succeeds, it fails permanently, or the retries are spent. Only callers whose
 * request body can be sent again (none, or a buffer) may use this: a half-consumed stream cannot.
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>, transient: (error: unknown) => boolean, signal?: AbortSignal): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= policy.retries || !transient(error) || signal?.aborted) throw error;
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
      await sleep(delay / 2 + Math.random() * (delay / 2), undefined, signal ? { signal } : {});
    }
  }
}
