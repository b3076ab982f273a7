/**
 * One route, declared: `"METHOD /url"`, its OpenAPI summary, who may call it, its schemas, and its
 * handler. The OpenAPI tag and security scheme follow from `auth`, every route documents the error
 * responses, and the handler's request is typed from the schemas, so a route file holds its
 * definition and its logic.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest, FastifySchema } from "fastify";
import { ERROR_RESPONSES } from "../../protocol/schemas";
import type { RouteContext, RouteModule } from "./context";

type Auth = "public" | "merchant" | "admin";
type Tag = "customers" | "merchants" | "operator" | "operations";

const TAG: Record<Auth, Tag> = { public: "customers", merchant: "merchants", admin: "operator" };
const SECURITY: Record<Auth, { [scheme: string]: string[] }[] | undefined> = {
  public: undefined,
  merchant: [{ merchantKey: [] }],
  admin: [{ adminToken: [] }],
};

type Method = "GET" | "POST" | "DELETE";

export interface RouteDefinition<P, Q, B> {
  /** Default public (no credentials). */
  auth?: Auth;
  /** Default: customers, merchants or operator, after `auth`. */
  tag?: Tag;
  description?: string;
  params?: P;
  querystring?: Q;
  body?: B;
  /** Success responses by status; the 4xx/5xx error body is added unless `errors` is false. */
  response?: Record<number, unknown>;
  errors?: false;
  /** See FastifyContextConfig in ./context. */
  idempotent?: boolean;
  rateLimited?: boolean;
  secretFields?: readonly string[];
}

type Input<S> = S extends TSchema ? Static<S> : unknown;

export type RouteRequest<P, Q, B> = FastifyRequest<{
  Params: Input<P>;
  Querystring: Input<Q>;
  Body: Input<B>;
}>;

export type RouteHandler<P, Q, B> = (
  request: RouteRequest<P, Q, B>,
  ctx: RouteContext,
  reply: FastifyReply,
) => Promise<unknown>;

/** A route module registering `route` ("GET /v1/payments/:id") with `definition` and `handler`. */
export function defineRoute<
  P extends TSchema | undefined = undefined,
  Q extends TSchema | undefined = undefined,
  B extends TSchema | undefined = undefined,
>(
  route: `${Method} /${string}`,
  summary: string,
  definition: RouteDefinition<P, Q, B>,
  handler: RouteHandler<P, Q, B>,
): RouteModule {
  const [method, url] = route.split(" ") as [Method, string];
  const { auth, idempotent, rateLimited, secretFields } = definition;
  const config = defined({ auth, idempotent, rateLimited, secretFields });
  const schema: FastifySchema & { tags: Tag[]; summary: string } = defined({
    tags: [definition.tag ?? TAG[auth ?? "public"]],
    summary,
    description: definition.description,
    security: SECURITY[auth ?? "public"],
    params: definition.params,
    querystring: definition.querystring,
    body: definition.body,
    response:
      definition.response &&
      (definition.errors === false ? definition.response : { ...definition.response, ...ERROR_RESPONSES }),
  });
  return (app, ctx) => {
    app.route({
      method,
      url,
      ...(Object.keys(config).length > 0 ? { config } : {}),
      schema,
      handler: (request, reply) => handler(request as RouteRequest<P, Q, B>, ctx, reply),
    });
  };
}

/** `o` without its undefined fields, so the registered options hold only what the route declares. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined)) as T;
}
