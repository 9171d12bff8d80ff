/**
 * The versioned registry: one interface, implemented by every backend (storage/memory.ts,
 * storage/local.ts, storage/postgres.ts) and checked by one contract suite (test/storage-contract.ts).
 * Version numbers are assigned here, at commit time, so failed uploads leave no gaps.
 *
 * Every version has a data file (Parquet) with a checksum, written once by the parser child and
 * verified whenever it is read (docs/design.md): a damaged version is never served.
 */
import type pl from "nodejs-polars";
import type { ColumnInfo, Dataset, SourceInfo, Version } from "../types.ts";
import type { Checksum } from "./checksum.ts";

export type { Checksum } from "./checksum.ts";

export type VersionSelector = number | "latest";

/**
 * A parsed upload, ready to become a version: the data file the parser child wrote (at a path
 * from `Storage.stagingPath()`) and its facts. On a successful commit the backend owns the file
 * (moves it into place, uploads it, or keeps it); when the commit fails the caller removes it.
 */
export interface NewVersion {
  /** Parquet file with the version's rows, proven renderable (ingest/renderable.ts). */
  dataFile: string;
  source: SourceInfo;
  columns: ColumnInfo[];
  rowCount: number;
  /** Polars' estimate of the frame's size in memory (budgets and caching decide on it). */
  frameBytes: number;
  checksum: Checksum;
}

/** A version's data file as query workers read it: a local path and the checksum to verify it with. */
export interface DataFileRef {
  path: string;
  checksum: Checksum;
}

/** What a `read` callback will read in this process, so a backend verifies exactly those bytes first. */
export interface ReadOptions {
  /**
   * The rows the callback reads through `lazy()` (an unfiltered page). `{offset: 0, limit: 0}`:
   * none (it only hands `dataFile()` to a query worker, or reads the schema). Absent: any.
   */
  rows?: { offset: number; limit: number };
}

/** A version recreated with its original number, creation time and source (import). */
export interface ImportedVersion extends NewVersion {
  version: number;
  createdAt: string;
}

/** The dataset metadata an import recreates (the dataset gets a new id). */
export interface ImportedDataset {
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  /** Highest number ever issued (deleted ones too): later versions are numbered after it. */
  highestIssued: number;
}

export interface DatasetQuery {
  offset: number;
  limit: number;
  /** Exact name, compared case-insensitively. */
  name?: string;
}

/** Read access to one version's data. Valid only inside `Storage.read`'s callback. */
export interface VersionData {
  readonly version: Version;
  /**
   * A lazy frame over the version's rows in stored order; nothing is loaded until collected.
   * For a version not in memory it reads the data file, of which only the bytes announced in
   * `ReadOptions.rows` (or all, without it) were verified.
   */
  lazy(): pl.LazyDataFrame;
  /** The version's rows as an in-memory frame when the backend holds one (cheap eager slicing), else undefined. */
  frame(): pl.DataFrame | undefined;
  /** The version's data file for a query worker (which verifies it against the checksum). */
  dataFile(): Promise<DataFileRef>;
  /**
   * Tells the backend that the data file failed verification (a query worker found it missing or
   * damaged). "repaired": the backend rewrote it from an intact copy, retry; "excluded": the
   * version is no longer served (410 VERSION_DAMAGED), logged and counted in health.
   */
  reportDamaged(reason: string): Promise<"repaired" | "excluded">;
}

export interface StorageHealth {
  datasets: number;
  versions: number;
  /** Bytes of dataframes held in memory. */
  dataBytes: number;
  budgetBytes: number;
  /** Backend-specific figures (bytes on disk, cache counters, …). */
  details: Record<string, number>;
}

export interface Storage {
  /** The backend's name, as reported by /api/health. */
  readonly name: string;

  createDataset(meta: { name: string; description: string }, first: NewVersion): Promise<{ dataset: Dataset; version: Version }>;
  /**
   * Creates a dataset holding `versions` under their own numbers (ascending, each ≤
   * `meta.highestIssued`), all or nothing: nothing is visible until every version is stored.
   */
  importDataset(meta: ImportedDataset, versions: ImportedVersion[]): Promise<{ dataset: Dataset; versions: Version[] }>;
  /** The highest version number ever issued in the dataset, deleted versions included (export keeps it). */
  highestIssued(datasetId: string): Promise<number>;
  findByName(name: string): Promise<Dataset | null>;
  listDatasets(query: DatasetQuery): Promise<{ items: Dataset[]; total: number }>;
  getDataset(datasetId: string): Promise<Dataset>;
  updateDataset(datasetId: string, patch: { name?: string; description?: string }): Promise<Dataset>;
  deleteDataset(datasetId: string): Promise<void>;

  addVersion(datasetId: string, next: NewVersion): Promise<{ dataset: Dataset; version: Version }>;
  listVersions(datasetId: string): Promise<Version[]>;
  getVersion(datasetId: string, version: VersionSelector): Promise<Version>;
  deleteVersion(datasetId: string, version: VersionSelector): Promise<void>;

  /**
   * Where the parser child writes the next version's data file: a fresh path on the file system
   * the backend commits from (so a commit can rename). Nothing is created there yet.
   */
  stagingPath(): string;

  /**
   * Runs `fn` with the version's data pinned (never evicted or deleted while `fn` runs). Throws
   * 410 VERSION_DAMAGED when the version's data is missing or fails its checksum.
   */
  read<T>(datasetId: string, version: VersionSelector, fn: (data: VersionData) => Promise<T>, options?: ReadOptions): Promise<T>;

  /** Cached statistics of a version (JSON-ready), computed once and kept with its metadata. */
  getStats(datasetId: string, version: number): Promise<unknown | undefined>;
  saveStats(datasetId: string, version: number, stats: unknown): Promise<void>;

  health(): Promise<StorageHealth>;
  close(): Promise<void>;
}
