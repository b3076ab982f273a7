/**
 * One lock per key (here: per payer). Intake holds a payer's lock from the balance and nonce checks
 * until the payment is committed, so two concurrent payments of one payer can never both pass
 * against the same balance. Payers do not wait for each other.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // Last holder out removes the entry, so the map only holds keys with waiters.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
