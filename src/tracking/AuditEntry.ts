/** How a request ended, as the audit log records it. */
export type AuditOutcome =
  /** Answered below 400. */
  | 'ok'
  /** Refused for want of credentials or permission (401, 403, or a 404 hiding an image). */
  | 'denied'
  /** Any other client error: bad input, missing image, conflict. */
  | 'rejected'
  /** The daemon or a store failed (5xx). */
  | 'failed'
  /** The connection closed before the answer was sent whole (e.g. a download cut off). */
  | 'aborted';

/** One line of the audit log: who did what to which image, when, from where, and how it ended. */
export interface AuditEntry {
  at: string;
  /** Request id, also sent as the X-Request-Id response header. */
  request: string;
  /** Account name; null for anonymous callers and for credentials that were refused. */
  user: string | null;
  /** Key id of the presented API key (never its secret), also when it was refused. */
  key?: string;
  /** e.g. image.download, user.create; method and route pattern for routes without a name. */
  action: string;
  method: string;
  path: string;
  image?: string;
  status: number;
  outcome: AuditOutcome;
  /** Why access was refused (denied outcomes only). */
  reason?: string;
  ip: string;
  agent?: string;
  /** Body bytes sent (downloads) when the answer has a known length. */
  bytes?: number;
  ms: number;
}
