/**
 * The API's shapes as zod schemas: one source of truth for request validation (PATCH bodies,
 * query strings), the OpenAPI document (src/openapi.ts) and the response checks in the tests.
 */
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

const isoTime = z.string().openapi({ format: "date-time", example: "2026-01-02T03:04:05.678Z" });
/** A JSON value as the API serialises cells: numbers, strings (big ints, dates), booleans, null, nested lists/objects. */
const cell = z.unknown().openapi({ description: "A cell: Int64 beyond ±2^53 as a string, Date as YYYY-MM-DD, Datetime as ISO 8601, NaN/±Infinity as null." });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    datasetId: z.string().optional(),
  })
  .passthrough()
  .openapi("Problem", { description: "RFC 9457 problem details (application/problem+json)." });

export const ColumnInfo = z.object({ name: z.string(), dtype: z.string().openapi({ example: "Int64" }), nullable: z.boolean() }).openapi("ColumnInfo");

export const SheetInfo = z.object({ name: z.string(), rows: z.number().int(), columns: z.number().int() }).openapi("SheetInfo");

export const SourceInfo = z
  .object({
    filename: z.string(),
    format: z.enum(["csv", "tsv", "xlsx", "xlsm", "xls", "parquet"]),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    sheet: z.string().nullable(),
    sheets: z.array(SheetInfo).optional(),
    encoding: z.string().optional(),
    delimiter: z.string().optional(),
    header: z.boolean().optional(),
    renamedColumns: z.array(z.object({ from: z.string(), to: z.string() })).optional(),
    skippedRows: z.number().int().optional(),
    skippedLines: z.array(z.number().int()).optional(),
    notes: z.array(z.string()).optional(),
  })
  .passthrough()
  .openapi("SourceInfo");

export const Dataset = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
    latestVersion: z.number().int().nullable(),
    versionCount: z.number().int(),
  })
  .openapi("Dataset");

const versionFields = {
  datasetId: z.string(),
  version: z.number().int().positive(),
  createdAt: isoTime,
  source: SourceInfo,
  rowCount: z.number().int(),
  columnCount: z.number().int(),
};
export const VersionSummary = z.object(versionFields).openapi("VersionSummary");
export const Version = z.object({ ...versionFields, columns: z.array(ColumnInfo) }).openapi("Version");

export const Created = z.object({ dataset: Dataset, version: Version }).openapi("Created");
export const DatasetList = z.object({ items: z.array(Dataset), total: z.number().int(), offset: z.number().int(), limit: z.number().int() }).openapi("DatasetList");
export const DatasetDetail = Dataset.extend({ versions: z.array(VersionSummary) }).openapi("DatasetDetail");
export const VersionList = z.object({ items: z.array(VersionSummary) }).openapi("VersionList");
export const Schema = z.object({ datasetId: z.string(), version: z.number().int(), rowCount: z.number().int(), columns: z.array(ColumnInfo) }).openapi("Schema");

const histogram = z.object({ edges: z.array(cell), counts: z.array(z.number().int()) });
export const ColumnStats = z
  .object({
    name: z.string(),
    dtype: z.string(),
    count: z.number().int(),
    nullCount: z.number().int(),
    distinctCount: z.number().int(),
    min: cell.optional(),
    max: cell.optional(),
    mean: z.number().nullable().optional(),
    std: z.number().nullable().optional(),
    median: z.number().nullable().optional(),
    quantiles: z.object({ p05: z.number().nullable(), p25: z.number().nullable(), p75: z.number().nullable(), p95: z.number().nullable() }).optional(),
    histogram: histogram.optional(),
    zeros: z.number().int().optional(),
    nanCount: z.number().int().optional(),
    minLength: z.number().int().nullable().optional(),
    maxLength: z.number().int().nullable().optional(),
    meanLength: z.number().nullable().optional(),
    topValues: z.array(z.object({ value: cell, count: z.number().int() })).optional(),
    trueCount: z.number().int().optional(),
    falseCount: z.number().int().optional(),
  })
  .passthrough()
  .openapi("ColumnStats", { description: "Fields by type: numeric (min…zeros, nanCount for floats), string (lengths, topValues), boolean (true/false counts), temporal (min, max, histogram)." });
