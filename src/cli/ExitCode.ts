/** The exit statuses scripts can rely on. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  /** Usage error or input the daemon rejected as invalid (400). */
  usage: 2,
  notFound: 3,
  /** 409 conflict or 412 precondition failed. */
  conflict: 4,
  /** 401 or 403, or no usable token. */
  auth: 5,
  digestMismatch: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
