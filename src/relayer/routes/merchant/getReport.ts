import { ReportCsv, ReportParams, ReportQuery } from "../../../protocol/schemas";
import { reportCsv, reportDay, ReportDayError, type ReportDay } from "../../../protocol/reports";
import { ApiError } from "../../errors";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";

/**
 * GET /v1/merchant/reports/:kind?date=YYYY-MM-DD[&tz=Area/City] — the merchant's reconciliation
 * file of a day (transactions, settlements or summary) as CSV, built from the escrow's events up to
 * the report index's safe block (store reads only, no node call) by the module the auditor rebuilds
 * it with (src/protocol/reports), so the two are byte-for-byte equal.
 */
export default defineRoute(
  "GET /v1/merchant/reports/:kind",
  "Download a reconciliation file (CSV) of one day",
  {
    auth: "merchant",
    params: ReportParams,
    querystring: ReportQuery,
    response: { 200: { content: { "text/csv": { schema: ReportCsv } } } },
  },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    let day: ReportDay;
    try {
      day = reportDay(request.query.date, request.query.tz);
    } catch (e) {
      if (!(e instanceof ReportDayError)) throw e;
      throw new ApiError(e.field === "date" ? "invalid_date" : "invalid_time_zone", e.message, { field: e.field });
    }
    const { token, events, orderRefs } = await ctx.reports.events(merchantId);
    const csv = reportCsv(request.params.kind, { merchantId, token, events, orderRefs }, day);
    const name = `stablepay-${request.params.kind}-merchant-${merchantId}-${day.date}.csv`;
    return reply
      .header("content-type", "text/csv; charset=utf-8")
      .header("content-disposition", `attachment; filename="${name}"`)
      .header("cache-control", "no-store")
      .send(csv);
  },
);
