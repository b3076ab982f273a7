/** The logger every relayer part writes to: a pino-compatible subset, and a safe message of anything thrown. */
type LogFn = (obj: object, msg?: string) => void;

/** The subset of pino the relayer uses; a pino logger (e.g. fastify's `app.log`) fits as is. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => undefined;
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Message of anything thrown, for logs (never the whole object: it may carry request payloads). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message;
  return String(error);
}
