/**
 * The JSON files the `local` backend keeps next to the data: what they hold and how they are
 * read back. Parsing checks the shape, so a hand-edited or foreign file is reported rather than
 * served half-valid. Field meanings are in docs/storage-layout.md.
 */
import type { Dataset, Version } from "../types.ts";
import { isChecksum, type Checksum } from "./checksum.ts";

/**
 * Bumped when the layout changes. 2: every version record carries its data file's checksum and
 * says the values were proven renderable. Layout 1 files (no checksum, never proven) are read,
 * proven in a query worker before they are first served, and rewritten as layout 2.
 */
export const LAYOUT = 2;
const READABLE_LAYOUTS = new Set([1, 2]);

/** `datasets/<id>/dataset.json`. */
export interface DatasetFile {
  layout: number;
  dataset: Omit<Dataset, "latestVersion" | "versionCount">;
}

/** `datasets/<id>/versions/<n>.json`: the version as the API shows it, plus facts about its data file. */
export interface VersionFile {
  layout: number;
  version: Version;
  data: {
    /** Size of the Parquet file, checked at start-up to catch truncation. */
    fileBytes: number;
    /** Polars' in-memory size estimate of the frame, to decide whether it can be cached. */
    frameBytes: number;
    /** Layout 2: whole-file and per-block SHA-256 of the data file. Absent in layout 1. */
    checksum?: Checksum;
    /** Layout 2: every value was proven to render in every served format. */
    proven?: true;
  };
}

/** `datasets/<id>/versions/<n>.claim`: who issued the number (kept after the version is deleted). */
export interface ClaimFile {
  pid: number;
  claimedAt: string;
}

export function toJson(value: DatasetFile | VersionFile | ClaimFile | { layout: number; stats: unknown }): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

class RecordError extends Error {}

function need(condition: boolean, what: string): asserts condition {
  if (!condition) throw new RecordError(`malformed metadata: ${what}`);
}

const isString = (v: unknown): v is string => typeof v === "string";
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses `dataset.json`; throws when it is not one this code wrote. */
export function parseDatasetFile(text: string, expectedId: string): DatasetFile {
  const raw: unknown = JSON.parse(text);
  need(isObject(raw) && READABLE_LAYOUTS.has(raw.layout as number), "unknown layout");
  const d = raw.dataset;
  need(isObject(d), "no dataset object");
  need(d.id === expectedId, "id does not match its folder");
  need(isString(d.name) && isString(d.description) && isString(d.createdAt) && isString(d.updatedAt), "dataset fields");
  return { layout: LAYOUT, dataset: { id: d.id, name: d.name, description: d.description, createdAt: d.createdAt, updatedAt: d.updatedAt } };
}

/** Parses `<n>.json`; throws when it is not one this code wrote for that dataset and number. */
export function parseVersionFile(text: string, datasetId: string, number: number): VersionFile {
  const raw: unknown = JSON.parse(text);
  need(isObject(raw) && READABLE_LAYOUTS.has(raw.layout as number), "unknown layout");
  const layout = raw.layout as number;
  const v = raw.version;
  const data = raw.data;
  need(isObject(v) && isObject(data), "no version or data object");
  need(v.datasetId === datasetId && v.version === number, "ids do not match the file's place");
  need(isString(v.createdAt) && isObject(v.source) && isCount(v.rowCount) && isCount(v.columnCount), "version fields");
  need(Array.isArray(v.columns) && v.columns.every((c) => isObject(c) && isString(c.name) && isString(c.dtype) && typeof c.nullable === "boolean"), "columns");
  need(isCount(data.fileBytes) && isCount(data.frameBytes), "data sizes");
  if (layout === 1) return { layout, version: v as unknown as Version, data: { fileBytes: data.fileBytes, frameBytes: data.frameBytes } };
  need(isChecksum(data.checksum) && data.checksum.bytes === data.fileBytes, "checksum");
  need(data.proven === true, "render proof");
  return { layout, version: v as unknown as Version, data: { fileBytes: data.fileBytes, frameBytes: data.frameBytes, checksum: data.checksum, proven: true } };
}

/** Parses `<n>.stats.json`. */
export function parseStatsFile(text: string): unknown {
  const raw: unknown = JSON.parse(text);
  need(isObject(raw) && READABLE_LAYOUTS.has(raw.layout as number) && "stats" in raw, "stats file");
  return raw.stats;
}

/** Parses a claim; null when it is not readable (then its owner is treated as gone). */
export function parseClaimFile(text: string): ClaimFile | null {
  try {
    const raw: unknown = JSON.parse(text);
    return isObject(raw) && isCount(raw.pid) && isString(raw.claimedAt) ? { pid: raw.pid, claimedAt: raw.claimedAt } : null;
  } catch {
    return null;
  }
}
