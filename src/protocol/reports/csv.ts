/**
 * CSV as the reports write it: RFC 4180 (csv-stringify: CRLF line ends, fields quoted when they
 * hold a comma, quote or line break, quotes doubled), a header row, and every text cell defended
 * against formula injection as OWASP recommends: a cell starting with = + - @ tab or CR is prefixed
 * with a single quote, so a spreadsheet shows it as text instead of running it.
 */
import { stringify } from "csv-stringify/sync";

export type CsvCell = string | bigint | number | boolean | null;

const FORMULA_START = /^[=+\-@\t\r]/;

/** A cell as text: integers in decimal, null as empty, text defused when a spreadsheet would run it. */
export function csvCell(value: CsvCell): string {
  if (value === null) return "";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`report cells hold integers, not ${value}`);
    return value.toString();
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The file: the header, then one line per row, each cell through {@link csvCell}. */
export function toCsv(columns: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  for (const row of rows) {
    if (row.length !== columns.length) throw new RangeError(`a row has ${row.length} cells, not ${columns.length}`);
  }
  return stringify([[...columns], ...rows.map((row) => row.map(csvCell))], { record_delimiter: "windows" });
}
