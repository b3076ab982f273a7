/** Wall-clock time behind an interface, so tests can move time (fee bumps, batch age) without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
