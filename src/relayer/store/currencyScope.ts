/**
 * What a repository needs to know of currencies (docs/CURRENCIES.md): the one currency a scoped
 * view (`RelayerStore.forCurrency`) reads and writes, or none for the unscoped store, and the
 * store's default currency that the unscoped store's creating calls without a record use.
 */

import { CURRENCY_CODE_PATTERN } from "../../protocol/schemas/common";

/** A currency's code as deployment records, APIs and the store name it ("USD", "EUR", "USDC"). */
const CURRENCY_CODE = new RegExp(CURRENCY_CODE_PATTERN);

/** The code, or throws: codes are written into migration 16's SQL and into every row. */
export function currencyCode(code: string): string {
  if (typeof code !== "string" || !CURRENCY_CODE.test(code)) {
    throw new Error(`Invalid currency code ${JSON.stringify(code)}: expected 2-12 of A-Z and 0-9, a letter first`);
  }
  return code;
}

/**
 * A lease or cursor name of one currency's chain jobs (`jobs`, the watcher's `escrow`): the name
 * itself for the default currency, so a store that served one currency keeps its names, and
 * `<name>:<code>` for any other (`jobs:EUR`). `currency` null: the default.
 */
export function currencyQualified(name: string, currency: string | null): string {
  return currency === null ? name : `${name}:${currencyCode(currency)}`;
}

/** When the opener names no default currency (tests, tools on a single-currency store). */
export const FALLBACK_CURRENCY = "USD";

export class CurrencyScope {
  /** `currency`: the view's code, or null for the unscoped store. */
  constructor(
    readonly currency: string | null,
    readonly defaultCurrency: string,
  ) {}

  static unscoped(defaultCurrency: string): CurrencyScope {
    return new CurrencyScope(null, currencyCode(defaultCurrency));
  }

  scopedTo(code: string): CurrencyScope {
    return new CurrencyScope(currencyCode(code), this.defaultCurrency);
  }

  /** The currency a row created without a record gets: the view's, else the store's default. */
  get forNew(): string {
    return this.currency ?? this.defaultCurrency;
  }

  /**
   * SQLite: the condition a view adds to a WHERE clause (` AND <column> = ?`) and its value; nothing
   * for the unscoped store. The one place a query's scoping is built.
   */
  sqlite(column = "currency"): { sql: string; values: string[] } {
    return this.currency === null ? { sql: "", values: [] } : { sql: ` AND ${column} = ?`, values: [this.currency] };
  }

  /** PostgreSQL: `sqlite`'s condition with the value as parameter `$n` (nothing, and no parameter, unscoped). */
  pg(n: number, column = "currency"): { sql: string; values: string[] } {
    return this.currency === null
      ? { sql: "", values: [] }
      : { sql: ` AND ${column} = $${n}`, values: [this.currency] };
  }

  /** The currency of a record to insert; throws if a view is given another currency's record. */
  accept(currency: string): string {
    if (this.currency !== null && currency !== this.currency) {
      throw new Error(`A ${this.currency} store view was given a ${currency} record to insert`);
    }
    return currencyCode(currency);
  }
}
