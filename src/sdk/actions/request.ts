/**
 * What every action needs from a client: the transport and the caller's credentials. Actions are
 * plain functions of this (viem-style), so a client is only the actions bound to one of these.
 */
import { StablePayError } from "../errors";
import type { HttpRequest, HttpTransport } from "../http";
import type { Page } from "../wire";

/** Who a call acts as: nobody (customer routes), a merchant's API key, or the operator's admin token. */
export type Auth = "none" | "merchant" | "admin";

export interface ApiClient {
  readonly transport: HttpTransport;
  readonly apiKey?: string;
  readonly adminToken?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  /** Idempotency-Key to send (default: a random UUID); `false` sends none, which also disables retries. */
  idempotencyKey?: string | false;
}

function authHeaders(client: ApiClient, auth: Auth): Record<string, string> {
  if (auth === "merchant") {
    if (!client.apiKey) throw new StablePayError("missing_credentials", "this call needs a merchant API key");
    return { authorization: `Bearer ${client.apiKey}` };
  }
  if (auth === "admin") {
    if (!client.adminToken) throw new StablePayError("missing_credentials", "this call needs the admin token");
    return { "x-admin-token": client.adminToken };
  }
  return {};
}

/** One call: credentials as headers, and an Idempotency-Key on every POST unless the caller opts out. */
export async function call<W>(
  client: ApiClient,
  auth: Auth,
  req: Omit<HttpRequest, "headers" | "idempotencyKey">,
  options: CreateOptions = {},
): Promise<{ status: number; body: W }> {
  const idempotencyKey =
    req.method !== "POST" || options.idempotencyKey === false
      ? undefined
      : (options.idempotencyKey ?? crypto.randomUUID());
  const response = await client.transport.request<W>({
    ...req,
    headers: authHeaders(client, auth),
    idempotencyKey,
    signal: options.signal,
  });
  return { status: response.status, body: response.body };
}

/** Re-throws a malformed answer as `invalid_response` rather than a bare TypeError. */
export function parsed<W, T>(parse: (wire: W) => T, wire: W, path: string): T {
  try {
    return parse(wire);
  } catch (error) {
    if (error instanceof StablePayError) throw error;
    throw new StablePayError("invalid_response", `unexpected response from ${path}`, undefined, { cause: error });
  }
}

export async function get<W, T>(
  client: ApiClient,
  auth: Auth,
  path: string,
  parse: (w: W) => T,
  options?: CallOptions,
  query?: HttpRequest["query"],
): Promise<T> {
  const { body } = await call<W>(client, auth, { method: "GET", path, query }, options);
  return parsed(parse, body, path);
}

export async function post<W, T>(
  client: ApiClient,
  auth: Auth,
  path: string,
  body: unknown,
  parse: (w: W) => T,
  options?: CreateOptions,
): Promise<T> {
  const response = await call<W>(client, auth, { method: "POST", path, body }, options);
  return parsed(parse, response.body, path);
}

/** Every page from `cursor` on, following nextCursor. */
export async function* pages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  cursor: string | undefined,
): AsyncGenerator<Page<T>, void, undefined> {
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** A module of actions as methods of one client (the client argument bound). */
export type Bound<A> = {
  [K in keyof A]: A[K] extends (client: ApiClient, ...args: infer P) => infer R ? (...args: P) => R : never;
};

export function bind<A extends Record<string, (client: ApiClient, ...args: never[]) => unknown>>(
  actions: A,
  client: ApiClient,
): Bound<A> {
  const bound: Record<string, unknown> = {};
  for (const [name, action] of Object.entries(actions)) {
    bound[name] = (...args: never[]) => action(client, ...args);
  }
  return bound as Bound<A>;
}
