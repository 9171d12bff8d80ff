/** The service's own vocabulary: what the API returns and storage keeps. No Polars types here. */

export type FileFormat = "csv" | "tsv" | "xlsx" | "xlsm" | "xls" | "parquet";

export interface SheetInfo {
  name: string;
  rows: number;
  columns: number;
}

/** Where a version came from and what ingest did to get it (all of it goes into `version.source`). */
export interface SourceInfo {
  filename: string;
  format: FileFormat;
  sizeBytes: number;
  sha256: string;
  /** Excel: the sheet that was read; null for other formats. */
  sheet: string | null;
  sheets?: SheetInfo[];
  encoding?: string;
  delimiter?: string;
  header?: boolean;
  /** Header names that were empty or duplicated and what they became. */
  renamedColumns?: { from: string; to: string }[];
  skippedRows?: number;
  skippedLines?: number[];
  /** Plain-language notes on anything ingest decided that a user should know. */
  notes?: string[];
}

export interface ColumnInfo {
  name: string;
  /** Polars type name: Int64, Float64, String, Boolean, Date, Datetime(us), Datetime(us, UTC), … */
  dtype: string;
  nullable: boolean;
}

export interface Dataset {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  latestVersion: number | null;
  versionCount: number;
}

export interface Version {
  datasetId: string;
  version: number;
  createdAt: string;
  source: SourceInfo;
  rowCount: number;
  columnCount: number;
  columns: ColumnInfo[];
}

/** A version in a listing: the same object without `columns`. */
export type VersionSummary = Omit<Version, "columns">;

export function summarize(v: Version): VersionSummary {
  const { columns: _columns, ...rest } = v;
  return rest;
}
