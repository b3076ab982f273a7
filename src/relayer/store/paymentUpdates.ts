import type { Hex, PaymentRecord } from "../domain";
import type { PaymentUpdate } from "./types";

/**
 * The changes of `updateMany` per payment (ids lowercase), each as the fields its row ends up with:
 * the updates of one id applied in order (a later value of a field wins, as if written one after
 * the other), `state` over `fields.state`, and `updatedAt` the last update's (`now` unless given).
 * `id`, `currency` and `createdAt` are never written.
 */
export function mergePaymentUpdates(updates: readonly PaymentUpdate[], now: number): Map<Hex, Partial<PaymentRecord>> {
  const merged = new Map<Hex, Partial<PaymentRecord>>();
  for (const u of updates) {
    const id = u.id.toLowerCase() as Hex;
    const row: Record<string, unknown> = { ...merged.get(id) };
    for (const [key, value] of Object.entries(u.fields)) {
      if (value !== undefined && key !== "id" && key !== "currency" && key !== "createdAt") row[key] = value;
    }
    if (u.state !== undefined) row.state = u.state;
    row.updatedAt = u.fields.updatedAt ?? now;
    merged.set(id, row as Partial<PaymentRecord>);
  }
  return merged;
}

/** The merged changes grouped by the set of fields they write (one statement per group). */
export function groupByShape(merged: Map<Hex, Partial<PaymentRecord>>): Map<string, [Hex, Partial<PaymentRecord>][]> {
  const shapes = new Map<string, [Hex, Partial<PaymentRecord>][]>();
  for (const entry of merged) {
    const shape = Object.keys(entry[1]).sort().join(",");
    const group = shapes.get(shape);
    if (group) group.push(entry);
    else shapes.set(shape, [entry]);
  }
  return shapes;
}
