/**
 * A least-recently-used cache bounded by bytes, not entries. Entries the caller marks as pinned
 * are never evicted; an insert that cannot fit without evicting a pinned entry is declined, so the
 * cached bytes never exceed the budget.
 */

interface Slot<V> {
  value: V;
  bytes: number;
}

export class ByteLru<V> {
  readonly budgetBytes: number;
  /** Since construction. */
  hits = 0;
  misses = 0;
  evictions = 0;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #slots = new Map<string, Slot<V>>();
  readonly #isPinned: (key: string) => boolean;
  #bytes = 0;

  constructor(budgetBytes: number, isPinned: (key: string) => boolean = () => false) {
    this.budgetBytes = budgetBytes;
    this.#isPinned = isPinned;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#slots.size;
  }

  has(key: string): boolean {
    return this.#slots.has(key);
  }

  /** Looks `key` up, counting a hit or a miss and marking it most recently used. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (!slot) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.value;
  }

  /**
   * Stores `value` if it fits, evicting unpinned entries from the least recently used end.
   * Returns false (and evicts nothing) when it cannot fit even after every possible eviction.
   */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    let evictable = 0;
    for (const [k, slot] of this.#slots) if (!this.#isPinned(k)) evictable += slot.bytes;
    if (this.#bytes - evictable + bytes > this.budgetBytes) return false;
    for (const [k, slot] of this.#slots) {
      if (this.#bytes + bytes <= this.budgetBytes) break;
      if (this.#isPinned(k)) continue;
      this.#slots.delete(k);
      this.#bytes -= slot.bytes;
      this.evictions++;
    }
    this.#slots.set(key, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  /** Drops `key` (not counted as an eviction: the caller removed it on purpose). */
  delete(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }

  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }
}
