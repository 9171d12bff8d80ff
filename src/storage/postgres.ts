/**
 * The `postgres` backend: the registry (datasets, versions, numbering, names, statistics,
 * checksums) in PostgreSQL at DATABASE_URL, each version's rows as an immutable Parquet object
 * under OBJECT_STORE_URL, and any number of instances sharing both. Each instance keeps recently
 * used versions in memory (the FrameCache `local` uses) and reads everything else through to the
 * database, so what one instance commits, renames or deletes is what every other serves next.
 *
 * Commit protocol (docs/deploy.md): record the object as pending → write the object under a
 * fresh unique key → one transaction that consumes the pending row, issues the number and inserts
 * the version. A crash at any point leaves at most an object no version points to, which the
 * sweep removes; never a committed version without its data.
 */
import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import pl from "nodejs-polars";
import { ApiError, versionDamaged } from "../errors.ts";
import { FrameCache } from "./frame-cache.ts";
import { isAbandonedTemp, removeQuietly, tempPath } from "./local-fs.ts";
import { ByteLru } from "./lru.ts";
import { createObjectStore, uniqueObjectKey, type ObjectStore, type ObjectStoreOptions } from "./object-store.ts";
import { checksumFile, type Checksum } from "./checksum.ts";
import { DamagedObjectError, ObjectFiles } from "./postgres-files.ts";
import { migrate } from "./postgres-migrate.ts";
import { PostgresRegistry, type ObjectRef, type VersionDraft } from "./postgres-registry.ts";
import { registerInstance, sweep, type SweepResult } from "./postgres-sweep.ts";
import { assertImportNumbering } from "./registry.ts";
import type { Dataset, Version } from "../types.ts";
import type { NewVersion, ReadOptions, Storage } from "./types.ts";

export interface PostgresStorageOptions {
  databaseUrl: string;
  objectStoreUrl: string;
  budgetBytes: number;
  /** How long objects of deleted versions (and unknown objects) stay before a sweep removes them. */
  orphanGraceMs: number;
  /** Folder and byte budget of this machine's copies of s3:// objects. */
  objectCacheDir?: string;
  objectCacheBytes?: number;
  /** Database connections per instance. */
  poolSize?: number;
  objectStore?: ObjectStoreOptions;
  /** Sweep at start-up and then every this many ms (0: only when `sweep()` is called). */
  sweepIntervalMs?: number;
  backgroundLoad?: boolean;
  warn?: (message: string) => void;
}

/** The import API of issue 14 (`Storage.importDataset`); structurally the same as its types once they land. */
export interface ImportMeta {
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  highestIssued: number;
}
export type ImportVersion = NewVersion & { version: number; createdAt: string };

export interface PostgresStorage extends Storage {
  /** A dataset whose versions keep their numbers, times and sources, all or nothing. */
  importDataset(meta: ImportMeta, versions: ImportVersion[]): Promise<{ dataset: Dataset; versions: Version[] }>;
  /** The highest version number ever issued in the dataset, deleted versions included. */
  highestIssued(datasetId: string): Promise<number>;
  /** Runs a sweep now (null when another instance is sweeping). */
  sweep(): Promise<SweepResult | null>;
  /** Resolves once background cache loads and deferred removals have finished. */
  settled(): Promise<void>;
  readonly instanceId: number;
}

const STATS_CACHE_BYTES = 16 * 1024 * 1024;
const VERSION_CACHE_BYTES = 16 * 1024 * 1024;
const DEFAULT_SWEEP_MS = 10 * 60_000;