export const Stats = z.object({ datasetId: z.string(), version: z.number().int(), rowCount: z.number().int(), columns: z.array(ColumnStats) }).openapi("Stats");

export const Page = z
  .object({
    datasetId: z.string(),
    version: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    totalRows: z.number().int(),
    columns: z.array(z.object({ name: z.string(), dtype: z.string() })),
    rows: z.array(z.union([z.record(z.string(), cell), z.array(cell)])),
    next: z.string().nullable().openapi({ description: "Cursor of the next page; null on the last page." }),
  })
  .openapi("Page");

export const Inspect = z
  .object({
    format: z.string(),
    encoding: z.string().nullable().optional(),
    delimiter: z.string().nullable().optional(),
    header: z.boolean().nullable().optional(),
    sheets: z.array(SheetInfo).nullable(),
    sheet: z.string().nullable(),
    rowCount: z.number().int(),
    columns: z.array(z.object({ name: z.string(), dtype: z.string(), nullCount: z.number().int(), counterexamples: z.array(z.string()) }).passthrough()),
    preview: z.array(z.record(z.string(), cell)),
  })
  .passthrough()
  .openapi("Inspect");

export const Health = z
  .object({
    status: z.literal("ok"),
    backend: z.enum(["memory", "local"]),
    datasets: z.number().int(),
    versions: z.number().int(),
    memory: z.object({ rssBytes: z.number(), dataBytes: z.number(), budgetBytes: z.number() }),
  })
  .passthrough()
  .openapi("Health");

// ---- requests ----

export const DatasetPatch = z
  .object({
    name: z.string().trim().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters").optional(),
    description: z.string().max(10_000).optional(),
  })
  .strict()
  .openapi("DatasetPatch");

const uint = (name: string, fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(name === "offset" ? 0 : 1).max(max))
    .optional()
    .transform((v) => v ?? fallback)
    .openapi({ type: "integer", default: fallback, maximum: max });

export const DatasetListQuery = z.object({
  offset: uint("offset", 0, Number.MAX_SAFE_INTEGER),
  limit: uint("limit", 50, 1000),
  name: z.string().optional().openapi({ description: "Exact name, compared case-insensitively." }),
});

export const DataQuery = z.object({
  offset: uint("offset", 0, Number.MAX_SAFE_INTEGER),
  limit: uint("limit", 100, 10_000),
  columns: z.string().optional().openapi({ description: "Projection, in this order: a,b,c" }),
  sort: z.string().optional().openapi({ description: "a,-b: ascending a, then descending b; nulls last." }),
  filter: z.union([z.string(), z.array(z.string())]).optional().openapi({ description: "col:op:value, repeatable (ANDed). Ops: eq ne gt gte lt lte contains startswith endswith in isnull notnull." }),
  format: z.enum(["objects", "arrays"]).optional(),
  cursor: z.string().optional().openapi({ description: "The `next` value of a previous page." }),
});

export const DownloadQuery = z.object({
  format: z.enum(["csv", "parquet", "ndjson", "json", "arrow"]).optional(),
  columns: z.string().optional(),
  sort: z.string().optional(),
  filter: z.union([z.string(), z.array(z.string())]).optional(),
});

export const UploadForm = z
  .object({
    file: z.string().openapi({ type: "string", format: "binary" }),
    name: z.string().optional(),
    description: z.string().optional(),
    sheet: z.string().optional(),
    delimiter: z.string().optional(),
    encoding: z.string().optional(),
    header: z.enum(["true", "false"]).optional(),
    schema: z.string().optional().openapi({ description: 'JSON object {"column": "String" | "Int64" | "Float64" | "Boolean" | "Date" | "Datetime"}' }),
    onBadRows: z.enum(["fail", "skip"]).optional(),
    ifChanged: z.enum(["true", "false"]).optional().openapi({ description: "true: when the file's SHA-256 equals the latest version's source, store nothing and answer 200 with that version and \"unchanged\": true." }),
  })
  .openapi("UploadForm");
