import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; asynchronous so logging never stalls a request. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'visor' } }, pino.destination({ sync: false }));
}
