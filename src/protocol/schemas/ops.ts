/** Liveness and readiness answers. */
import { Type } from "@sinclair/typebox";

export const HealthView = Type.Object({ status: Type.Literal("ok") });
export const ReadyView = Type.Object({ status: Type.Literal("ready"), store: Type.String(), chain: Type.String() });
