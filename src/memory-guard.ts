/**
 * Keeps the API process's memory within what the operator configured, measured as the OS sees
 * it (resident set size), not only as frame estimates.
 *
 * What was measured (2 cores, nodejs-polars 0.26 on glibc malloc, MEMORY_BUDGET_BYTES=50 MB,
 * 10 MB CSVs; see README "Memory"):
 * - Polars' buffers are native memory that V8 does not see, so a dropped DataFrame is freed only
 *   when a garbage collection happens to run — with a 25 MB JS heap that can take minutes, and
 *   RSS stays up after every dataset is deleted. So after a delete, or an upload stored, refused
 *   or failed after parsing, a full collection is run (debounced, native-memory.ts `releaseSoon`).
 * - An upload past the budget used to be parsed, read back and only then refused: two refused
 *   uploads peaked at 740 MB. The refusal is now decided before parsing, from the file's size
 *   and format (`admitUpload`).
 * - Whatever the estimates say, an upload is refused (507) while the process's RSS is above
 *   MEMORY_LIMIT_BYTES after a collection, so the budget bounds what the process really holds.
 * - glibc keeps freed memory in per-thread arenas (up to 8 per core); `npm start` and the
 *   worker pools set MALLOC_ARENA_MAX=2, which returned ~60 MB in the same run.
 * - Even so, after a soak and every dataset deleted, 10–19 MB more than the warm idle stayed, all
 *   of it free memory glibc kept inside its heaps: the collection is now followed by
 *   `malloc_trim(0)` (native-memory.ts), and stored uploads ask for one too (their request body
 *   leaves ~the file's size of Buffers that V8 collects late).
 */
import os from "node:os";
import { storageFull } from "./errors.ts";
import { forgetVersion } from "./frame/page.ts";
import { collectGarbage, keepTrimmed, releaseNativeMemory, releaseSoon, sinceLastRelease } from "./native-memory.ts";
import type { Storage, VersionSelector } from "./storage/types.ts";

/** How much memory a parsed file takes per byte of file, by format (measured, rounded up). */
const EXPANSION: Record<string, number> = { csv: 1.2, tsv: 1.2, txt: 1.2, parquet: 5, xlsx: 3, xlsm: 3, xls: 1.5 };
const DEFAULT_EXPANSION = 1.5;

/** The memory a file of `sizeBytes` named `filename` will need once parsed, estimated before parsing. */
export function estimateFrameBytes(sizeBytes: number, filename: string): number {
  const ext = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase() ?? "";
  return Math.ceil(sizeBytes * (EXPANSION[ext] ?? DEFAULT_EXPANSION));
}

export interface MemoryGuard {
  /** Throws 507 STORAGE_FULL before parsing when the upload cannot fit. */
  admitUpload(file: { sizeBytes: number; originalName: string }): Promise<void>;
  /** Asks for a full collection soon (after deletes and refused uploads); debounced. */
  releaseSoon(): void;
  /** The RSS limit in force, in bytes. */
  readonly limitBytes: number;
}

export interface MemoryGuardOptions {
  storage: Storage;
  /** MEMORY_BUDGET_BYTES: bytes of frames the memory backend may hold. */
  budgetBytes: number;
  /** MEMORY_LIMIT_BYTES: RSS past which uploads are refused; 0 = derived from the budget. */
  limitBytes: number;
}

export function defaultMemoryLimit(budgetBytes: number): number {
  return Math.min(Math.floor(os.totalmem() * 0.9), 2 * budgetBytes + 512 * 1024 * 1024);
}

export function createMemoryGuard(options: MemoryGuardOptions): MemoryGuard {
  const limitBytes = options.limitBytes > 0 ? options.limitBytes : defaultMemoryLimit(options.budgetBytes);
  keepTrimmed();

  return {
    limitBytes,

    async admitUpload(file) {
      const expected = estimateFrameBytes(file.sizeBytes, file.originalName);
      if (options.storage.name === "memory") {
        const { dataBytes, budgetBytes } = await options.storage.health();
        if (dataBytes + expected > budgetBytes) {
          throw storageFull(`A ${file.sizeBytes}-byte file like this needs about ${expected} bytes in memory; ${dataBytes} of the ${budgetBytes}-byte memory budget (MEMORY_BUDGET_BYTES) are in use. Delete versions or raise MEMORY_BUDGET_BYTES; nothing was parsed or stored.`);
        }
      }
      if (process.memoryUsage.rss() + expected <= limitBytes) return;
      // Dropped frames may only be waiting for a collection: collect once, then judge.
      if (collectGarbage && sinceLastRelease() > 1000) await releaseNativeMemory();
      const rss = process.memoryUsage.rss();
      if (rss + expected > limitBytes) {
        throw storageFull(`The server holds ${rss} bytes of memory and this file would need about ${expected} more, past its ${limitBytes}-byte limit (MEMORY_LIMIT_BYTES); nothing was parsed or stored. Retry later, or delete versions.`);
      }
    },

    releaseSoon,
  };
}

/**
 * The storage with a collection requested after everything that drops frames or leaves garbage:
 * deletes, and commits, stored or failed (a refused or clashing upload leaves its parsed frame
 * behind; a stored one leaves the request body's chunks, ~ the file's size in Buffers that V8
 * collects only when external memory grows by 64 MB). A deleted version's entries in the frame
 * layer's caches (row orders, facts, schema) go with it.
 */
export function releasingMemory(storage: Storage, guard: MemoryGuard): Storage {
  const releasing = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        guard.releaseSoon();
      }
    };
  return Object.assign(Object.create(storage) as Storage, {
    async deleteDataset(datasetId: string) {
      const versions = await storage.listVersions(datasetId).catch(() => []);
      try {
        await storage.deleteDataset(datasetId);
      } finally {
        for (const v of versions) forgetVersion(datasetId, v.version);
        guard.releaseSoon();
      }
    },
    async deleteVersion(datasetId: string, selector: VersionSelector) {
      const version = await storage.getVersion(datasetId, selector).catch(() => null);
      try {
        await storage.deleteVersion(datasetId, selector);
      } finally {
        if (version) forgetVersion(datasetId, version.version);
        guard.releaseSoon();
      }
    },
    createDataset: releasing(storage.createDataset.bind(storage)),
    addVersion: releasing(storage.addVersion.bind(storage)),
    importDataset: releasing(storage.importDataset.bind(storage)),
  } satisfies Partial<Storage>);
}
