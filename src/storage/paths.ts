/**
 * The one place where ids become file-system paths for the `local` backend. Nothing else in the
 * backend joins an id into a path: a dataset id that is not a UUID or a version that is not a
 * positive integer is rejected here, so user input can never name a file outside `DATA_DIR`.
 * The layout is documented in docs/storage-layout.md.
 */
import path from "node:path";
import { notFound } from "../errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Version files are named by the zero-padded number so `ls` lists them in order. */
const VERSION_FILE = /^(\d{6,})\.(claim|parquet|json|stats\.json)$/;

export type VersionFileKind = "claim" | "parquet" | "json" | "stats.json";

/** True for the ids this service makes (lower-case UUIDs). */
export function isDatasetId(value: string): boolean {
  return UUID.test(value);
}

/** True for a version number that can name a file. */
export function isVersionNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

/** Folders that hold no dataset: start-up and temp files use them. */
export interface RootPaths {
  root: string;
  /** One folder per dataset, named by its id. */
  datasets: string;
  /** Temporary files and staging folders, named `<pid>-<random>…` so their owner can be told. */
  tmp: string;
}

export interface DatasetPaths extends RootPaths {
  dir: string;
  /** The dataset's metadata: its existence is what makes the dataset exist. */
  meta: string;
  versions: string;
}

export interface VersionPaths extends DatasetPaths {
  /** Exclusive-create marker: the number is issued. Stays after the version is deleted. */
  claim: string;
  data: string;
  /** The version's metadata: the commit point. */
  record: string;
  stats: string;
}

/**
 * Maps ids to paths under `dataDir`. Throws 404 NOT_FOUND for an id that is not a UUID or a
 * version that is not a positive integer, so no other string can reach the file system.
 */
export function pathsFor(dataDir: string): RootPaths;
export function pathsFor(dataDir: string, datasetId: string): DatasetPaths;
export function pathsFor(dataDir: string, datasetId: string, version: number): VersionPaths;
export function pathsFor(dataDir: string, datasetId?: string, version?: number): RootPaths | DatasetPaths | VersionPaths {
  const root = path.resolve(dataDir);
  const base: RootPaths = { root, datasets: path.join(root, "datasets"), tmp: path.join(root, "tmp") };
  if (datasetId === undefined) return base;
  if (!isDatasetId(datasetId)) throw notFound(`No dataset with id "${datasetId}".`);
  const dir = path.join(base.datasets, datasetId);
  const versions = path.join(dir, "versions");
  const dataset: DatasetPaths = { ...base, dir, meta: path.join(dir, "dataset.json"), versions };
  if (version === undefined) return dataset;
  if (!isVersionNumber(version)) throw notFound(`Dataset "${datasetId}" has no version ${String(version)}.`);
  const stem = path.join(versions, String(version).padStart(6, "0"));
  return { ...dataset, claim: `${stem}.claim`, data: `${stem}.parquet`, record: `${stem}.json`, stats: `${stem}.stats.json` };
}

/** Reads a file name inside a `versions` folder; null for anything that is not a version file. */
export function parseVersionFileName(name: string): { version: number; kind: VersionFileKind } | null {
  const m = VERSION_FILE.exec(name);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const version = Number(m[1]);
  return isVersionNumber(version) ? { version, kind: m[2] as VersionFileKind } : null;
}
