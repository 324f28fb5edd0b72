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

/** What each exit status means, in order: `visor --help` prints this list and the README's table is checked against it. */
export const EXIT_CODE_MEANINGS: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.ok, 'success'],
  [ExitCode.failure, 'any other failure (the daemon unreachable, a server error, a check that found problems)'],
  [ExitCode.usage, 'bad arguments, or input the daemon refused as invalid (400, 413, 416)'],
  [ExitCode.notFound, 'no such image, account or route (404)'],
  [ExitCode.conflict, 'a conflict (409) or a failed precondition such as --if-match (412)'],
  [ExitCode.auth, 'no key, a key refused (401) or not allowed (403), or a config file with unsafe permissions'],
  [ExitCode.digestMismatch, 'a downloaded or uploaded file does not have the expected digest'],
];
