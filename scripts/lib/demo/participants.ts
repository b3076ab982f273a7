/**
 * The demo's people: a merchant registered on chain by the registrar and given an API key by the
 * relayer's operator route, and customers with fresh keys who get tokens minted and deposit them
 * into the escrow without gas (a signed EIP-3009 authorization the relayer submits), in every
 * currency the demo pays in. The merchant registers once: the registry is every escrow's.
 *
 * Fresh random keys every run: a demo on a reused chain never trips over the last run's nonces or
 * balances, and the customers visibly need no ETH.
 */
import { keccak256, stringToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  RelayerClient,
  depositAuthorization,
  fromViemAccount,
  signDepositAuthorization,
  tokenDomain,
  type Address,
  type TypedDataSigner,
} from "../../../src/sdk";
import { chainNow, checkAborted, receipt, type DemoContext, type DemoCurrency } from "./context";
import { formatBps } from "./format";

export interface DemoMerchant {
  id: bigint;
  /** Signs refunds (the owner key in the MerchantRegistry). */
  owner: PrivateKeyAccount;
  ownerSigner: TypedDataSigner;
  payout: Address;
  feeBps: bigint;
  /** The hold bounds it registered: each payment to it names its own hold within them. */
  minHold: number;
  maxHold: number;
  /** The relayer client with the merchant's API key. */
  api: RelayerClient;
  /** That key (sp_live_…): the demo prints it for signing in to the dashboard. */
  apiKey: string;
  registeredAtBlock: number;
}

export interface DemoCustomer {
  name: string;
  account: PrivateKeyAccount;
  signer: TypedDataSigner;
  address: Address;
}

export async function registerMerchant(
  ctx: DemoContext,
  terms: { feeBps: bigint; minHold: number; maxHold: number; metadata: string },
): Promise<DemoMerchant> {
  const owner = privateKeyToAccount(generatePrivateKey());
  const payout = privateKeyToAccount(generatePrivateKey()).address;
  const tx = await ctx.registry.registerMerchant(
    owner.address,
    payout,
    terms.feeBps,
    terms.minHold,
    terms.maxHold,
    keccak256(stringToBytes(terms.metadata)),
  );
  const mined = await receipt(ctx, tx.hash);
  const event = mined.logs
    .map((log) => ctx.registry.interface.parseLog(log))
    .find((parsed) => parsed?.name === "MerchantRegistered");
  if (!event) throw new Error(`registerMerchant ${tx.hash} emitted no MerchantRegistered`);
  const id = event.args.merchantId as bigint;
  ctx.log(
    `  merchant #${id} registered by the registrar ${ctx.record.deployer}: owner ${owner.address}, ` +
      `payout ${payout}, fee ${formatBps(terms.feeBps)}, holds ${terms.minHold} to ${terms.maxHold} s (tx ${tx.hash})`,
  );

  const key = await ctx.adminApi.createMerchantApiKey(id);
  ctx.log(`  API key ${key.id} issued by the relayer (POST /v1/admin/merchants/${id}/api-keys, admin token)`);
  return {
    id,
    owner,
    ownerSigner: fromViemAccount(owner),
    payout,
    feeBps: terms.feeBps,
    minHold: terms.minHold,
    maxHold: terms.maxHold,
    api: new RelayerClient({ baseUrl: ctx.endpoints.relayerUrl, apiKey: key.key }),
    apiKey: key.key,
    registeredAtBlock: mined.blockNumber,
  };
}

export function newCustomers(names: string[]): DemoCustomer[] {
  return names.map((name) => {
    const account = privateKeyToAccount(generatePrivateKey());
    return { name, account, signer: fromViemAccount(account), address: account.address };
  });
}

/** Lets the operator (account #0, the master minter) mint `total` of `currency`, keeping any allowance it has. */
async function ensureMinterAllowance(ctx: DemoContext, currency: DemoCurrency, total: bigint): Promise<void> {
  const minter = ctx.record.deployer;
  const { token } = currency;
  const [isMinter, allowance] = await Promise.all([token.isMinter(minter), token.minterAllowance(minter)]);
  if (isMinter && allowance >= total) return;
  const tx = await token.configureMinter(minter, (isMinter ? allowance : 0n) + total);
  await receipt(ctx, tx.hash);
  ctx.log(`  the master minter made ${minter} a minter of ${currency.format(total)} (tx ${tx.hash})`);
}

/**
 * In `currency`: mints `minted` to each customer, then deposits `deposited` of it into that
 * currency's escrow through the relayer, gasless.
 */
export async function fundCustomers(
  ctx: DemoContext,
  currency: DemoCurrency,
  customers: DemoCustomer[],
  amounts: { minted: bigint; deposited: bigint },
): Promise<void> {
  const { token, format } = currency;
  await ensureMinterAllowance(ctx, currency, amounts.minted * BigInt(customers.length));
  for (const c of customers) {
    checkAborted(ctx);
    const tx = await token.mint(c.address, amounts.minted);
    await receipt(ctx, tx.hash);
    ctx.log(`  minted ${format(amounts.minted)} to ${c.name} ${c.address} (tx ${tx.hash})`);
  }

  const domain = tokenDomain({ name: currency.tokenName, chainId: ctx.chainId, token: token.target as Address });
  const wall = BigInt(Math.floor(Date.now() / 1000));
  const chain = await chainNow(ctx);
  for (const c of customers) {
    checkAborted(ctx);
    // The token checks the window against block time, the relayer against its clock: start from the later.
    const authorization = depositAuthorization({
      from: c.address,
      escrow: currency.domain.verifyingContract,
      amount: amounts.deposited,
      now: chain > wall ? chain : wall,
    });
    const signature = await signDepositAuthorization(c.signer, { domain, authorization });
    // The escrow's domain in the body is what tells the relayer which currency's escrow to deposit into.
    const sent = await ctx.customerApi.deposit({ authorization, signature, domain: currency.domain });
    await receipt(ctx, sent.txHash);
    const account = await depositSeen(ctx, currency, c.address, amounts.deposited);
    ctx.log(
      `  ${c.name} deposited ${format(amounts.deposited)} without gas: signed EIP-3009, ` +
        `relayed by POST /v1/deposits (tx ${sent.txHash}); ${currency.code} escrow balance ${format(account.balance)}`,
    );
  }
}

/** The relayer credits a deposit once its watcher has applied the block: a poll or two after the receipt. */
const DEPOSIT_SEEN_TIMEOUT_MS = 15_000;
const DEPOSIT_SEEN_POLL_MS = 250;

/** The payer's account in `currency` once the relayer shows at least `amount` in it (or at the timeout). */
async function depositSeen(ctx: DemoContext, currency: DemoCurrency, address: Address, amount: bigint) {
  const deadline = Date.now() + DEPOSIT_SEEN_TIMEOUT_MS;
  for (;;) {
    const account = await ctx.customerApi.getAccount(address, { currency: currency.code });
    if (account.balance >= amount || Date.now() > deadline) return account;
    checkAborted(ctx);
    await new Promise((resolve) => setTimeout(resolve, DEPOSIT_SEEN_POLL_MS));
  }
}
