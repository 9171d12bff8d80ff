/**
 * The `local` backend: every version is a Parquet file under DATA_DIR with a JSON metadata file
 * beside it (the commit point), and recently read versions are kept in memory in an LRU cache
 * bounded by MEMORY_BUDGET_BYTES. Layout and protocols: docs/storage-layout.md.
 *
 * Registry rules (name index, numbering, `latest`) are the shared ones in registry.ts; this file
 * only decides where bytes live and in which order they reach the disk.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import pl from "nodejs-polars";
import { nameTaken, notFound, storageFull } from "../errors.ts";
import { estimatedBytes, lazyOf, writeParquetFile } from "../frame/safe.ts";
import type { Version } from "../types.ts";
import { createExclusive, fsyncPath, readIfExists, removeQuietly, tempPath, writeAndSync, writeFileDurably } from "./local-fs.ts";
import { LAYOUT, parseStatsFile, toJson, type DatasetFile } from "./local-records.ts";
import { scanDataDir, type Warn } from "./local-scan.ts";
import { KeyedLock, Pins } from "./local-sync.ts";
import { ByteLru } from "./lru.ts";
import { pathsFor } from "./paths.ts";
import { assertImportNumbering, datasetView, importedRecord, nowIso, RegistryState, registryReads, sortedVersions, versionRecord, type DatasetEntry } from "./registry.ts";
import type { NewVersion, Storage, VersionSelector } from "./types.ts";

export interface LocalStorageOptions {
  dataDir: string;
  budgetBytes: number;
  /** After a read of a version that was not cached, load it into the cache in the background. Default true. */
  backgroundLoad?: boolean;
  /** Where damaged or unexpected files are reported. Default console.warn. */
  warn?: Warn;
}

export interface LocalStorage extends Storage {
  /** Resolves once background cache loads and deferred file removals have finished. */
  settled(): Promise<void>;
}

/** What the backend knows about a version's data file, besides the Version itself. */
interface DataInfo {
  fileBytes: number;
  frameBytes: number;
  hasStats: boolean;
}

/** Parsed stats kept in memory are bounded too (by their JSON size). */
const STATS_CACHE_BYTES = 16 * 1024 * 1024;

