/**
 * Versions in process memory: lost on restart. Data held is capped by MEMORY_BUDGET_BYTES; an
 * upload past it is refused (507) rather than dropping anything already stored, and the refusal
 * is decided from the size the parser reported, before the frame is loaded.
 *
 * Each version's data file (written by the parser child) is read into the frame kept here and
 * also kept on disk, as the copy query workers read, in a folder this process owns
 * (`<filesDir>/<pid>-<random>/`). The folder is removed at close; folders of processes that are
 * gone (a crash, kill -9) are removed when the next memory store opens.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import pl from "nodejs-polars";
import { notFound, storageFull } from "../errors.ts";
import { estimatedBytes, lazyOf, writeParquetFile } from "../frame/safe.ts";
import { releaseSoon, trimNativeHeap } from "../native-memory.ts";
import type { Dataset, Version } from "../types.ts";
import { checksumFile } from "./checksum.ts";
import { isProcessAlive, moveFile } from "./local-fs.ts";
import { Pins } from "./local-sync.ts";
import { assertImportNumbering, datasetView, importedRecord, nowIso, RegistryState, registryReads, sortedVersions, versionRecord } from "./registry.ts";
import type { DataFileRef, NewVersion, Storage, VersionSelector } from "./types.ts";

export interface MemoryStorageOptions {
  budgetBytes: number;
  /** Where the data files' folder is made (e.g. UPLOAD_DIR/memory-versions). */
  filesDir: string;
  /** Where repairs are reported. Default console.warn. */
  warn?: (message: string) => void;
}

interface Held {
  frame: pl.DataFrame;
  bytes: number;
  file: DataFileRef;
  stats?: unknown;
}

/** Removes the folders of memory stores whose process is gone. */
function removeAbandoned(filesDir: string): void {
  for (const name of readdirSync(filesDir)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid)) rmSync(path.join(filesDir, name), { recursive: true, force: true });
  }
}

