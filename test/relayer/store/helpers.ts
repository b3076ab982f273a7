import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  acceptedPayment,
  SignatureKind,
  type Hex,
  type PaymentRecord,
  type WebhookEndpointRecord,
} from "../../../src/relayer/domain";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";

/** A fresh store on a real file in its own temp directory; `cleanup` closes it and removes the directory. */
export async function tempStore(): Promise<{
  store: SqliteStore;
  file: string;
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-store-"));
  const file = path.join(dir, "relayer.sqlite");
  const store = await openSqliteStore(file);
  return {
    store,
    file,
    dir,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const hex32 = (n: number | bigint, prefix = ""): Hex =>
  `0x${prefix}${BigInt(n)
    .toString(16)
    .padStart(64 - prefix.length, "0")}` as Hex;

export const ADDRESS_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Hex;
export const ADDRESS_B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Hex;

export function makePayment(n: number, overrides: Partial<PaymentRecord> = {}): PaymentRecord {
  const payment = acceptedPayment({
    id: hex32(n, "ab"),
    currency: "USD",
    payer: ADDRESS_A,
    merchantId: 1n,
    amount: 1_000_000n + BigInt(n),
    orderRef: hex32(n, "0e"),
    nonce: BigInt(n),
    validAfter: 0n,
    deadline: 2_000_000_000n,
    hold: 7n * 86_400n,
    signature: `0x${"1b".repeat(65)}` as Hex,
    requestId: null,
    signatureKind: SignatureKind.Ecdsa,
    createdAt: 1_700_000_000_000 + n,
  });
  return { ...payment, ...overrides };
}

/** An enabled webhook endpoint of merchant 1 at a closed local port, with overrides. */
export function makeEndpoint(id: string, overrides: Partial<WebhookEndpointRecord> = {}): WebhookEndpointRecord {
  return {
    id,
    merchantId: 1n,
    url: "http://127.0.0.1:9/hook",
    secret: "s",
    createdAt: 1,
    disabledAt: null,
    ...overrides,
  };
}
