/**
 * Start-up of the `local` backend: reads every dataset's and version's metadata (never the data),
 * checks each data file cheaply (size + Parquet magic), and clears what a crash can leave behind:
 * temp files of dead processes, half-deleted datasets, data files of versions never committed.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Version } from "../types.ts";
import type { Checksum } from "./checksum.ts";
import { isAbandonedTemp, isProcessAlive, parquetProblem, readIfExists, removeQuietly } from "./local-fs.ts";
import { parseClaimFile, parseDatasetFile, parseVersionFile, type DatasetFile } from "./local-records.ts";
import { isDatasetId, parseVersionFileName, pathsFor, type VersionFileKind } from "./paths.ts";

export interface ScannedVersion {
  version: Version;
  fileBytes: number;
  frameBytes: number;
  hasStats: boolean;
  /** Absent for a version written in layout 1 (not yet proven and checksummed). */
  checksum?: Checksum;
  /** Set when its data file is missing or damaged: the version is listed but never served (410). */
  damaged?: string;
}

export interface ScannedDataset {
  dataset: DatasetFile["dataset"];
  /** Highest number ever issued, from claims that outlive deleted versions. */
  highestIssued: number;
  versions: ScannedVersion[];
}

export interface ScanResult {
  datasets: ScannedDataset[];
  /** Versions whose metadata is unreadable: reported and not listed at all. */
  excludedVersions: number;
}

export type Warn = (message: string) => void;

/** Reads what is stored under `dataDir` (creating the folders on first use). */
export async function scanDataDir(dataDir: string, warn: Warn): Promise<ScanResult> {
  const root = pathsFor(dataDir);
  await fs.mkdir(root.datasets, { recursive: true });
  await fs.mkdir(root.tmp, { recursive: true });
  for (const name of await fs.readdir(root.tmp)) {
    if (isAbandonedTemp(name)) await removeQuietly(path.join(root.tmp, name));
  }
  const result: ScanResult = { datasets: [], excludedVersions: 0 };
  const names = await fs.readdir(root.datasets);
  await forEachLimited(names, 8, async (name) => {
    if (!isDatasetId(name)) {
      warn(`storage: ignoring unexpected entry ${path.join(root.datasets, name)}`);
      return;
    }
    const scanned = await scanDataset(dataDir, name, warn, result);
    if (scanned) result.datasets.push(scanned);
  });
  return result;
}

async function scanDataset(dataDir: string, datasetId: string, warn: Warn, result: ScanResult): Promise<ScannedDataset | null> {
  const paths = pathsFor(dataDir, datasetId);
  const text = await readIfExists(paths.meta);
  if (text === null) {
    // dataset.json goes first when a dataset is deleted: the rest is a deletion a crash interrupted.
    await removeQuietly(paths.dir);
    return null;
  }
  let meta: DatasetFile;
  try {
    meta = parseDatasetFile(text, datasetId);
  } catch (error) {
    warn(`storage: dataset ${datasetId} excluded: ${paths.meta}: ${(error as Error).message}`);
    return null;
  }

  const files = new Map<number, Set<VersionFileKind>>();
  for (const name of await readdirIfExists(paths.versions)) {
    const parsed = parseVersionFileName(name);
    if (!parsed) continue;
    const kinds = files.get(parsed.version) ?? new Set<VersionFileKind>();
    kinds.add(parsed.kind);
    files.set(parsed.version, kinds);
  }

  const dataset: ScannedDataset = { dataset: meta.dataset, highestIssued: Math.max(0, ...files.keys()), versions: [] };
  await forEachLimited([...files], 16, async ([number, kinds]) => {
    if (kinds.has("json")) {
      const version = await scanVersion(dataDir, datasetId, number, kinds.has("stats.json"), warn);
      if (version) dataset.versions.push(version);
      else result.excludedVersions++;
    } else if (kinds.has("parquet") || kinds.has("stats.json")) {
      await removeUncommitted(dataDir, datasetId, number);
    }
  });
  dataset.versions.sort((a, b) => a.version.version - b.version.version);
  // Adding a version does not rewrite dataset.json; its time is the version's.
  for (const v of dataset.versions) if (v.version.createdAt > dataset.dataset.updatedAt) dataset.dataset.updatedAt = v.version.createdAt;
  return dataset;
}

async function scanVersion(dataDir: string, datasetId: string, number: number, hasStats: boolean, warn: Warn): Promise<ScannedVersion | null> {
  const paths = pathsFor(dataDir, datasetId, number);
  try {
    const record = parseVersionFile(await fs.readFile(paths.record, "utf8"), datasetId, number);
    const found: ScannedVersion = { version: record.version, fileBytes: record.data.fileBytes, frameBytes: record.data.frameBytes, hasStats, ...(record.data.checksum ? { checksum: record.data.checksum } : {}) };
    const problem = await parquetProblem(paths.data, record.data.fileBytes);
    if (problem) {
      // its metadata is intact: it stays listed (its number, schema, source) but is never served
      warn(`storage: version ${number} of dataset ${datasetId} excluded: its ${problem} (${paths.data})`);
      return { ...found, damaged: `its ${problem}` };
    }
    return found;
  } catch (error) {
    warn(`storage: version ${number} of dataset ${datasetId} excluded: ${paths.record}: ${(error as Error).message}`);
    return null;
  }
}

/**
 * A data file with no metadata is a commit that never finished — unless the process that claimed
 * the number is alive (another server sharing DATA_DIR, mid-commit): then it is left alone.
 */
async function removeUncommitted(dataDir: string, datasetId: string, number: number): Promise<void> {
  const paths = pathsFor(dataDir, datasetId, number);
  const claimText = await readIfExists(paths.claim);
  const claim = claimText === null ? null : parseClaimFile(claimText);
  if (claim && claim.pid !== process.pid && isProcessAlive(claim.pid)) return;
  await removeQuietly(paths.data);
  await removeQuietly(paths.stats);
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight (keeps file handles bounded). */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
