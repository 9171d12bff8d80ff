/**
 * The dataset archive (export/import): a plain tar whose first entry is `manifest.json`, then per
 * version its metadata, statistics and Parquet data:
 *
 *   manifest.json                      format, dataset metadata, every other entry's size + SHA-256
 *   versions/000001/version.json       the version object (number, createdAt, source, columns, …)
 *   versions/000001/stats.json         its statistics, as GET …/stats returns them
 *   versions/000001/data.parquet       its rows
 *
 * Entry names are derived from version numbers, never taken from the manifest, so a reader
 * knows every name, size and checksum to expect before it reads a byte of data.
 */
import { z } from "zod";

export const ARCHIVE_FORMAT = "dataset-service-archive";
export const ARCHIVE_FORMAT_VERSION = 1;
export const MANIFEST_NAME = "manifest.json";
/** The manifest is small (a few hundred bytes per version); anything bigger is not ours. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** Metadata and statistics JSON of one version. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
export const MAX_VERSIONS = 100_000;

export type FileRole = "version" | "stats" | "data";
export const FILE_NAMES: Record<FileRole, string> = { version: "version.json", stats: "stats.json", data: "data.parquet" };

export function entryName(version: number, role: FileRole): string {
  return `versions/${String(version).padStart(6, "0")}/${FILE_NAMES[role]}`;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256");
const isoTime = z.iso.datetime();
const fileRecord = z.strictObject({ name: z.string(), size: z.number().int().nonnegative(), sha256 });

export const Manifest = z.strictObject({
  format: z.literal(ARCHIVE_FORMAT),
  formatVersion: z.literal(ARCHIVE_FORMAT_VERSION),
  exportedAt: isoTime,
  dataset: z.strictObject({
    id: z.string().max(200),
    name: z.string().min(1).max(200),
    description: z.string().max(10_000),
    createdAt: isoTime,
    updatedAt: isoTime,
    /** Highest version number ever issued (deleted ones included), so numbers stay unused after import. */
    highestIssued: z.number().int().positive(),
  }),
  versions: z
    .array(
      z.strictObject({
        version: z.number().int().positive(),
        files: z.strictObject({ version: fileRecord, stats: fileRecord, data: fileRecord }),
      }),
    )
    .min(1)
    .max(MAX_VERSIONS),
});
export type Manifest = z.infer<typeof Manifest>;

/** version.json: the version object as the API returns it. */
export const VersionFile = z.object({
  datasetId: z.string(),
  version: z.number().int().positive(),
  createdAt: isoTime,
  source: z
    .object({
      filename: z.string(),
      format: z.enum(["csv", "tsv", "xlsx", "xlsm", "xls", "parquet"]),
      sizeBytes: z.number().int().nonnegative(),
      sha256: z.string(),
      sheet: z.string().nullable(),
    })
    .loose(),
  rowCount: z.number().int().nonnegative(),
  columnCount: z.number().int().nonnegative(),
  columns: z.array(z.strictObject({ name: z.string(), dtype: z.string(), nullable: z.boolean() })),
});

/** stats.json: the statistics body (its columns are checked against the version's). */
export const StatsFile = z
  .object({
    datasetId: z.string(),
    version: z.number().int().positive(),
    rowCount: z.number().int().nonnegative(),
    columns: z.array(z.object({ name: z.string(), dtype: z.string() }).loose()),
  })
  .loose();
