/** Merchant reports (CSV files of a day) and the public credit record (docs/REPORTS.md). */
import { Type, type Static } from "@sinclair/typebox";
import { Nullable } from "./common";

export const ReportParams = Type.Object({
  kind: Type.Union([Type.Literal("transactions"), Type.Literal("settlements"), Type.Literal("summary")], {
    description: "Which file",
  }),
});

export const ReportQuery = Type.Object(
  {
    date: Type.String({ maxLength: 10, description: "The day, YYYY-MM-DD (checked: invalid_date)" }),
    tz: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "IANA time zone of the day, e.g. Asia/Shanghai; default UTC (checked: invalid_time_zone)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReportCsv = Type.String({ description: "RFC 4180 CSV with a header row (columns in docs/REPORTS.md)" });

const Count = Type.Integer({ minimum: 0 });
const Bps = Type.Integer({ minimum: 0, maximum: 10_000, description: "Basis points, rounded down" });
const Amount = Type.String({ pattern: "^[0-9]+$", description: "Token units (6 decimals)" });

export const CreditView = Type.Object({
  merchantId: Type.String(),
  token: Type.String({ description: "Settlement token address (the currency)" }),
  asOfBlock: Type.String(),
  asOf: Type.String({ format: "date-time" }),
  firstEscrowAt: Nullable(Type.String({ format: "date-time" })),
  ageDays: Count,
  payments: Count,
  volume: Amount,
  periodDays: Count,
  periods: Type.Array(
    Type.Object({
      start: Type.String({ format: "date-time" }),
      end: Type.String({ format: "date-time" }),
      payments: Count,
      volume: Amount,
    }),
  ),
  refundedPayments: Count,
  refundRateBps: Bps,
  refundedAmount: Amount,
  disputedPayments: Count,
  disputeRateBps: Bps,
  disputes: Type.Object({ open: Count, forMerchant: Count, forPayer: Count, split: Count, expired: Count }),
  confirmedEarly: Count,
  earlyConfirmShareBps: Bps,
  timeToSettle: Type.Object({ paidPayments: Count, medianSeconds: Nullable(Count) }),
});
export type CreditView = Static<typeof CreditView>;