export async function createPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
  // An idle connection that breaks is replaced by the pool; without a listener it would crash the process.
  let closing = false;
  pool.on("error", (error) => {
    if (!closing) warn(`storage: database connection error: ${error.message}`);
  });
  let store: ObjectStore | undefined;
  let instance: Awaited<ReturnType<typeof registerInstance>> | undefined;
  try {
    await migrate(pool);
    instance = await registerInstance(options.databaseUrl, pool, warn);
    store = createObjectStore(options.objectStoreUrl, { ...options.objectStore, writerTag: instance.tag });
  } catch (error) {
    await instance?.close();
    await pool.end();
    throw new Error(`storage: cannot open the PostgreSQL registry at ${redacted(options.databaseUrl)}: ${(error as Error).message}`, { cause: error });
  }
  const registry = new PostgresRegistry(pool);
  await registry.refreshNameKeys(warn);
  const frames = new FrameCache({ budgetBytes: options.budgetBytes, backgroundLoad: options.backgroundLoad, warn });
  const files = new ObjectFiles({
    store,
    dir: options.objectCacheDir ?? path.join(os.tmpdir(), "dataset-service-object-cache"),
    budgetBytes: options.objectCacheBytes ?? 4 * 1024 ** 3,
    isPinned: (key) => frames.pins.isPinned(key),
  });
  await files.open();
  const statsCache = new ByteLru<unknown>(STATS_CACHE_BYTES);
  /** Parsed version metadata (immutable, numbers never reused): a read then fetches only the row's small columns. */
  const versionCache = new ByteLru<Version>(VERSION_CACHE_BYTES);
  // Where the parser child stages new data files (stagingPath); leftovers of dead processes are removed.
  const scratch = path.join(os.tmpdir(), "dataset-service-postgres-scratch");
  await fs.mkdir(scratch, { recursive: true });
  for (const name of await fs.readdir(scratch)) if (isAbandonedTemp(name)) await removeQuietly(path.join(scratch, name));
  const key = (datasetId: string, version: number) => `${datasetId}/${version}`;
  const ownStore = store;
  const ownInstance = instance;

  let sweeping: Promise<SweepResult | null> | null = null;
  const runSweep = (): Promise<SweepResult | null> =>
    (sweeping ??= sweep(pool, ownStore, options.orphanGraceMs).finally(() => {
      sweeping = null;
    }));
  const sweepEvery = options.sweepIntervalMs ?? DEFAULT_SWEEP_MS;
  const timer = sweepEvery > 0 ? setInterval(() => void runSweep().catch((e: Error) => warn(`storage: sweep failed: ${e.message}`)), sweepEvery) : null;
  timer?.unref();
  if (sweepEvery > 0) void runSweep().catch((e: Error) => warn(`storage: sweep failed: ${e.message}`));

  /**
   * Writes the version's data as a new object (pending until committed) and returns what the
   * registry row records about it. The object exists, whole, before any row points to it.
   */
  async function writeObject(datasetId: string, next: NewVersion): Promise<ObjectRef> {
    const objectKey = uniqueObjectKey(datasetId);
    const { checksum } = next;
    await registry.addPending(objectKey, ownInstance.id);
    try {
      // The parser child's file, as is: its checksum is the one readers verify against.
      const { size } = await fs.stat(next.dataFile);
      if (size !== checksum.bytes) throw new Error(`the staged data file has ${size} bytes, its checksum says ${checksum.bytes}`);
      await ownStore.putFile(objectKey, next.dataFile);
      return { key: objectKey, bytes: checksum.bytes, sha256: checksum.sha256, checksum, frameBytes: next.frameBytes };
    } catch (error) {
      await discard(objectKey);
      throw error;
    }
  }

  /** Removes an object whose commit failed (the sweep would, later). */
  async function discard(objectKey: string): Promise<void> {
    await ownStore.delete(objectKey).catch(() => undefined);
    await registry.dropPending(objectKey).catch(() => undefined);
  }

  function draftOf(next: NewVersion, object: ObjectRef): VersionDraft {
    return { source: next.source, rowCount: next.rowCount, columns: next.columns, object };
  }

  /**
   * After a commit fails, the object is removed (the caller removes the staged file); after one
   * succeeds, the staged file becomes this instance's copy (s3://) or is removed (file://).
   */
  async function committing<T extends { version: Version }>(next: NewVersion, object: ObjectRef, commit: () => Promise<T>): Promise<T> {
    let done: T;
    try {
      done = await commit();
    } catch (error) {
      await discard(object.key);
      throw error;
    }
    await files.adopt(key(done.version.datasetId, done.version.version), object, next.dataFile).catch(() => removeQuietly(next.dataFile));
    return done;
  }

  /** Versions found damaged on this instance (missing object, or bytes that fail the checksum). */
  const damaged = new Map<string, string>();

  function markDamaged(k: string, reason: string): void {
    if (damaged.has(k)) return;
    damaged.set(k, reason);
    frames.forget(k);
    statsCache.delete(k);
    warn(`storage: version ${k.replace("/", " v")} excluded: ${reason}`);
  }

  function damagedError(k: string): ApiError {
    const [datasetId, number] = k.split("/");
    return versionDamaged(`Version ${number} of dataset "${datasetId}" cannot be served: ${damaged.get(k) ?? "its data is damaged"}. Restore its object in the store from a backup or delete the version.`);
  }

  /** The object's checksum; an object committed before migration 002 gets one from its verified bytes. */
  async function checksumOf(k: string, object: ObjectRef, file: string): Promise<Checksum> {
    if (object.checksum) return object.checksum;
    const computed = await checksumFile(file);
    if (computed.sha256 !== object.sha256 || computed.bytes !== object.bytes) {
      markDamaged(k, "its data object does not match its checksum");
      throw damagedError(k);
    }
    await registry.setChecksum(object.key, computed);
    object.checksum = computed;
    return computed;
  }

  /** The local file of a version, verified for what the read announced; 410 when it is damaged. */
  async function verifiedFile(k: string, object: ObjectRef, rows: ReadOptions["rows"]): Promise<{ file: string; checksum: Checksum }> {
    let file: string;
    try {
      file = await files.fileFor(k, object);
    } catch (error) {
      if (error instanceof DamagedObjectError) {
        markDamaged(k, error.message);
        throw damagedError(k);
      }
      throw error;
    }
    const checksum = await checksumOf(k, object, file);
    const problem = await files.verify({ ...object, checksum }, file, rows);
    if (problem) {
      markDamaged(k, problem);
      throw damagedError(k);
    }
    return { file, checksum };
  }

  function forget(datasetId: string, numbers: number[]): void {
    const keys = numbers.map((n) => key(datasetId, n));
    for (const k of keys) {
      frames.forget(k);
      statsCache.delete(k);
      versionCache.delete(k);
      damaged.delete(k);
    }
    void frames.afterReaders(keys, async () => {
      for (const k of keys) await files.forget(k);
    });
  }

  return {
    name: "postgres",
    instanceId: ownInstance.id,

    async createDataset(meta, first) {
      await registry.assertNameFree(meta.name);
      const datasetId = randomUUID();
      const object = await writeObject(datasetId, first);
      return committing(first, object, () => registry.createDataset(datasetId, meta, draftOf(first, object)));
    },

    async importDataset(meta, versions) {
      assertImportNumbering(meta, versions);
      await registry.assertNameFree(meta.name);
      const datasetId = randomUUID();
      const objects: ObjectRef[] = [];
      try {
        for (const v of versions) objects.push(await writeObject(datasetId, v));
        const made = await registry.importDataset(
          datasetId,
          meta,
          versions.map((v, i) => ({ number: v.version, createdAt: v.createdAt, draft: draftOf(v, objects[i]!) })),
        );
        for (const [i, v] of versions.entries()) await files.adopt(key(datasetId, v.version), objects[i]!, v.dataFile).catch(() => removeQuietly(v.dataFile));
        return made;
      } catch (error) {
        for (const o of objects) await discard(o.key);
        throw error;
      }
    },

    highestIssued: (datasetId) => registry.highestIssued(datasetId),
    findByName: (name) => registry.findByName(name),
    listDatasets: (query) => registry.list(query),
    getDataset: (datasetId) => registry.dataset(datasetId),
    updateDataset: (datasetId, patch) => registry.updateDataset(datasetId, patch),

    async deleteDataset(datasetId) {
      forget(datasetId, await registry.deleteDataset(datasetId));
    },

    async addVersion(datasetId, next) {
      await registry.dataset(datasetId); // 404 before writing anything
      const object = await writeObject(datasetId, next);
      return committing(next, object, () => registry.addVersion(datasetId, draftOf(next, object)));
    },

    listVersions: (datasetId) => registry.listVersions(datasetId),

    async getVersion(datasetId, selector) {
      return (await registry.versionRow(datasetId, selector)).version;
    },

    async deleteVersion(datasetId, selector) {
      forget(datasetId, [await registry.deleteVersion(datasetId, selector)]);
    },

    stagingPath() {
      return tempPath(scratch, ".parquet");
    },

    async read(datasetId, selector, fn, readOptions = {}) {
      // Existence is always asked of the database (another instance may have deleted the version).
      const { number, object } = await registry.locate(datasetId, selector);
      const k = key(datasetId, number);
      if (damaged.has(k)) throw damagedError(k);
      let version = versionCache.get(k);
      if (!version) {
        version = (await registry.versionRow(datasetId, number)).version;
        versionCache.set(k, version, JSON.stringify(version.columns).length + 512);
      }
      const v = version;
      return frames.read(
        k,
        async () => {
          // A cold version is scanned; only the blocks this read decodes are verified first.
          const { file, checksum } = await verifiedFile(k, object, readOptions.rows);
          return {
            scan: () => pl.scanParquet(file, { glob: false, hivePartitioning: false }),
            frameBytes: object.frameBytes,
            // Every block, before the whole version is loaded into memory.
            beforeLoad: async () => {
              const problem = await files.verify({ ...object, checksum }, file, undefined);
              if (problem) markDamaged(k, problem);
              return problem === null;
            },
          };
        },
        (lazy, frame) =>
          fn({
            version: v,
            lazy,
            frame: () => frame,
            // A query worker verifies the file itself; here it only has to be on this machine.
            dataFile: async () => {
              const { file, checksum } = await verifiedFile(k, object, { offset: 0, limit: 0 });
              return { path: file, checksum };
            },
            // A query worker found the file damaged: fetch or check it afresh, once.
            async reportDamaged(reason) {
              const checksum = object.checksum ?? (await checksumOf(k, object, await files.fileFor(k, object)));
              const problem = await files.repair(k, { ...object, checksum });
              if (problem === null) return "repaired";
              markDamaged(k, `${reason}; ${problem}`);
              return "excluded";
            },
          }),
      );
    },

    async getStats(datasetId, version) {
      const k = key(datasetId, version);
      if (damaged.has(k)) throw damagedError(k);
      if (statsCache.has(k)) return statsCache.get(k);
      const text = await registry.getStats(datasetId, version);
      if (text === undefined) return undefined;
      const stats: unknown = JSON.parse(text);
      statsCache.set(k, stats, text.length);
      return stats;
    },

    async saveStats(datasetId, version, stats) {
      const text = JSON.stringify(stats);
      await registry.saveStats(datasetId, version, text);
      // Keep what another instance would read back, so answers are the same on every instance.
      const stored = await registry.getStats(datasetId, version);
      if (stored !== undefined) statsCache.set(key(datasetId, version), JSON.parse(stored), stored.length);
    },

    async health() {
      const counts = await registry.counts();
      return {
        datasets: counts.datasets,
        versions: counts.versions,
        dataBytes: frames.bytes,
        budgetBytes: options.budgetBytes,
        details: {
          objectBytes: counts.objectBytes,
          ...frames.figures(),
          objectCacheBytes: files.bytes,
          objectDownloads: files.downloads,
          excludedVersions: damaged.size,
        },
      };
    },

    sweep: runSweep,
    settled: () => frames.settled(),

    async close() {
      closing = true;
      if (timer) clearInterval(timer);
      await sweeping?.catch(() => undefined);
      await frames.close();
      await files.close();
      statsCache.clear();
      await ownInstance.close();
      await ownStore.close();
      await pool.end();
    },
  };
}

/** The database URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "DATABASE_URL";
  }
}
