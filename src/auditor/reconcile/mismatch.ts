/** Builds {@link Mismatch} records with exact values (token units and ids as strings). */
import type { EventRef, Mismatch, MismatchSource } from "../types";
import { fmt } from "../util";

/** Most events listed for one mismatch: enough to find the problem, without dumping whole batches. */
export const MAX_EVENTS = 25;

export interface MismatchInput {
  check: string;
  subject: string;
  message: string;
  expected?: bigint | string | number;
  actual?: bigint | string | number;
  events: EventRef[];
}

export function mismatch(source: MismatchSource, input: MismatchInput): Mismatch {
  const events =
    input.events.length > MAX_EVENTS
      ? [...input.events.slice(0, MAX_EVENTS - 1), input.events[input.events.length - 1]]
      : input.events;
  return {
    check: input.check,
    source,
    subject: input.subject,
    message: input.message,
    ...(input.expected !== undefined ? { expected: String(input.expected) } : {}),
    ...(input.actual !== undefined ? { actual: String(input.actual) } : {}),
    events,
  };
}

/** "12.5 (12500000 units)": display of an amount in messages. */
export const amountText = (units: bigint): string => `${fmt(units)} (${units} units)`;
