import { invalidField } from '../errors/VisorError.ts';

/** `--expires`: a date (2027-06-01, midnight UTC), an RFC 3339 time, or a number of days from now (90d). */
export function parseExpiry(text: string, now: Date = new Date()): Date {
  const days = /^(\d{1,4})d$/.exec(text);
  const date = days ? new Date(now.getTime() + Number(days[1]) * 86_400_000) : /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(text) ? new Date(text) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw invalidField('expires', 'date', '2027-06-01, 2027-06-01T12:00:00Z or 90d', `--expires ${text}: not a date (2027-06-01), a time (2027-06-01T12:00:00Z) or days (90d)`);
  return date;
}
