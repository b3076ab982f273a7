/**
 * The signer adapters: an ethers Wallet, a viem LocalAccount, a viem WalletClient with a local
 * account, a viem WalletClient over JSON-RPC (the node signs, eth_signTypedData_v4) and Hardhat's
 * ethers signer produce the same canonical signatures for the same key and message, the ones the
 * test fixtures (plain ethers) produce, and the contracts accept them.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { createWalletClient, custom, http, recoverTypedDataAddress, type Hex as ViemHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  BatchTree,
  StablePayError,
  confirmationTypes,
  depositAuthorization,
  escrowDomain,
  fromEthersSigner,
  fromViemAccount,
  normalizeSignature,
  ONE_OFF_NONCE,
  oneOffAuthorization,
  receiveWithAuthorizationTypes,
  paymentFromRequest,
  paymentId,
  paymentTypes,
  pickNonce,
  signConfirmation,
  signDepositAuthorization,
  signDispute,
  signOneOffPayment,
  signPayment,
  signRefund,
  signWithdrawal,
  tokenDomain,
  type Address,
  type Hex,
  type Payment,
  type PaymentRequestTypedData,
  type TypedDataSigner,
} from "../../src/sdk";
import {
  deployEscrowFixture,
  signConfirmation as fixtureConfirmation,
  signPayment as fixturePayment,
  usd,
} from "../escrow/fixtures";
import { startRpcBridge } from "../relayer/helpers/chain";
import { SECP256K1_N, encodeBatch } from "../../src/protocol";

const ESCROW = "0x1111111111111111111111111111111111111111" as Address;
const TOKEN = "0x2222222222222222222222222222222222222222" as Address;
const domain = escrowDomain(31337n, ESCROW);
const token = tokenDomain({ name: "USD Coin", chainId: 31337n, token: TOKEN });
const ID = `0x${"ab".repeat(32)}` as Hex;
/** A transport that fails every call: a wallet client with a local account signs without one. */
const offline = custom({
  request: async () => {
    throw new Error("no RPC in this test");
  },
});

const payment = (payer: Address): Payment => ({
  payer,
  merchantId: 7n,
  amount: 123_456_789n,
  orderRef: `0x${"cd".repeat(32)}`,
  nonce: 3n,
  validAfter: 0n,
  hold: 259_200n,
  deadline: 2_000_000_000n,
});

/** Every SDK signature of one account, in a fixed order. */
async function everySignature(signer: TypedDataSigner): Promise<Hex[]> {
  const address = await signer.getAddress();
  const withdrawal = { payer: address, to: TOKEN, amount: 5n, nonce: 4n, deadline: 2_000_000_000n };
  const authorization = depositAuthorization({
    from: address,
    escrow: ESCROW,
    amount: 9n,
    validBefore: 2_000_000_000n,
    salt: `0x${"ef".repeat(32)}`,
  });
  return [
    await signPayment(signer, { domain, payment: payment(address) }),
    await signWithdrawal(signer, { domain, withdrawal }),
    await signConfirmation(signer, { domain, paymentId: ID, deadline: 1_900_000_000n }),
    await signRefund(signer, { domain, paymentId: ID, totalRefund: 10n, deadline: 1_900_000_000n }),
    await signDispute(signer, { domain, paymentId: ID, deadline: 1_900_000_000n }),
    await signDepositAuthorization(signer, { domain: token, authorization }),
    (await signOneOffPayment(signer, { domain, tokenDomain: token, payment: payment(address) })).signature,
  ];
}

