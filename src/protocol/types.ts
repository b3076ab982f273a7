/** Primitive shapes shared by every layer: 0x hex strings, as viem types them. */
export type Hex = `0x${string}`;
export type Address = Hex;
