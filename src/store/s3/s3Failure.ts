import type { VisorError } from '../../errors/VisorError.ts';
import { storeFailure } from '../storeErrors.ts';

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function s3Status(error: unknown): number | undefined {
  return (error as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isS3NotFound(error: unknown): boolean {
  const e = error as SdkError;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || s3Status(error) === 404;
}

/**
 * A store error from an SDK error, built from its status, name and message only: the SDK also parses
 * fields such as StringToSign and AWSAccessKeyId out of error bodies, and those stay out of messages.
 */
export function s3Failure(store: { name: string; type: string }, operation: string, error: unknown): VisorError {
  const e = error as SdkError;
  const status = s3Status(error);
  // A connection's failure (no answer at all): its code only, since its message names the endpoint
  // ("connect ECONNREFUSED 10.0.0.5:443").
  if (status === undefined && typeof e?.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return storeFailure(store, operation, e.code, error);
  const name = e?.name ?? e?.code ?? 'Error';
  let detail = `${status !== undefined ? `${status} ` : ''}${name}`;
  if (e?.message && e.message !== name && !/UnknownError/.test(e.message)) detail += `: ${e.message.split('\n')[0]!.slice(0, 300)}`;
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || status === 403) detail += ' (check the store credentials)';
  return storeFailure(store, operation, detail);
}
