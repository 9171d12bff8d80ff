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
import { ApiError, nameTaken, notFound, storageFull, versionDamaged } from "../errors.ts";
import type { ColumnInfo, Version } from "../types.ts";
import type { Checksum } from "./checksum.ts";
import { createExclusive, fsyncPath, moveFile, parquetProblem, readIfExists, removeQuietly, tempPath, writeAndSync, writeFileDurably } from "./local-fs.ts";
import { LAYOUT, parseStatsFile, toJson, type DatasetFile, type VersionFile } from "./local-records.ts";
import { scanDataDir, type Warn } from "./local-scan.ts";
import { FrameCache } from "./frame-cache.ts";
import { KeyedLock } from "./local-sync.ts";
import { ByteLru } from "./lru.ts";
import { ReadVerifier } from "./verify-read.ts";
import { pathsFor } from "./paths.ts";
import { assertImportNumbering, datasetView, importedRecord, nowIso, RegistryState, registryReads, sortedVersions, versionRecord, type DatasetEntry } from "./registry.ts";
import type { NewVersion, ReadOptions, Storage, VersionSelector } from "./types.ts";

/**
 * Proves a data file written by an earlier build (layout 1): renders its values in every format
 * and checksums it, isolated (a query worker). Resolves with what it found; rejects with an
 * ApiError 422 UNPARSEABLE_FILE when the values cannot be served, or another error when the
 * proof could not run (then it is tried again on the next read).
 */
export type ProveStored = (file: string) => Promise<{ checksum: Checksum; columns: ColumnInfo[]; rowCount: number }>;

export interface LocalStorageOptions {
  dataDir: string;
  budgetBytes: number;
  /** After a read of a version that was not cached, load it into the cache in the background. Default true. */
  backgroundLoad?: boolean;
  /** Where damaged or unexpected files are reported. Default console.warn. */
  warn?: Warn;
  /** Proves layout-1 versions before they are first served; without it they are not served. */
  prove?: ProveStored;
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
  /** Absent for a layout-1 version until it is proven. */
  checksum?: Checksum;
  /** Blocks of the data file verified by this process (cold pages verify only what they read), and its decoded footer. */
  verified?: ReadVerifier;
  /** A running proof of a layout-1 version. */
  proving?: Promise<void>;
  /** Why the version is no longer served (missing or damaged data file, unrenderable values). */
  damaged?: string;
}

