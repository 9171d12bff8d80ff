/** Types shared by the ingest modules and their callers. */
import type pl from "nodejs-polars";
import type { SourceInfo } from "../types.ts";

/** An upload on disk, as the HTTP layer received it. */
export interface UploadedFile {
  path: string;
  /** The client's file name (only its extension is used; it never becomes a path). */
  originalName: string;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes, when the receiver hashed them as they arrived (else ingest hashes the file). */
  sha256?: string;
}

export interface IngestLimits {
  maxColumns: number;
  maxRows: number;
  /**
   * Memory one parse may use (PARSE_MEMORY_MB in bytes); declared decompressed sizes are checked
   * against it before parsing. Default: 4 GiB.
   */
  memoryBytes?: number;
}

/** The memory budget of one parse when the caller gives none (PARSE_MEMORY_MB's default). */
export const DEFAULT_MEMORY_BYTES = 4096 * 1024 * 1024;

/** One column of the dry-run report. */
export interface ColumnReport {
  name: string;
  dtype: string;
  nullCount: number;
  /** Up to 3 values that kept the column from a narrower type (e.g. "N/A" in a numeric column). */
  counterexamples: string[];
}

/** What a format module returns; index.ts adds the file facts (name, size, hash). */
export interface Parsed {
  frame: pl.DataFrame;
  source: Partial<SourceInfo>;
  /** Per-column inference details, when asked for (inspect). */
  report?: ColumnReport[];
}
