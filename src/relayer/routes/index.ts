import type { RouteModule } from "../http/context";
import createMerchantApiKey from "./admin/createMerchantApiKey";
import confirmPayment from "./customer/confirmPayment";
import createDeposit from "./customer/createDeposit";
import createOneOffPayment from "./customer/createOneOffPayment";
import createPayment from "./customer/createPayment";
import createPaymentBatch from "./customer/createPaymentBatch";
import createWithdrawal from "./customer/createWithdrawal";
import disputePayment from "./customer/disputePayment";
import escalateRefundRequest from "./customer/escalateRefundRequest";
import extendHold from "./customer/extendHold";
import requestRefund from "./customer/requestRefund";
import getAccount from "./customer/getAccount";
import getPayment from "./customer/getPayment";
import getMerchantCredit from "./customer/getMerchantCredit";
import listCurrencies from "./customer/listCurrencies";
import createPaymentRequest from "./merchant/createPaymentRequest";
import createRefund from "./merchant/createRefund";
import rejectRefundRequest from "./merchant/rejectRefundRequest";
import createWebhook from "./merchant/createWebhook";
import deleteWebhook from "./merchant/deleteWebhook";
import disableWebhook from "./merchant/disableWebhook";
import enableWebhook from "./merchant/enableWebhook";
import listWebhooks from "./merchant/listWebhooks";
import listWebhookDeliveries from "./merchant/listWebhookDeliveries";
import getBalance from "./merchant/getBalance";
import getReport from "./merchant/getReport";
import getMerchantPayment from "./merchant/getPayment";
import getPaymentTimeline from "./merchant/getPaymentTimeline";
import getRefundTypedData from "./merchant/getRefundTypedData";
import getRefundRejectionTypedData from "./merchant/getRefundRejectionTypedData";
import listPayments from "./merchant/listPayments";
import listSettlements from "./merchant/listSettlements";
import revokeApiKey from "./merchant/revokeApiKey";
import rotateApiKey from "./merchant/rotateApiKey";
import createFxQuote from "./fx/createQuote";
import createFxPayment from "./fx/createFxPayment";
import health from "./ops/health";
import metrics from "./ops/metrics";
import openapi from "./ops/openapi";
import ready from "./ops/ready";

/** Every route of the API, one module each. */
export const ROUTES: readonly RouteModule[] = [
  createPayment,
  createPaymentBatch,
  createOneOffPayment,
  getPayment,
  confirmPayment,
  disputePayment,
  extendHold,
  requestRefund,
  escalateRefundRequest,
  createDeposit,
  createWithdrawal,
  getAccount,
  createPaymentRequest,
  listPayments,
  getMerchantPayment,
  getPaymentTimeline,
  getRefundTypedData,
  createRefund,
  getRefundRejectionTypedData,
  rejectRefundRequest,
  listSettlements,
  getBalance,
  getReport,
  getMerchantCredit,
  listCurrencies,
  createWebhook,
  listWebhooks,
  listWebhookDeliveries,
  deleteWebhook,
  disableWebhook,
  enableWebhook,
  rotateApiKey,
  revokeApiKey,
  createMerchantApiKey,
  createFxQuote,
  createFxPayment,
  health,
  ready,
  metrics,
  openapi,
];
