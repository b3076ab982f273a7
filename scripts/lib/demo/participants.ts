/**
 * The demo's people: a merchant registered on chain by the registrar and given an API key by the
 * relayer's operator route, and customers with fresh keys who get tokens minted and deposit them
 * into the escrow without gas (a signed EIP-3009 authorization the relayer submits).
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
import { chainNow, checkAborted, receipt, type DemoContext } from "./context";
import { formatBps, formatToken } from "./format";

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

/** Lets the operator (account #0, the master minter) mint `total`, keeping any allowance it has. */
async function ensureMinterAllowance(ctx: DemoContext, total: bigint): Promise<void> {
  const minter = ctx.record.deployer;
  const [isMinter, allowance] = await Promise.all([ctx.token.isMinter(minter), ctx.token.minterAllowance(minter)]);
  if (isMinter && allowance >= total) return;
  const tx = await ctx.token.configureMinter(minter, (isMinter ? allowance : 0n) + total);
  await receipt(ctx, tx.hash);
  ctx.log(`  the master minter made ${minter} a minter of ${formatToken(total, ctx.symbol)} (tx ${tx.hash})`);
}

/** Mints `minted` to each customer, then deposits `deposited` of it through the relayer, gasless. */
export async function fundCustomers(
  ctx: DemoContext,
  customers: DemoCustomer[],
  amounts: { minted: bigint; deposited: bigint },
): Promise<void> {
  await ensureMinterAllowance(ctx, amounts.minted * BigInt(customers.length));
  for (const c of customers) {
    checkAborted(ctx);
    const tx = await ctx.token.mint(c.address, amounts.minted);
    await receipt(ctx, tx.hash);
    ctx.log(`  minted ${formatToken(amounts.minted, ctx.symbol)} to ${c.name} ${c.address} (tx ${tx.hash})`);
  }

  const domain = tokenDomain({ name: ctx.tokenName, chainId: ctx.chainId, token: ctx.token.target as Address });
  const wall = BigInt(Math.floor(Date.now() / 1000));
  const chain = await chainNow(ctx);
  for (const c of customers) {
    checkAborted(ctx);
    // The token checks the window against block time, the relayer against its clock: start from the later.
    const authorization = depositAuthorization({
      from: c.address,
      escrow: ctx.domain.verifyingContract,
      amount: amounts.deposited,
      now: chain > wall ? chain : wall,
    });
    const signature = await signDepositAuthorization(c.signer, { domain, authorization });
    const sent = await ctx.customerApi.deposit({ authorization, signature, domain: ctx.domain });
    await receipt(ctx, sent.txHash);
    const account = await ctx.customerApi.getAccount(c.address);
    ctx.log(
      `  ${c.name} deposited ${formatToken(amounts.deposited, ctx.symbol)} without gas: signed EIP-3009, ` +
        `relayed by POST /v1/deposits (tx ${sent.txHash}); escrow balance ${formatToken(account.balance, ctx.symbol)}`,
    );
  }
}
