import { fullFormats } from 'ajv-formats/dist/formats.js';

type StringCheck = (text: string) => boolean;

// ajv-formats' full RFC 3339 check: the rule, for every form (offsets, lower case, leap seconds).
const format = fullFormats['date-time'];
const rfc3339 = (typeof format === 'object' && 'validate' in format ? format.validate : format) as StringCheck;

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ZERO = 48;

/** The number the ASCII digits text[from, to) spell, or -1 if any is not a digit. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * RFC 3339 date-time, exactly as ajv-formats' full format decides it, but several times faster on
 * the form the daemon writes (`2026-11-22T10:00:00.000Z`): a first start checks three of them in
 * each of 100,000 files, and the general check (a split and two regular expressions) cost a tenth of
 * the scan. The shortcut only ever says yes; anything else gets the general check.
 */
export function isDateTime(text: string): boolean {
  const n = text.length;
  if (n >= 20 && text[4] === '-' && text[7] === '-' && text[10] === 'T' && text[13] === ':' && text[16] === ':' && text[n - 1] === 'Z' && (n === 20 || (text[19] === '.' && n > 21 && digits(text, 20, n - 1) >= 0))) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 7);
    const day = digits(text, 8, 10);
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && leap ? 29 : DAYS[month]!)) {
      const hour = digits(text, 11, 13);
      const minute = digits(text, 14, 16);
      const second = digits(text, 17, 19);
      if (hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59) return true;
    }
  }
  return rfc3339(text);
}