describe("SDK signers", function () {
  it("viem (LocalAccount, WalletClient) and ethers (Wallet) sign every message identically for the same key", async function () {
    for (let i = 0; i < 3; i++) {
      const key = generatePrivateKey();
      const account = privateKeyToAccount(key);
      const fromEthers = await everySignature(fromEthersSigner(new Wallet(key)));
      const fromViem = await everySignature(fromViemAccount(account));
      const fromClient = await everySignature(fromViemAccount(createWalletClient({ account, transport: offline })));
      expect(fromViem).to.deep.equal(fromEthers);
      expect(fromClient).to.deep.equal(fromEthers);
      for (const signature of fromEthers) expect(signature).to.match(/^0x[0-9a-f]{128}(1b|1c)$/);
      const recovered = await recoverTypedDataAddress({
        domain,
        types: paymentTypes,
        primaryType: "Payment",
        message: { ...payment(account.address), validAfter: 0, deadline: 2_000_000_000, hold: 259_200 },
        signature: fromEthers[0] as ViemHex,
      });
      expect(recovered).to.equal(account.address);
    }
  });

  it("a JSON-RPC wallet client (the node signs) matches Hardhat's ethers signer and the test fixtures", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const customer = f.customers[0];
    const realDomain = escrowDomain(f.chainId, (await f.escrow.getAddress()) as Address);
    const bridge = await startRpcBridge();
    try {
      const wallet = createWalletClient({ transport: http(bridge.url) });
      const rpcSigner = fromViemAccount(wallet, { address: customer.address as Address });
      const ethersSigner = fromEthersSigner(customer);
      const p = payment(customer.address as Address);
      const viaRpc = await signPayment(rpcSigner, { domain: realDomain, payment: p });
      expect(viaRpc).to.equal(await signPayment(ethersSigner, { domain: realDomain, payment: p }));
      expect(viaRpc).to.equal((await fixturePayment(f, customer, p)).toLowerCase());
      const confirmation = await signConfirmation(rpcSigner, { domain: realDomain, paymentId: ID, deadline: 99n });
      expect(confirmation).to.equal((await fixtureConfirmation(f, customer, ID, 99n)).toLowerCase());
      // A wallet client without a hoisted account signs with the first address the node reports.
      const first = (await ethers.getSigners())[0];
      expect(await fromViemAccount(wallet).getAddress()).to.equal(first.address);
    } finally {
      await bridge.close();
    }
  });

  it("the token takes an SDK-signed deposit authorization; the escrow computes the same payment id and escrows an SDK-signed payment", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const account = privateKeyToAccount(generatePrivateKey());
    const escrow = (await f.escrow.getAddress()) as Address;
    await f.token.connect(f.admin).mint(account.address, usd(10));
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const authorization = depositAuthorization({ from: account.address, escrow, amount: usd(10), now });
    const signature = await signDepositAuthorization(fromViemAccount(account), {
      domain: tokenDomain({
        name: await f.token.name(),
        chainId: f.chainId,
        token: (await f.token.getAddress()) as Hex,
      }),
      authorization,
    });
    await f.escrow
      .connect(f.relayer)
      .depositWithAuthorization(
        authorization.from,
        authorization.value,
        authorization.validAfter,
        authorization.validBefore,
        authorization.salt,
        signature,
      );
    expect(await f.escrow.balanceOf(account.address)).to.equal(usd(10));

    // A payment signed through the SDK: the escrow computes the same id and escrows it.
    const realDomain = escrowDomain(f.chainId, escrow);
    // The hold merchant 1 registered as its shortest: within its bounds, so the escrow takes it.
    const [, , minHold] = await f.registry.terms(1n);
    const p = { ...payment(account.address), merchantId: 1n, amount: usd(4), deadline: now + 3_600n, hold: minHold };
    const paymentSignature = await signPayment(fromViemAccount(account), { domain: realDomain, payment: p });
    const id = paymentId(realDomain, p);
    expect(await f.escrow.paymentId(p)).to.equal(id);
    const batchId = (await f.escrow.batchCount()) + 1n;
    await f.escrow.connect(f.relayer).payBatch(encodeBatch([{ payment: p, signature: paymentSignature }]));
    expect(await f.escrow.batchRoot(batchId)).to.equal(new BatchTree([id]).root);
    expect(await f.escrow.balanceOf(account.address)).to.equal(usd(6));
  });

  it("a one-off payment signed by a viem account or an ethers signer: its authorization is bound to the payment id, and the escrow takes it from the wallet", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const escrow = (await f.escrow.getAddress()) as Address;
    const realDomain = escrowDomain(f.chainId, escrow);
    const realToken = tokenDomain({
      name: await f.token.name(),
      chainId: f.chainId,
      token: (await f.token.getAddress()) as Hex,
    });
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const viemAccount = privateKeyToAccount(generatePrivateKey());
    const ethersWallet = Wallet.createRandom();
    const items = [];
    for (const [signer, address] of [
      [fromViemAccount(viemAccount), viemAccount.address],
      [fromEthersSigner(ethersWallet), ethersWallet.address as Address],
    ] as const) {
      await f.token.connect(f.admin).mint(address, usd(10));
      // Any nonce given is replaced by ONE_OFF_NONCE.
      const [, , minHold] = await f.registry.terms(1n);
      const p = {
        ...payment(address),
        merchantId: 1n,
        amount: usd(4),
        nonce: 5n,
        deadline: now + 3_600n,
        hold: minHold,
      };
      const signed = await signOneOffPayment(signer, { domain: realDomain, tokenDomain: realToken, payment: p });
      expect(signed.payment.nonce).to.equal(ONE_OFF_NONCE);
      expect(signed.id).to.equal(paymentId(realDomain, signed.payment));
      expect(await f.escrow.paymentId(signed.payment)).to.equal(signed.id);
      expect(signed.authorization).to.deep.equal(oneOffAuthorization(escrow, signed.payment, signed.id));
      const recovered = await recoverTypedDataAddress({
        domain: realToken,
        types: receiveWithAuthorizationTypes,
        primaryType: "ReceiveWithAuthorization",
        message: signed.authorization,
        signature: signed.signature as ViemHex,
      });
      expect(recovered).to.equal(address);
      items.push({ payment: signed.payment, signature: signed.signature, id: signed.id, address });
    }
    const batchId = (await f.escrow.batchCount()) + 1n;
    await f.escrow.connect(f.relayer).payBatchWithAuthorization(encodeBatch(items));
    expect(await f.escrow.batchRoot(batchId)).to.equal(new BatchTree(items.map((i) => i.id)).root);
    for (const { address } of items) {
      expect(await f.token.balanceOf(address)).to.equal(usd(6));
      expect(await f.escrow.balanceOf(address)).to.equal(0n);
    }
  });

  it("normalizes v 0/1 and high-s signatures to the canonical form; keeps ERC-1271 blobs", async function () {
    const key = generatePrivateKey();
    const signer = fromViemAccount(privateKeyToAccount(key));
    const canonical = await signConfirmation(signer, { domain, paymentId: ID, deadline: 1n });
    const r = canonical.slice(2, 66);
    const s = BigInt(`0x${canonical.slice(66, 130)}`);
    const v = parseInt(canonical.slice(130), 16);
    const yParity = `0${v - 27}`;
    expect(normalizeSignature(`0x${r}${s.toString(16).padStart(64, "0")}${yParity}`)).to.equal(canonical);
    const highS = (SECP256K1_N - s).toString(16).padStart(64, "0");
    const flipped = v === 27 ? "1c" : "1b";
    expect(normalizeSignature(`0x${r}${highS}${flipped}`.toUpperCase().replace("0X", "0x"))).to.equal(canonical);

    // A wallet that returns either non-canonical form still yields the canonical signature.
    const sloppy: TypedDataSigner = {
      getAddress: signer.getAddress,
      signTypedData: async () => `0x${r}${highS}0${v === 27 ? 1 : 0}` as Hex,
    };
    expect(await signConfirmation(sloppy, { domain, paymentId: ID, deadline: 1n })).to.equal(canonical);
    const blob = `0x${"12".repeat(100)}`;
    expect(normalizeSignature(blob)).to.equal(blob);
    expect(() => normalizeSignature("nothex")).to.throw(StablePayError);
    expect(() => normalizeSignature(`0x${r}${highS}05`)).to.throw(StablePayError);
    const recovered = await recoverTypedDataAddress({
      domain,
      types: confirmationTypes,
      primaryType: "Confirmation",
      message: { paymentId: ID, deadline: 1 },
      signature: canonical as ViemHex,
    });
    expect(recovered).to.equal(await signer.getAddress());
  });

  it("refuses to sign for another account (signer_mismatch)", async function () {
    const signer = fromViemAccount(privateKeyToAccount(generatePrivateKey()));
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    for (const attempt of [
      () => signPayment(signer, { domain, payment: payment(stranger) }),
      () =>
        signWithdrawal(signer, {
          domain,
          withdrawal: { payer: stranger, to: stranger, amount: 1n, nonce: 0n, deadline: 1n },
        }),
      () =>
        signDepositAuthorization(signer, {
          domain: token,
          authorization: depositAuthorization({ from: stranger, escrow: ESCROW, amount: 1n }),
        }),
      () => signOneOffPayment(signer, { domain, tokenDomain: token, payment: payment(stranger) }),
    ]) {
      try {
        await attempt();
        expect.fail("expected signer_mismatch");
      } catch (error) {
        expect(error).to.be.instanceOf(StablePayError);
        expect((error as StablePayError).code).to.equal("signer_mismatch");
      }
    }
  });

  describe("payment requests and nonces", function () {
    const typedData: PaymentRequestTypedData = {
      domain: { name: "StablePay Escrow", version: "1", chainId: 31337, verifyingContract: ESCROW },
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        Payment: paymentTypes.Payment.map((f) => ({ ...f })),
      },
      primaryType: "Payment",
      message: {
        payer: null,
        merchantId: "4",
        amount: "2500000",
        orderRef: `0x${"cd".repeat(32)}`,
        nonce: null,
        validAfter: "0",
        deadline: "1900000000",
        hold: 864_000,
      },
    };
    const payer = "0x3333333333333333333333333333333333333333" as Address;

    it("paymentFromRequest fills payer and nonce and checks the domain it is asked to expect", function () {
      const prepared = paymentFromRequest({ id: "req_x", typedData }, { payer, nonce: 5n });
      expect(prepared.requestId).to.equal("req_x");
      expect(prepared.domain).to.deep.equal(domain);
      expect(prepared.payment).to.deep.equal({
        payer,
        merchantId: 4n,
        amount: 2_500_000n,
        orderRef: `0x${"cd".repeat(32)}`,
        nonce: 5n,
        validAfter: 0n,
        deadline: 1_900_000_000n,
        hold: 864_000n,
      });
      const codeOf = (fn: () => unknown) => {
        try {
          fn();
        } catch (error) {
          return (error as StablePayError).code;
        }
        return null;
      };
      expect(
        codeOf(() => paymentFromRequest({ id: "r", typedData }, { payer, nonce: 0n, expect: { chainId: 1 } })),
      ).to.equal("wrong_domain");
      expect(
        codeOf(() => paymentFromRequest({ id: "r", typedData }, { payer, nonce: 0n, expect: { escrow: TOKEN } })),
      ).to.equal("wrong_domain");
      expect(
        codeOf(() =>
          paymentFromRequest({ id: "r", typedData }, { payer, nonce: 0n, expect: { chainId: 31337n, escrow: ESCROW } }),
        ),
      ).to.equal(null);
      const renamed = { ...typedData, domain: { ...typedData.domain, name: "Evil Escrow" } };
      expect(codeOf(() => paymentFromRequest({ id: "r", typedData: renamed }, { payer, nonce: 0n }))).to.equal(
        "wrong_domain",
      );
      const reordered = {
        ...typedData,
        types: { ...typedData.types, Payment: [...typedData.types.Payment].reverse() },
      };
      expect(codeOf(() => paymentFromRequest({ id: "r", typedData: reordered }, { payer, nonce: 0n }))).to.equal(
        "invalid_argument",
      );
    });

    it("pickNonce takes the lowest free nonce, skips excluded ones, and fails with no_free_nonce", function () {
      expect(pickNonce({ nextNonces: [2n, 3n, 4n] })).to.equal(2n);
      expect(pickNonce({ nextNonces: [2n, 3n, 4n] }, [2n, 3n])).to.equal(4n);
      expect(() => pickNonce({ nextNonces: [] }))
        .to.throw(StablePayError)
        .with.property("code", "no_free_nonce");
    });
  });
});
