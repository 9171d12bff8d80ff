/**
 * The versioned registry: one interface, implemented by every backend (storage/memory.ts,
 * storage/local.ts) and checked by one contract suite (test/storage.contract.test.ts).
 * Version numbers are assigned here, at commit time, so failed uploads leave no gaps.
 */
import type pl from "nodejs-polars";
import type { Dataset, SourceInfo, Version } from "../types.ts";

export type VersionSelector = number | "latest";

/** A parsed upload, ready to become a version. */
export interface NewVersion {
  frame: pl.DataFrame;
  source: SourceInfo;
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
  /** A lazy frame over the version's rows in stored order; nothing is loaded until collected. */
  lazy(): pl.LazyDataFrame;
  /** The version's rows as an in-memory frame when the backend holds one (cheap eager slicing), else undefined. */
  frame(): pl.DataFrame | undefined;
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

  /** Runs `fn` with the version's data pinned (never evicted while `fn` runs). */
  read<T>(datasetId: string, version: VersionSelector, fn: (data: VersionData) => Promise<T>): Promise<T>;

  /** Cached statistics of a version (JSON-ready), computed once and kept with its metadata. */
  getStats(datasetId: string, version: number): Promise<unknown | undefined>;
  saveStats(datasetId: string, version: number, stats: unknown): Promise<void>;

  health(): Promise<StorageHealth>;
  close(): Promise<void>;
}
