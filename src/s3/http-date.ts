// Timestamps S3 requests carry: `X-Amz-Date` (ISO 8601 basic, SigV4) and HTTP-date (RFC 9110 §5.6.7).
// Parsed strictly: a date that is not exactly one of these forms, or names no real instant, is `null`.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const AMZ_DATE = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/;

const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT$/;
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-([A-Z][a-z]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT$/;
const ASCTIME_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([0-9 ][0-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})$/;

interface DateFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** SigV4 `YYYYMMDD'T'HHMMSS'Z'` (the only form S3 accepts in `X-Amz-Date`). */
export function parseAmzDate(text: string): Date | null {
  // Requests of one second carry one date (and a presigned URL's is the same on every use): the last one
  // parsed is kept. A Date is mutable, so each caller gets its own copy.
  if (text === lastAmzDate.text) return lastAmzDate.time === null ? null : new Date(lastAmzDate.time);
  const m = AMZ_DATE.exec(text);
  const date =
    m === null
      ? null
      : toDate({
          year: Number(m[1]),
          month: Number(m[2]),
          day: Number(m[3]),
          hour: Number(m[4]),
          minute: Number(m[5]),
          second: Number(m[6]),
        });
  lastAmzDate = { text, time: date === null ? null : date.getTime() };
  return date;
}

let lastAmzDate: { text: string; time: number | null } = { text: '', time: null };

/**
 * HTTP-date in any of its three forms; RFC 9110 §5.6.7 requires recipients to accept all of them.
 * `now` decides the century of the obsolete two-digit rfc850 year.
 */
export function parseHttpDate(text: string, now: number = Date.now()): Date | null {
  return parseImfFixdate(text) ?? parseRfc850(text, now) ?? parseAsctime(text);
}

function parseImfFixdate(text: string): Date | null {
  const m = IMF_FIXDATE.exec(text);
  if (m === null) return null;
  return fromText(m[3], m[2], m[1], m[4], m[5], m[6]);
}

function parseAsctime(text: string): Date | null {
  const m = ASCTIME_DATE.exec(text);
  if (m === null) return null;
  return fromText(m[6], m[1], m[2]?.trim(), m[3], m[4], m[5]);
}

/** RFC 9110 §5.6.7: a two-digit year more than 50 years ahead means the most recent such past year. */
function parseRfc850(text: string, now: number): Date | null {
  const m = RFC850_DATE.exec(text);
  if (m === null) return null;
  const currentYear = new Date(now).getUTCFullYear();
  let year = Math.floor(currentYear / 100) * 100 + Number(m[3]);
  if (year > currentYear + 50) year -= 100;
  return fromText(String(year), m[2], m[1], m[4], m[5], m[6]);
}

function fromText(
  year: string | undefined,
  monthName: string | undefined,
  ...rest: (string | undefined)[]
): Date | null {
  const month = MONTHS.indexOf(monthName ?? '') + 1;
  if (month === 0 || year === undefined || rest.some((part) => part === undefined || part === '')) {
    return null;
  }
  const [day = 0, hour = 0, minute = 0, second = 0] = rest.map(Number);
  return toDate({ year: Number(year), month, day, hour, minute, second });
}

/** `null` unless the fields name a real instant: no 31 February, no hour 24, no leap second. */
function toDate(f: DateFields): Date | null {
  if (f.year < 1000) return null; // Date.UTC maps years 0..99 to 1900..1999
  const ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  const d = new Date(ms);
  const sameFields =
    d.getUTCFullYear() === f.year &&
    d.getUTCMonth() === f.month - 1 &&
    d.getUTCDate() === f.day &&
    d.getUTCHours() === f.hour &&
    d.getUTCMinutes() === f.minute &&
    d.getUTCSeconds() === f.second;
  return sameFields ? d : null;
}