type FileSizes = Pick<DataInfo, "fileBytes" | "frameBytes">;

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
  const lock = new KeyedLock();
  const frames = new FrameCache({ budgetBytes, backgroundLoad, warn });
  const statsCache = new ByteLru<unknown>(STATS_CACHE_BYTES);
  /** Names promised to a dataset whose files are still being written (nameKey → datasetId). */
  const reservedNames = new Map<string, string>();

  const key = (datasetId: string, version: number) => `${datasetId}/${version}`;

  const scan = await scanDataDir(dataDir, warn);
  for (const found of scan.datasets) {
    const entry: DatasetEntry = { dataset: found.dataset, highestIssued: found.highestIssued, versions: new Map() };
    for (const v of found.versions) {
      entry.versions.set(v.version.version, v.version);
      info.set(key(found.dataset.id, v.version.version), {
        fileBytes: v.fileBytes,
        frameBytes: v.frameBytes,
        hasStats: v.hasStats,
        ...(v.checksum ? { checksum: v.checksum } : {}),
        ...(v.damaged ? { damaged: v.damaged } : {}),
      });
    }
    if (state.findIdByName(entry.dataset.name) !== undefined) {
      // Only two servers sharing DATA_DIR can get here (names are unique per process).
      warn(`storage: dataset ${entry.dataset.id} shares its name "${entry.dataset.name}" with another; it is served as "${entry.dataset.name} (${entry.dataset.id})"`);
      entry.dataset.name = `${entry.dataset.name} (${entry.dataset.id})`;
    }
    state.add(entry);
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

  /**
   * Takes the parser child's data file as it is (a rename: it is on DATA_DIR's file system when it
   * came from `stagingPath()`), fsyncs it and checks its size against the checksum.
   */
  async function takeData(next: NewVersion, file: string): Promise<FileSizes> {
    try {
      await moveFile(next.dataFile, file);
      await fsyncPath(file);
      const { size } = await fs.stat(file);
      if (size !== next.checksum.bytes) throw new Error(`the new data file has ${size} bytes, its checksum says ${next.checksum.bytes}`);
      return { fileBytes: size, frameBytes: next.frameBytes };
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

  function versionFile(version: Version, data: FileSizes, checksum: Checksum): string {
    const record: VersionFile = { layout: LAYOUT, version, data: { fileBytes: data.fileBytes, frameBytes: data.frameBytes, checksum, proven: true } };
    return toJson(record);
  }

  async function writeDatasetFile(dataset: DatasetFile["dataset"]): Promise<void> {
    await writeFileDurably(pathsFor(dataDir, dataset.id).meta, toJson({ layout: LAYOUT, dataset }), root.tmp);
  }

  /** Runs `removal` now, or once no request is reading any of `keys` (their files stay until then). */
  async function afterReaders(keys: string[], removal: () => Promise<void>): Promise<void> {
    return frames.afterReaders(keys, removal);
  }

  function forget(k: string): void {
    info.delete(k);
    frames.forget(k);
    statsCache.delete(k);
  }

  /** Stops serving a version whose data is missing or damaged; its files stay for a person to inspect. */
  function markDamaged(k: string, file: string, reason: string): void {
    const meta = info.get(k);
    if (!meta || meta.damaged !== undefined) return;
    meta.damaged = reason;
    frames.forget(k);
    statsCache.delete(k);
    const [datasetId, number] = k.split("/");
    warn(`storage: version ${number} of dataset ${datasetId} excluded: ${reason} (${file})`);
  }

  function damagedError(k: string): ApiError {
    const [datasetId, number] = k.split("/");
    const reason = info.get(k)?.damaged ?? "its data file is damaged";
    return versionDamaged(`Version ${number} of dataset "${datasetId}" cannot be served: ${reason}. It is kept for inspection; restore its data file from a backup or delete the version.`);
  }

  /**
   * Proves a layout-1 version once (in a query worker) and records the result as layout 2, or
   * marks it damaged when its values cannot be served.
   */
  function proveOnce(k: string, datasetId: string, number: number, meta: DataInfo): Promise<void> {
    if (meta.checksum) return Promise.resolve();
    if (meta.proving) return meta.proving;
    const paths = pathsFor(dataDir, datasetId, number);
    if (!options.prove) {
      markDamaged(k, paths.data, "it was written by an earlier build and cannot be verified here (no query workers)");
      return Promise.resolve();
    }
    const prove = options.prove;
    const work = (async () => {
      const problem = await parquetFileProblem(paths.data, meta.fileBytes);
      if (problem) return markDamaged(k, paths.data, problem);
      let proof: Awaited<ReturnType<ProveStored>>;
      try {
        proof = await prove(paths.data);
      } catch (error) {
        // the file's own fault: never served; anything else (busy, limits): tried again next time
        if (error instanceof ApiError && error.code === "UNPARSEABLE_FILE") return markDamaged(k, paths.data, `its values cannot be served: ${error.message.replace(/\s*Nothing was stored\.$/, "").replace(/[.;]$/, "")}`);
        throw error;
      }
      const version = state.version(datasetId, number);
      const same = proof.rowCount === version.rowCount && proof.columns.length === version.columns.length && proof.columns.every((c, i) => c.name === version.columns[i]?.name && c.dtype === version.columns[i]?.dtype);
      if (!same || proof.checksum.bytes !== meta.fileBytes) return markDamaged(k, paths.data, "its data file does not hold the rows and columns its metadata describes");
      await lock.run(datasetId, async () => {
        if (!info.has(k)) return;
        await writeFileDurably(paths.record, versionFile(version, meta, proof.checksum), root.tmp);
        meta.checksum = proof.checksum;
        // what was just hashed is what the proof read
        meta.verified = undefined;
      });
    })().finally(() => {
      meta.proving = undefined;
    });
    meta.proving = work;
    return work;
  }

  /**
   * Verifies what a read of a cold version will decode: the footer, then the row groups holding
   * `rows` (or every block without `rows`). Returns what is wrong, or null.
   */
  async function verifyCold(meta: DataInfo & { checksum: Checksum }, file: string, rows: ReadOptions["rows"]): Promise<string | null> {
    return (meta.verified ??= new ReadVerifier(file, meta.checksum)).verify(rows);
  }

  /** Before a cold-read version is loaded into memory: every block verified afresh, whatever cold pages checked. */
  async function verifiedForLoad(k: string, file: string): Promise<boolean> {
    const meta = info.get(k);
    if (!meta?.checksum || meta.damaged !== undefined) return false;
    const fresh = new ReadVerifier(file, meta.checksum);
    const problem = await fresh.verify(undefined);
    if (problem) {
      markDamaged(k, file, problem);
      return false;
    }
    meta.verified = fresh;
    return true;
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
        const data = await takeData(first, staged(final.data));
        await writeAndSync(staged(final.claim), toJson({ pid: process.pid, claimedAt: nowIso() }), "wx");
        const createdAt = nowIso();
        const version = versionRecord(datasetId, 1, first);
        const dataset = { id: datasetId, name: meta.name, description: meta.description, createdAt, updatedAt: version.createdAt };
        await writeAndSync(staged(final.record), versionFile(version, data, first.checksum));
        await writeAndSync(staged(final.meta), toJson({ layout: LAYOUT, dataset }));
        await fsyncPath(staged(final.versions));
        await fsyncPath(staging);
        await fs.rename(staging, final.dir);
        await fsyncPath(root.datasets);
        const entry: DatasetEntry = { dataset, highestIssued: 1, versions: new Map([[1, version]]) };
        release();
        state.add(entry);
        info.set(key(datasetId, 1), { ...data, hasStats: false, checksum: first.checksum });
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
        const sizes: FileSizes[] = [];
        for (const v of versions) {
          const paths = pathsFor(dataDir, datasetId, v.version);
          const data = await takeData(v, staged(paths.data));
          const version = importedRecord(datasetId, v);
          await writeAndSync(staged(paths.claim), claim, "wx");
          await writeAndSync(staged(paths.record), versionFile(version, data, v.checksum));
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
        records.forEach((r, i) => info.set(key(datasetId, r.version), { ...(sizes[i] as FileSizes), hasStats: false, checksum: (versions[i] as NewVersion).checksum }));
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
        const data = await takeData(next, tmp);
        return await lock.run(datasetId, async () => {
          const entry = state.entry(datasetId);
          const number = await claimNext(datasetId, entry);
          const paths = pathsFor(dataDir, datasetId, number);
          let version: Version;
          try {
            await fs.rename(tmp, paths.data);
            version = versionRecord(datasetId, number, next);
            // The metadata file is the commit point; its folder fsync also makes the claim and data durable.
            await writeFileDurably(paths.record, versionFile(version, data, next.checksum), root.tmp);
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
          info.set(key(datasetId, number), { ...data, hasStats: false, checksum: next.checksum });
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

    stagingPath() {
      return tempPath(root.tmp, ".parquet");
    },

    async read(datasetId, selector, fn, readOptions = {}) {
      const version = state.version(datasetId, selector);
      const k = key(datasetId, version.version);
      const file = pathsFor(dataDir, datasetId, version.version).data;
      const live = () => {
        const meta = info.get(k);
        if (!meta) throw notFound(`Dataset "${datasetId}" has no version ${version.version}.`);
        if (meta.damaged !== undefined) throw damagedError(k);
        return meta as DataInfo & { checksum: Checksum };
      };
      const prepare = async () => {
        const meta = info.get(k);
        if (meta && meta.damaged === undefined && !meta.checksum) await proveOnce(k, datasetId, version.version, meta);
        live();
      };
      // A cold version is scanned, so a first page reads only the row groups and columns it needs,
      // after the blocks it decodes were verified.
      const cold = async () => {
        const meta = live();
        const problem = await verifyCold(meta, file, readOptions.rows).catch((error: unknown) => {
          throw diskError(error);
        });
        if (problem) {
          markDamaged(k, file, problem);
          throw damagedError(k);
        }
        return { scan: () => scanDataFile(file), frameBytes: meta.frameBytes, beforeLoad: () => verifiedForLoad(k, file) };
      };
      return frames.read(
        k,
        cold,
        async (lazy, frame) => {
          const meta = live();
          const checksum = meta.checksum;
          try {
            return await fn({
              version,
              lazy,
              frame: () => frame,
              dataFile: async () => ({ path: file, checksum }),
              async reportDamaged(reason) {
                markDamaged(k, file, reason);
                return "excluded";
              },
            });
          } catch (error) {
            // the file went away under a running server (or was cut short): that version, not a 500
            if (!(error instanceof ApiError) && frame === undefined) {
              const problem = await parquetFileProblem(file, meta.fileBytes);
              if (problem) {
                markDamaged(k, file, problem);
                throw damagedError(k);
              }
            }
            throw error;
          }
        },
        prepare,
      );
    },

    async getStats(datasetId, version) {
      const k = key(datasetId, version);
      const meta = info.get(k);
      // stats of a layout-1 version are served only once its data is proven
      if (meta && meta.damaged === undefined && !meta.checksum) await proveOnce(k, datasetId, version, meta);
      if (meta?.damaged !== undefined) throw damagedError(k);
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
      let damaged = 0;
      let unproven = 0;
      for (const meta of info.values()) {
        diskBytes += meta.fileBytes;
        if (meta.damaged !== undefined) damaged++;
        else if (!meta.checksum) unproven++;
      }
      return {
        ...state.counts(),
        dataBytes: frames.bytes,
        budgetBytes,
        details: {
          diskBytes,
          ...frames.figures(),
          excludedVersions: scan.excludedVersions + damaged,
          unverifiedVersions: unproven,
        },
      };
    },

    settled: () => frames.settled(),

    async close() {
      await frames.close();
      statsCache.clear();
    },
  };
}

/** A lazy scan of one data file: the path is a file name, never a glob or a hive-partitioned folder. */
function scanDataFile(file: string): pl.LazyDataFrame {
  return pl.scanParquet(file, { glob: false, hivePartitioning: false });
}

/** What is wrong with a data file at a glance (missing, wrong size, no magic), or null. */
async function parquetFileProblem(file: string, expectedBytes: number): Promise<string | null> {
  const problem = await parquetProblem(file, expectedBytes);
  return problem === null ? null : `its ${problem}`;
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
