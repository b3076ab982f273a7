/**
 * Which addresses webhooks may be sent to. A merchant chooses the URL, so without a check the
 * relayer would POST wherever it is told: its own admin port, a cloud metadata service
 * (169.254.169.254), a database on the private network. Loopback, private, link-local, shared,
 * multicast and reserved ranges (IPv4 and IPv6) are refused unless the operator allows them.
 *
 * The check runs at registration (names resolved then) AND on every connection the dispatcher
 * opens (the resolver's answer is checked and then used for that very connection), so a name that
 * resolves to a public address at registration and to 127.0.0.1 later (DNS rebinding) is refused.
 */
import dns from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

export interface UrlPolicy {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

export type AddressClass = "public" | "loopback" | "private";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
// 0.0.0.0 and :: reach the local host on Linux.
LOOPBACK.addSubnet("0.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addAddress("::", "ipv6");

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // shared address space (carrier-grade NAT)
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64: reaches IPv4 space through a translator
  ["64:ff9b:1::", 48],
  ["2002::", 16], // 6to4: embeds an IPv4 address
  ["2001:db8::", 32], // documentation
  ["100::", 64], // discard
] as const) {
  PRIVATE.addSubnet(network, prefix, "ipv6");
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as the IPv4 address it carries (BlockList does). */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${address}`);
  const type = family === 4 ? "ipv4" : "ipv6";
  if (LOOPBACK.check(address, type)) return "loopback";
  if (PRIVATE.check(address, type)) return "private";
  return "public";
}

export function addressAllowed(address: string, policy: UrlPolicy): boolean {
  const kind = classifyAddress(address);
  return kind === "public" || (kind === "loopback" ? policy.allowLoopback : policy.allowPrivate);
}

export class AddressNotAllowedError extends Error {
  readonly code = "ERR_WEBHOOK_ADDRESS_NOT_ALLOWED";

  constructor(
    readonly host: string,
    readonly address: string,
    readonly kind: AddressClass,
  ) {
    super(host === address ? `${address} is a ${kind} address` : `${host} resolves to ${address}, a ${kind} address`);
    this.name = "AddressNotAllowedError";
  }
}

/** The URL's host without IPv6 brackets. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Throws AddressNotAllowedError if the URL's host is an IP literal the policy refuses. */
export function checkLiteralHost(url: URL, policy: UrlPolicy): void {
  const host = hostOf(url);
  if (isIP(host) !== 0 && !addressAllowed(host, policy)) {
    throw new AddressNotAllowedError(host, host, classifyAddress(host));
  }
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/**
 * Registration check: the host (an IP literal, or every address a name resolves to) must be
 * allowed. A name that does not resolve now is accepted (it may be set up later): every delivery
 * checks again. Returns the addresses checked.
 */
export async function checkUrl(url: URL, policy: UrlPolicy, resolve: Resolver = systemResolver): Promise<string[]> {
  checkLiteralHost(url, policy);
  const host = hostOf(url);
  if (isIP(host) !== 0) return [host];
  let addresses: { address: string }[];
  try {
    addresses = await resolve(host);
  } catch {
    return [];
  }
  for (const { address } of addresses) {
    if (!addressAllowed(address, policy)) throw new AddressNotAllowedError(host, address, classifyAddress(address));
  }
  return addresses.map((a) => a.address);
}

/**
 * A `lookup` for net/tls connections that refuses a name if any address it resolves to is not
 * allowed, and otherwise hands the connection exactly the addresses it checked.
 */
export function guardedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const refused = addresses.find((a) => !addressAllowed(a.address, policy));
      if (refused) {
        const reason = new AddressNotAllowedError(hostname, refused.address, classifyAddress(refused.address));
        return callback(reason as unknown as NodeJS.ErrnoException, "", 0);
      }
      if (addresses.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
