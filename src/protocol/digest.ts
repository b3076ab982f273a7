// Files, not the index: signature worker threads load this, and should load little.
import { hexToBytes, keccak256 } from "./hash";
import { TYPEHASHES, escrowDomainSeparator, type Payment, type Withdrawal } from "./typedData";
import type { Hex } from "./types";

/**
 * EIP-712 digests of what the escrow accepts by signature: the struct hash over fixed ABI words,
 * then one keccak over the precomputed "\x19\x01" ‖ domainSeparator prefix. viem's
 * `hashTypedData` re-derives type strings and the domain on every call and hashes in JavaScript,
 * which is too slow for intake at thousands of payments per second and for every id the report
 * builders recompute. test/protocol/digest.test.ts checks each digest against viem and the escrow.
 */

const PAYMENT_TYPEHASH = hexToBytes(TYPEHASHES.Payment);
const WITHDRAWAL_TYPEHASH = hexToBytes(TYPEHASHES.Withdrawal);
const CONFIRMATION_TYPEHASH = hexToBytes(TYPEHASHES.Confirmation);
const REFUND_TYPEHASH = hexToBytes(TYPEHASHES.Refund);
const DISPUTE_TYPEHASH = hexToBytes(TYPEHASHES.Dispute);

/** A 32-byte ABI word of a non-negative integer below 2^256 (callers check ranges first). */
function writeUint(target: Uint8Array, offset: number, value: bigint): void {
  target.set(Buffer.from(value.toString(16).padStart(64, "0"), "hex"), offset);
}

/** A 32-byte ABI word of a 0x-prefixed hex value (address or bytes32), right-aligned. */
function writeHex(target: Uint8Array, offset: number, value: Hex, bytes: number): void {
  target.set(Buffer.from(value.slice(2), "hex"), offset + 32 - bytes);
}

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
    this.domainSeparator = escrowDomainSeparator(chainId, escrow);
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
    const data = words(PAYMENT_TYPEHASH, 8);
    writeHex(data, 32, p.payer, 20);
    writeUint(data, 64, p.merchantId);
    writeUint(data, 96, p.amount);
    writeHex(data, 128, p.orderRef, 32);
    writeUint(data, 160, p.nonce);
    writeUint(data, 192, p.validAfter);
    writeUint(data, 224, p.deadline);
    writeUint(data, 256, p.hold);
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