export function createMemoryStorage(options: MemoryStorageOptions): Storage {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  mkdirSync(options.filesDir, { recursive: true });
  removeAbandoned(options.filesDir);
  const dir = path.join(options.filesDir, `${process.pid}-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });

  const state = new RegistryState();
  const data = new Map<string, Held>();
  const pins = new Pins();
  let heldBytes = 0;
  let fileBytes = 0;
  let repairs = 0;
  const key = (datasetId: string, version: number) => `${datasetId}/${version}`;

  /** Reserves room for `next` or throws 507; synchronous so concurrent commits can't both fit. */
  function admit(next: NewVersion): number {
    const bytes = next.frameBytes;
    if (heldBytes + bytes > options.budgetBytes) {
      throw storageFull(
        `Storing this version needs about ${bytes} bytes; ${heldBytes} of the ${options.budgetBytes}-byte memory budget are in use. Delete versions or raise MEMORY_BUDGET_BYTES.`,
      );
    }
    heldBytes += bytes;
    return bytes;
  }

  interface Loaded {
    frame: pl.DataFrame;
    bytes: number;
    file: DataFileRef;
    /** Gives back the reserved bytes and removes the file, when the commit does not happen. */
    undo(): Promise<void>;
  }

  /**
   * Takes the data file into this store's folder and reads it into the frame kept in memory (off
   * the event loop), within the bytes reserved for it.
   */
  async function load(next: NewVersion): Promise<Loaded> {
    const reserved = admit(next);
    const file = path.dirname(next.dataFile) === dir ? next.dataFile : path.join(dir, `${randomUUID()}.parquet`);
    try {
      if (file !== next.dataFile) await moveFile(next.dataFile, file);
      // No globbing or hive parsing: the folder's path may contain `[`, `*`, `?` or `k=v`.
      const frame = await pl.scanParquet(file, { glob: false, hivePartitioning: false }).collect();
      // the reader's decode buffers are free now, but glibc would keep them (native-memory.ts)
      trimNativeHeap();
      const bytes = estimatedBytes(frame);
      heldBytes += bytes - reserved;
      return {
        frame,
        bytes,
        file: { path: file, checksum: next.checksum },
        undo: async () => {
          heldBytes -= bytes;
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      heldBytes -= reserved;
      await rm(file, { force: true });
      throw error;
    }
  }

  function commit(datasetId: string, next: NewVersion, loaded: Loaded): Version {
    const entry = state.entry(datasetId);
    const number = entry.highestIssued + 1;
    const version = versionRecord(datasetId, number, next);
    entry.highestIssued = number;
    entry.versions.set(number, version);
    entry.dataset.updatedAt = version.createdAt;
    data.set(key(datasetId, number), { frame: loaded.frame, bytes: loaded.bytes, file: loaded.file });
    fileBytes += next.checksum.bytes;
    return version;
  }

  function drop(datasetId: string, version: number): void {
    const k = key(datasetId, version);
    const held = data.get(k);
    if (!held) return;
    heldBytes -= held.bytes;
    fileBytes -= held.file.checksum.bytes;
    data.delete(k);
    const remove = () => rm(held.file.path, { force: true });
    // a reader still holds the frame (a statistics job, a page): it is freed once that one is done
    if (pins.isPinned(k)) void pins.whenFree([k]).then(() => (releaseSoon(), remove()));
    else void remove();
  }

  /** Writes a fresh copy of a version's data file from its frame (the copy on disk was damaged). */
  async function repair(k: string, held: Held, reason: string): Promise<void> {
    const file = path.join(dir, `repaired-${randomUUID()}.parquet`);
    await writeParquetFile(held.frame, file);
    const old = held.file;
    held.file = { path: file, checksum: await checksumFile(file) };
    fileBytes += held.file.checksum.bytes - old.checksum.bytes;
    await rm(old.path, { force: true });
    repairs++;
    warn(`storage: the data file of version ${k} ${reason}; it was written again from memory`);
  }

  return {
    name: "memory",

    stagingPath() {
      return path.join(dir, `${randomUUID()}.parquet`);
    },

    async createDataset(meta, first) {
      state.assertNameFree(meta.name);
      const loaded = await load(first);
      const now = nowIso();
      const entry = { dataset: { id: state.newDatasetId(), name: meta.name, description: meta.description, createdAt: now, updatedAt: now }, highestIssued: 0, versions: new Map<number, Version>() };
      try {
        // checked again: another upload may have taken the name while this one was loading
        state.add(entry);
      } catch (error) {
        await loaded.undo();
        throw error;
      }
      const version = commit(entry.dataset.id, first, loaded);
      return { dataset: datasetView(entry), version };
    },

    async importDataset(meta, versions) {
      assertImportNumbering(meta, versions);
      state.assertNameFree(meta.name);
      // the whole archive must fit: said in its own terms (not "delete versions", when the ones
      // counted would be this archive's own, QA Q35)
      const needed = versions.reduce((sum, v) => sum + v.frameBytes, 0);
      if (heldBytes + needed > options.budgetBytes) {
        throw storageFull(
          `Importing this archive's ${versions.length} version${versions.length === 1 ? "" : "s"} needs about ${needed} bytes in memory; ${heldBytes} of the ${options.budgetBytes}-byte memory budget (MEMORY_BUDGET_BYTES) are in use. Delete versions or raise MEMORY_BUDGET_BYTES; nothing was stored.`,
        );
      }
      // every version is loaded (within the budget) before the dataset becomes visible
      const loaded: Loaded[] = [];
      try {
        for (const v of versions) loaded.push(await load(v));
      } catch (error) {
        for (const l of loaded) await l.undo();
        throw error;
      }
      const id = state.newDatasetId();
      const entry = { dataset: { id, name: meta.name, description: meta.description, createdAt: meta.createdAt, updatedAt: meta.updatedAt }, highestIssued: meta.highestIssued, versions: new Map<number, Version>() };
      try {
        state.add(entry); // checked again: the name may have been taken while loading
      } catch (error) {
        for (const l of loaded) await l.undo();
        throw error;
      }
      const records = versions.map((v, i) => {
        const version = importedRecord(id, v);
        const l = loaded[i] as Loaded;
        entry.versions.set(v.version, version);
        data.set(key(id, v.version), { frame: l.frame, bytes: l.bytes, file: l.file });
        fileBytes += v.checksum.bytes;
        return version;
      });
      return { dataset: datasetView(entry), versions: records };
    },

    ...registryReads(state),

    async updateDataset(datasetId, patch): Promise<Dataset> {
      const entry = state.entry(datasetId);
      if (patch.name !== undefined) state.rename(entry, patch.name);
      if (patch.description !== undefined) entry.dataset.description = patch.description;
      entry.dataset.updatedAt = nowIso();
      return datasetView(entry);
    },

    async deleteDataset(datasetId) {
      const entry = state.remove(datasetId);
      for (const n of entry.versions.keys()) drop(datasetId, n);
    },

    async addVersion(datasetId, next) {
      state.entry(datasetId);
      const loaded = await load(next);
      try {
        state.entry(datasetId); // deleted while loading?
      } catch (error) {
        await loaded.undo();
        throw error;
      }
      const version = commit(datasetId, next, loaded);
      return { dataset: datasetView(state.entry(datasetId)), version };
    },

    async listVersions(datasetId) {
      return sortedVersions(state.entry(datasetId));
    },

    async getVersion(datasetId, selector: VersionSelector) {
      return state.version(datasetId, selector);
    },

    async deleteVersion(datasetId, selector) {
      const version = state.version(datasetId, selector);
      const entry = state.entry(datasetId);
      entry.versions.delete(version.version);
      entry.dataset.updatedAt = nowIso();
      drop(datasetId, version.version);
    },

    async read(datasetId, selector, fn) {
      const version = state.version(datasetId, selector);
      const k = key(datasetId, version.version);
      const held = data.get(k);
      if (!held) throw notFound(`Dataset "${datasetId}" has no version ${version.version}.`);
      pins.pin(k);
      try {
        return await fn({
          version,
          lazy: () => lazyOf(held.frame),
          frame: () => held.frame,
          dataFile: async () => held.file,
          async reportDamaged(reason) {
            // the frame in memory is intact: a damaged copy on disk is written again
            await repair(k, held, reason);
            return "repaired";
          },
        });
      } finally {
        pins.unpin(k);
      }
    },

    async getStats(datasetId, version) {
      return data.get(key(datasetId, version))?.stats;
    },

    async saveStats(datasetId, version, stats) {
      const held = data.get(key(datasetId, version));
      if (held) held.stats = stats;
    },

    async health() {
      return { ...state.counts(), dataBytes: heldBytes, budgetBytes: options.budgetBytes, details: { diskBytes: fileBytes, repairedFiles: repairs } };
    },

    async close() {
      data.clear();
      heldBytes = 0;
      fileBytes = 0;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