/** Opens (or creates) the store under `dataDir`, reading metadata only. */
export async function createLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const { dataDir, budgetBytes } = options;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const backgroundLoad = options.backgroundLoad ?? true;
  const root = pathsFor(dataDir);

  const state = new RegistryState();
  const info = new Map<string, DataInfo>();
  const pins = new Pins();
  const lock = new KeyedLock();
  const cache = new ByteLru<pl.DataFrame>(budgetBytes, (key) => pins.isPinned(key));
  const statsCache = new ByteLru<unknown>(STATS_CACHE_BYTES);
  /** Names promised to a dataset whose files are still being written (nameKey → datasetId). */
  const reservedNames = new Map<string, string>();
  const background = new Set<Promise<void>>();
  const loading = new Set<string>();
  let closed = false;

  const key = (datasetId: string, version: number) => `${datasetId}/${version}`;

  const scan = await scanDataDir(dataDir, warn);
  for (const found of scan.datasets) {
    const entry: DatasetEntry = { dataset: found.dataset, highestIssued: found.highestIssued, versions: new Map() };
    for (const v of found.versions) {
      entry.versions.set(v.version.version, v.version);
      info.set(key(found.dataset.id, v.version.version), { fileBytes: v.fileBytes, frameBytes: v.frameBytes, hasStats: v.hasStats });
    }
    if (state.findIdByName(entry.dataset.name) !== undefined) {
      // Only two servers sharing DATA_DIR can get here (names are unique per process).
      warn(`storage: dataset ${entry.dataset.id} shares its name "${entry.dataset.name}" with another; it is served as "${entry.dataset.name} (${entry.dataset.id})"`);
      entry.dataset.name = `${entry.dataset.name} (${entry.dataset.id})`;
    }
    state.add(entry);
  }

  async function settled(): Promise<void> {
    while (background.size > 0) await Promise.allSettled([...background]);
  }

  function track(work: Promise<void>): void {
    background.add(work);
    void work.finally(() => background.delete(work));
  }

  /** Promises `name` to `datasetId` while its files are written; throws 409 if it is taken. */
  function reserveName(name: string, datasetId: string): () => void {
    state.assertNameFree(name, datasetId);
    const nameKey = RegistryState.nameKey(name);
    const holder = reservedNames.get(nameKey);
    if (holder !== undefined && holder !== datasetId) throw nameTaken(name, holder);
    reservedNames.set(nameKey, datasetId);
    return () => {
      if (reservedNames.get(nameKey) === datasetId) reservedNames.delete(nameKey);
    };
  }

  /** Writes the frame as Parquet (off the event loop), fsyncs it, returns its sizes. */
  async function writeData(next: NewVersion, file: string): Promise<Omit<DataInfo, "hasStats">> {
    try {
      await writeParquetFile(next.frame, file);
      await fsyncPath(file);
      return { fileBytes: (await fs.stat(file)).size, frameBytes: estimatedBytes(next.frame) };
    } catch (error) {
      throw diskError(error);
    }
  }

  /** Issues the next free number by exclusive creation of its claim file (safe across processes). */
  async function claimNext(datasetId: string, entry: DatasetEntry): Promise<number> {
    let number = entry.highestIssued + 1;
    const claim = toJson({ pid: process.pid, claimedAt: nowIso() });
    for (;;) {
      try {
        if (await createExclusive(pathsFor(dataDir, datasetId, number).claim, claim, root.tmp)) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`No dataset with id "${datasetId}".`);
        throw diskError(error);
      }
      number++; // another process issued it
    }
    entry.highestIssued = number;
    return number;
  }

  function versionFile(version: Version, data: Omit<DataInfo, "hasStats">): string {
    return toJson({ layout: LAYOUT, version, data });
  }

  async function writeDatasetFile(dataset: DatasetFile["dataset"]): Promise<void> {
    await writeFileDurably(pathsFor(dataDir, dataset.id).meta, toJson({ layout: LAYOUT, dataset }), root.tmp);
  }

  /** Runs `removal` now, or once no request is reading any of `keys` (their files stay until then). */
  async function afterReaders(keys: string[], removal: () => Promise<void>): Promise<void> {
    if (keys.every((k) => !pins.isPinned(k))) return removal();
    track(pins.whenFree(keys).then(removal));
  }

  function forget(k: string): void {
    info.delete(k);
    cache.delete(k);
    statsCache.delete(k);
  }

  /** Loads a version into the cache after a cold read, if it can ever fit. */
  function loadInBackground(k: string, file: string): void {
    const meta = info.get(k);
    if (!backgroundLoad || closed || !meta || meta.frameBytes > budgetBytes || loading.has(k) || cache.has(k)) return;
    loading.add(k);
    pins.pin(k); // keeps the file in place if the version is deleted meanwhile
    track(
      (async () => {
        try {
          const frame = await scanDataFile(file).collect();
          if (info.has(k) && !closed) cache.set(k, frame, estimatedBytes(frame));
        } catch (error) {
          warn(`storage: loading ${file} into the cache failed: ${(error as Error).message}`);
        } finally {
          loading.delete(k);
          pins.unpin(k);
        }
      })(),
    );
  }

  return {
    name: "local",

    async createDataset(meta, first) {
      const datasetId = state.newDatasetId();
      const release = reserveName(meta.name, datasetId);
      // Everything is written into a staging folder and renamed into datasets/ in one step, so
      // a crash never leaves a dataset without its first version.
      const staging = tempPath(root.tmp);
      const final = pathsFor(dataDir, datasetId, 1);
      const staged = (p: string) => path.join(staging, path.relative(final.dir, p));
      try {
        await fs.mkdir(staged(final.versions), { recursive: true });
        const data = await writeData(first, staged(final.data));
        await writeAndSync(staged(final.claim), toJson({ pid: process.pid, claimedAt: nowIso() }), "wx");
        const createdAt = nowIso();
        const version = versionRecord(datasetId, 1, first);
        const dataset = { id: datasetId, name: meta.name, description: meta.description, createdAt, updatedAt: version.createdAt };
        await writeAndSync(staged(final.record), versionFile(version, data));
        await writeAndSync(staged(final.meta), toJson({ layout: LAYOUT, dataset }));
        await fsyncPath(staged(final.versions));
        await fsyncPath(staging);
        await fs.rename(staging, final.dir);
        await fsyncPath(root.datasets);
        const entry: DatasetEntry = { dataset, highestIssued: 1, versions: new Map([[1, version]]) };
        release();
        state.add(entry);
        info.set(key(datasetId, 1), { ...data, hasStats: false });
        return { dataset: datasetView(entry), version };
      } catch (error) {
        await removeQuietly(staging);
        throw diskError(error);
      } finally {
        release();
      }
    },

    async importDataset(meta, versions) {
      assertImportNumbering(meta, versions);
      const datasetId = state.newDatasetId();
      const release = reserveName(meta.name, datasetId);
      // Like createDataset: staged whole, then renamed into datasets/ in one step.
      const staging = tempPath(root.tmp);
      const top = pathsFor(dataDir, datasetId, meta.highestIssued);
      const staged = (p: string) => path.join(staging, path.relative(top.dir, p));
      try {
        await fs.mkdir(staged(top.versions), { recursive: true });
        const claim = toJson({ pid: process.pid, claimedAt: nowIso() });
        const records: Version[] = [];
        const sizes: Omit<DataInfo, "hasStats">[] = [];
        for (const v of versions) {
          const paths = pathsFor(dataDir, datasetId, v.version);
          const data = await writeData(v, staged(paths.data));
          const version = importedRecord(datasetId, v);
          await writeAndSync(staged(paths.claim), claim, "wx");
          await writeAndSync(staged(paths.record), versionFile(version, data));
          records.push(version);
          sizes.push(data);
        }
        // numbers issued and since deleted stay issued: the highest one's claim says so
        if (records.at(-1)?.version !== meta.highestIssued) await writeAndSync(staged(top.claim), claim, "wx");
        const dataset = { id: datasetId, name: meta.name, description: meta.description, createdAt: meta.createdAt, updatedAt: meta.updatedAt };
        await writeAndSync(staged(top.meta), toJson({ layout: LAYOUT, dataset }));
        await fsyncPath(staged(top.versions));
        await fsyncPath(staging);
        await fs.rename(staging, top.dir);
        await fsyncPath(root.datasets);
        const entry: DatasetEntry = { dataset, highestIssued: meta.highestIssued, versions: new Map(records.map((r) => [r.version, r])) };
        release();
        state.add(entry);
        records.forEach((r, i) => info.set(key(datasetId, r.version), { ...(sizes[i] as Omit<DataInfo, "hasStats">), hasStats: false }));
        return { dataset: datasetView(entry), versions: records };
      } catch (error) {
        await removeQuietly(staging);
        throw diskError(error);
      } finally {
        release();
      }
    },

    ...registryReads(state),

    async updateDataset(datasetId, patch) {
      state.entry(datasetId);
      return lock.run(datasetId, async () => {
        const entry = state.entry(datasetId);
        const release = patch.name === undefined ? () => {} : reserveName(patch.name, datasetId);
        try {
          const next = { ...entry.dataset, updatedAt: nowIso() };
          if (patch.name !== undefined) next.name = patch.name;
          if (patch.description !== undefined) next.description = patch.description;
          await writeDatasetFile(next);
          if (patch.name !== undefined) state.rename(entry, patch.name);
          entry.dataset.description = next.description;
          entry.dataset.updatedAt = next.updatedAt;
          return datasetView(entry);
        } finally {
          release();
        }
      });
    },

    async deleteDataset(datasetId) {
      state.entry(datasetId);
      const keys = await lock.run(datasetId, async () => {
        const entry = state.entry(datasetId);
        const paths = pathsFor(dataDir, datasetId);
        // Removing dataset.json is the commit point: a folder without it is deleted, whatever is left.
        await fs.unlink(paths.meta);
        await fsyncPath(paths.dir);
        state.remove(datasetId);
        const keys = [...entry.versions.keys()].map((n) => key(datasetId, n));
        keys.forEach(forget);
        return keys;
      });
      await afterReaders(keys, () => removeQuietly(pathsFor(dataDir, datasetId).dir));
    },

    async addVersion(datasetId, next) {
      state.entry(datasetId);
      // The slow part (writing Parquet) runs outside the lock; numbers are issued only when the
      // data is safely on disk, so a failed upload leaves no gap.
      const tmp = tempPath(root.tmp, ".parquet");
      try {
        const data = await writeData(next, tmp);
        return await lock.run(datasetId, async () => {
          const entry = state.entry(datasetId);
          const number = await claimNext(datasetId, entry);
          const paths = pathsFor(dataDir, datasetId, number);
          let version: Version;
          try {
            await fs.rename(tmp, paths.data);
            version = versionRecord(datasetId, number, next);
            // The metadata file is the commit point; its folder fsync also makes the claim and data durable.
            await writeFileDurably(paths.record, versionFile(version, data), root.tmp);
          } catch (error) {
            // Give the number back: nothing under it was committed.
            await removeQuietly(paths.record);
            await removeQuietly(paths.data);
            await removeQuietly(paths.claim);
            if (entry.highestIssued === number) entry.highestIssued = number - 1;
            throw diskError(error);
          }
          entry.versions.set(number, version);
          entry.dataset.updatedAt = version.createdAt;
          info.set(key(datasetId, number), { ...data, hasStats: false });
          return { dataset: datasetView(entry), version };
        });
      } finally {
        await removeQuietly(tmp);
      }
    },

    async listVersions(datasetId) {
      return sortedVersions(state.entry(datasetId));
    },

    async getVersion(datasetId, selector: VersionSelector) {
      return state.version(datasetId, selector);
    },

    async deleteVersion(datasetId, selector) {
      state.version(datasetId, selector);
      const { number, paths } = await lock.run(datasetId, async () => {
        const version = state.version(datasetId, selector);
        const entry = state.entry(datasetId);
        const paths = pathsFor(dataDir, datasetId, version.version);
        // Removing the metadata is the commit point; the claim stays so the number is never reissued.
        await fs.unlink(paths.record);
        await fsyncPath(paths.versions);
        entry.versions.delete(version.version);
        entry.dataset.updatedAt = nowIso();
        forget(key(datasetId, version.version));
        await writeDatasetFile(entry.dataset);
        return { number: version.version, paths };
      });
      await afterReaders([key(datasetId, number)], async () => {
        await removeQuietly(paths.data);
        await removeQuietly(paths.stats);
      });
    },

    async read(datasetId, selector, fn) {
      const version = state.version(datasetId, selector);
      const k = key(datasetId, version.version);
      const file = pathsFor(dataDir, datasetId, version.version).data;
      pins.pin(k);
      let cold = false;
      try {
        const frame = cache.get(k);
        cold = frame === undefined;
        // A cold version is scanned, so a first page reads only the row groups and columns it needs.
        const lazy = frame === undefined ? () => scanDataFile(file) : () => lazyOf(frame);
        return await fn({ version, lazy, frame: () => frame });
      } finally {
        pins.unpin(k);
        if (cold) loadInBackground(k, file);
      }
    },

    async getStats(datasetId, version) {
      const k = key(datasetId, version);
      const meta = info.get(k);
      if (!meta?.hasStats) return undefined;
      if (statsCache.has(k)) return statsCache.get(k);
      const text = await readIfExists(pathsFor(dataDir, datasetId, version).stats);
      if (text === null || !info.has(k)) return undefined;
      try {
        const stats = parseStatsFile(text);
        statsCache.set(k, stats, text.length);
        return stats;
      } catch (error) {
        warn(`storage: stats of version ${version} of dataset ${datasetId} are unreadable and will be recomputed: ${(error as Error).message}`);
        return undefined;
      }
    },

    async saveStats(datasetId, version, stats) {
      const k = key(datasetId, version);
      if (!info.has(k)) return;
      await lock.run(datasetId, async () => {
        const meta = info.get(k);
        if (!meta) return;
        const text = toJson({ layout: LAYOUT, stats });
        await writeFileDurably(pathsFor(dataDir, datasetId, version).stats, text, root.tmp);
        meta.hasStats = true;
        // Keep what a restart would read back, so answers are the same before and after one.
        statsCache.set(k, parseStatsFile(text), text.length);
      });
    },

    async health() {
      let diskBytes = 0;
      for (const meta of info.values()) diskBytes += meta.fileBytes;
      return {
        ...state.counts(),
        dataBytes: cache.bytes,
        budgetBytes,
        details: {
          diskBytes,
          cachedBytes: cache.bytes,
          cachedVersions: cache.size,
          cacheHits: cache.hits,
          cacheMisses: cache.misses,
          cacheEvictions: cache.evictions,
          excludedVersions: scan.excludedVersions,
        },
      };
    },

    settled,

    async close() {
      closed = true;
      await settled();
      cache.clear();
      statsCache.clear();
    },
  };
}

/** A lazy scan of one data file: the path is a file name, never a glob or a hive-partitioned folder. */
function scanDataFile(file: string): pl.LazyDataFrame {
  return pl.scanParquet(file, { glob: false, hivePartitioning: false });
}

/** A full disk is the client's 507, not a 500. */
function diskError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : "";
  if (code === "ENOSPC" || code === "EDQUOT" || /os error (28|122)\b/.test(message)) {
    return storageFull("The disk holding DATA_DIR is full; nothing was stored. Free space or delete versions.");
  }
  return error;
}
