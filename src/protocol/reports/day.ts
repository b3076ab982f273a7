/**
 * Report days: a calendar date (YYYY-MM-DD) in an IANA time zone (UTC by default). An event belongs
 * to the day its block's time falls on in that zone; the zone rules come from Intl (the ICU data
 * Node ships), never from offsets computed here.
 */

export const DEFAULT_TIME_ZONE = "UTC";

/** Why a date or zone was refused: `field` names the query parameter. */
export class ReportDayError extends RangeError {
  constructor(
    readonly field: "date" | "tz",
    message: string,
  ) {
    super(message);
    this.name = "ReportDayError";
  }
}

export interface ReportDay {
  date: string;
  timeZone: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      // en-CA formats a date as YYYY-MM-DD.
      f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    } catch {
      throw new ReportDayError("tz", `unknown time zone "${timeZone}": give an IANA name such as Asia/Shanghai`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Checks a date and zone: a real calendar date (2026-02-30 is not) and a zone Intl knows. */
export function reportDay(date: string, timeZone: string = DEFAULT_TIME_ZONE): ReportDay {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const parsed = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !parsed || parsed.toISOString().slice(0, 10) !== date || Number(m[1]) < 1970) {
    throw new ReportDayError("date", `date must be a calendar date YYYY-MM-DD, not "${date}"`);
  }
  const canonical = formatterFor(timeZone).resolvedOptions().timeZone;
  return { date, timeZone: canonical };
}

/** The date (YYYY-MM-DD) of a unix time in `timeZone`. */
export function localDate(timestamp: number, timeZone: string): string {
  return formatterFor(timeZone).format(new Date(timestamp * 1000));
}

/** ISO 8601 UTC time of a unix time, to the second. */
export const isoTime = (timestamp: number): string => new Date(timestamp * 1000).toISOString().replace(".000Z", "Z");
