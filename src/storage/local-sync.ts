/**
 * In-process coordination for the `local` backend: a per-key lock that runs async sections one
 * at a time (commits to one dataset), and pin counts that keep a version's data in place while a
 * request reads it.
 */

/** Runs async sections for one key strictly one after another, in arrival order. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(section, section);
    // The tail never rejects, so one failed section does not fail the ones queued behind it.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/** Counts readers per key; `whenFree` resolves once a key has none. */
export class Pins {
  readonly #counts = new Map<string, number>();
  readonly #waiters = new Map<string, (() => void)[]>();

  pin(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  unpin(key: string): void {
    const left = (this.#counts.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#counts.set(key, left);
      return;
    }
    this.#counts.delete(key);
    const waiters = this.#waiters.get(key) ?? [];
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  isPinned(key: string): boolean {
    return this.#counts.has(key);
  }

  /** Resolves when none of `keys` is pinned. */
  async whenFree(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      while (this.#counts.has(key)) {
        await new Promise<void>((resolve) => {
          const list = this.#waiters.get(key) ?? [];
          list.push(resolve);
          this.#waiters.set(key, list);
        });
      }
    }
  }
}
