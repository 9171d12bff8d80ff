/**
 * The in-memory frame cache the disk-backed backends (`local`, `postgres`) share: recently read
 * versions as DataFrames in an LRU bounded by MEMORY_BUDGET_BYTES, pins that keep a version in
 * place while a request reads it, and, after a cold read (a scan of the version's Parquet file),
 * a background load of the whole version so the next read is served from memory.
 * Keys are the backend's own (`<datasetId>/<version>`); version numbers are never reused, so a key
 * always means the same data.
 */
import pl from "nodejs-polars";
import { estimatedBytes, lazyOf } from "../frame/safe.ts";
import { releaseSoon, trimNativeHeap } from "../native-memory.ts";
import { Pins } from "./local-sync.ts";
import { ByteLru } from "./lru.ts";

export interface FrameCacheOptions {
  budgetBytes: number;
  /** After a cold read, load the version into the cache in the background. Default true. */
  backgroundLoad?: boolean;
  warn: (message: string) => void;
}

/** Where a version's rows are when they are not in memory. */
export interface ColdSource {
  /** A lazy scan of the version's Parquet file (reads only what a query needs). */
  scan(): pl.LazyDataFrame;
  /** Polars' estimate of the whole frame's size: a version larger than the budget is never loaded. */
  frameBytes: number;
  /** Checked before the whole version is loaded into memory (e.g. every block against its checksum); false skips the load. */
  beforeLoad?: () => Promise<boolean>;
}

export class FrameCache {
  readonly pins = new Pins();
  readonly #lru: ByteLru<pl.DataFrame>;
  readonly #background = new Set<Promise<void>>();
  /** Keys being loaded, with whether they were forgotten meanwhile (then the result is dropped). */
  readonly #loading = new Map<string, { forgotten: boolean }>();
  readonly #options: Required<FrameCacheOptions>;
  #closed = false;

  constructor(options: FrameCacheOptions) {
    this.#options = { backgroundLoad: true, ...options };
    this.#lru = new ByteLru<pl.DataFrame>(options.budgetBytes, (key) => this.pins.isPinned(key));
  }

  /**
   * Runs `fn` with `key` pinned, over the cached frame or else a scan of `cold()` (resolved only
   * on a miss, so a warm read costs nothing more), then loads a cold version in the background.
   */
  async read<T>(
    key: string,
    cold: () => Promise<ColdSource> | ColdSource,
    fn: (lazy: () => pl.LazyDataFrame, frame: pl.DataFrame | undefined) => Promise<T>,
    /** Runs first, with the key pinned (checks that may throw, such as a damaged version's 410). */
    prepare?: () => Promise<void>,
  ): Promise<T> {
    this.pins.pin(key);
    let source: ColdSource | undefined;
    try {
      await prepare?.();
      const frame = this.#lru.get(key);
      if (frame !== undefined) return await fn(() => lazyOf(frame), frame);
      source = await cold();
      const scanned = source;
      return await fn(() => scanned.scan(), undefined);
    } finally {
      this.pins.unpin(key);
      if (source) this.#loadInBackground(key, source);
    }
  }

  /** Drops a version (deleted): from memory now, and from any load still running. */
  forget(key: string): void {
    this.#lru.delete(key);
    const loading = this.#loading.get(key);
    if (loading) loading.forgotten = true;
  }

  /** Runs `removal` now, or once no request is reading any of `keys`. */
  async afterReaders(keys: string[], removal: () => Promise<void>): Promise<void> {
    if (keys.every((k) => !this.pins.isPinned(k))) return removal();
    // the readers held the frames until now: ask for their memory back (native-memory.ts)
    this.#track(this.pins.whenFree(keys).then(() => (releaseSoon(), removal())));
  }

  /** Resolves once background loads and deferred removals have finished. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
    this.#lru.clear();
  }

  get bytes(): number {
    return this.#lru.bytes;
  }

  /** The figures /api/health reports. */
  figures(): { cachedBytes: number; cachedVersions: number; cacheHits: number; cacheMisses: number; cacheEvictions: number } {
    const lru = this.#lru;
    return { cachedBytes: lru.bytes, cachedVersions: lru.size, cacheHits: lru.hits, cacheMisses: lru.misses, cacheEvictions: lru.evictions };
  }

  #track(work: Promise<void>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  #loadInBackground(key: string, source: ColdSource): void {
    if (!this.#options.backgroundLoad || this.#closed || source.frameBytes > this.#options.budgetBytes || this.#loading.has(key) || this.#lru.has(key)) return;
    const state = { forgotten: false };
    this.#loading.set(key, state);
    this.pins.pin(key); // keeps the file in place if the version is deleted meanwhile
    this.#track(
      (async () => {
        try {
          if (source.beforeLoad && !(await source.beforeLoad())) return;
          const frame = await source.scan().collect();
          trimNativeHeap(); // the reader's decode buffers (native-memory.ts)
          if (!state.forgotten && !this.#closed) this.#lru.set(key, frame, estimatedBytes(frame));
          else releaseSoon(); // deleted while loading: the frame is garbage that only a collection frees
        } catch (error) {
          this.#options.warn(`storage: loading version ${key} into the cache failed: ${(error as Error).message}`);
        } finally {
          this.#loading.delete(key);
          this.pins.unpin(key);
        }
      })(),
    );
  }
}
