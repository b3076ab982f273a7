import { keccak_256 } from "@noble/hashes/sha3.js";
import { keccak256 } from "../keccak";
import { ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION, type Payment, type Withdrawal } from "../../sdk/typedData";
import type { Hex } from "../domain";

/**
 * EIP-712 digests of what the escrow accepts by signature: the struct hash over fixed ABI words,
 * then one keccak over the precomputed "\x19\x01" ‖ domainSeparator prefix. viem's `hashTypedData`
 * re-derives type strings and the domain on every call; this is about 8x faster here (~23,000 vs
 * ~3,000 payment ids/s on one loaded core), which matters at thousands of payments per second.
 * test/relayer/api/digest.test.ts checks it against src/sdk/paymentId.ts.
 */

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const keccakText = (text: string): Uint8Array => keccak_256(utf8(text));

const DOMAIN_TYPEHASH = keccakText(
  "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
);
const PAYMENT_TYPEHASH = keccakText(
  "Payment(address payer,uint64 merchantId,uint256 amount,bytes32 orderRef,uint64 nonce,uint48 validAfter,uint48 deadline)",
);
const WITHDRAWAL_TYPEHASH = keccakText(
  "Withdrawal(address payer,address to,uint256 amount,uint64 nonce,uint48 deadline)",
);
const CONFIRMATION_TYPEHASH = keccakText("Confirmation(bytes32 paymentId,uint48 deadline)");
const REFUND_TYPEHASH = keccakText("Refund(bytes32 paymentId,uint256 totalRefund,uint48 deadline)");
const DISPUTE_TYPEHASH = keccakText("Dispute(bytes32 paymentId,uint48 deadline)");

/** A 32-byte ABI word of a non-negative integer below 2^256 (callers check ranges first). */
function writeUint(target: Uint8Array, offset: number, value: bigint): void {
  target.set(Buffer.from(value.toString(16).padStart(64, "0"), "hex"), offset);
}

/** A 32-byte ABI word of a 0x-prefixed hex value (address or bytes32), right-aligned. */
function writeHex(target: Uint8Array, offset: number, value: Hex, bytes: number): void {
  target.set(Buffer.from(value.slice(2), "hex"), offset + 32 - bytes);
}

export const toHex = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString("hex")}`;

function words(typeHash: Uint8Array, count: number): Buffer {
  const buffer = Buffer.alloc(32 * (count + 1));
  buffer.set(typeHash, 0);
  return buffer;
}

/** The escrow's EIP-712 domain, precomputed once per (chain, escrow). */
export class EscrowDigester {
  readonly domainSeparator: Uint8Array;
  private readonly prefix: Buffer;

  constructor(
    readonly chainId: bigint,
    readonly escrow: Hex,
  ) {
    const domain = words(DOMAIN_TYPEHASH, 4);
    domain.set(keccakText(ESCROW_DOMAIN_NAME), 32);
    domain.set(keccakText(ESCROW_DOMAIN_VERSION), 64);
    writeUint(domain, 96, chainId);
    writeHex(domain, 128, escrow, 20);
    this.domainSeparator = keccak_256(domain);
    // "\x19\x01" ‖ domainSeparator ‖ structHash: only the last 32 bytes change per message.
    this.prefix = Buffer.alloc(66);
    this.prefix.set([0x19, 0x01], 0);
    this.prefix.set(this.domainSeparator, 2);
  }

  private digest(structHash: Uint8Array): Uint8Array {
    const message = Buffer.allocUnsafe(66);
    message.set(this.prefix, 0);
    message.set(structHash, 34);
    return keccak256(message);
  }

  /** The payment's id (the escrow's `paymentId`), as bytes. */
  payment(p: Payment): Uint8Array {
    const data = words(PAYMENT_TYPEHASH, 7);
    writeHex(data, 32, p.payer, 20);
    writeUint(data, 64, p.merchantId);
    writeUint(data, 96, p.amount);
    writeHex(data, 128, p.orderRef, 32);
    writeUint(data, 160, p.nonce);
    writeUint(data, 192, p.validAfter);
    writeUint(data, 224, p.deadline);
    return this.digest(keccak256(data));
  }

  withdrawal(w: Withdrawal): Uint8Array {
    const data = words(WITHDRAWAL_TYPEHASH, 5);
    writeHex(data, 32, w.payer, 20);
    writeHex(data, 64, w.to, 20);
    writeUint(data, 96, w.amount);
    writeUint(data, 128, w.nonce);
    writeUint(data, 160, w.deadline);
    return this.digest(keccak256(data));
  }

  confirmation(paymentId: Hex, deadline: bigint): Uint8Array {
    return this.idAndDeadline(CONFIRMATION_TYPEHASH, paymentId, deadline);
  }

  dispute(paymentId: Hex, deadline: bigint): Uint8Array {
    return this.idAndDeadline(DISPUTE_TYPEHASH, paymentId, deadline);
  }

  refund(paymentId: Hex, totalRefund: bigint, deadline: bigint): Uint8Array {
    const data = words(REFUND_TYPEHASH, 3);
    writeHex(data, 32, paymentId, 32);
    writeUint(data, 64, totalRefund);
    writeUint(data, 96, deadline);
    return this.digest(keccak256(data));
  }

  private idAndDeadline(typeHash: Uint8Array, paymentId: Hex, deadline: bigint): Uint8Array {
    const data = words(typeHash, 2);
    writeHex(data, 32, paymentId, 32);
    writeUint(data, 64, deadline);
    return this.digest(keccak256(data));
  }
}

/** keccak256 of `bytes`, as hex (e.g. to turn a merchant's text order reference into bytes32). */
export const keccakHex = (bytes: Uint8Array): Hex => toHex(keccak_256(bytes));
export const keccakUtf8 = (text: string): Hex => keccakHex(utf8(text));
