/**
 * The API's shapes as zod schemas, the one place they are written: the route definitions
 * (src/routes/) use them for request validation and responses, src/openapi.ts turns them into the
 * OpenAPI document (and from it the typed client in client/), src/types.ts derives the service's
 * TypeScript types from them, and the tests check real answers against them.
 *
 * Adding a field to a response: add it here (with a description), then `npm run generate`.
 */
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

const isoTime = z.string().openapi({ format: "date-time", example: "2026-01-02T03:04:05.678Z" });
/** A JSON value as the API serialises cells: numbers, strings (big ints, dates), booleans, null, nested lists/objects. */
const cell = z.unknown().openapi({ description: "A cell: Int64 beyond ±2^53 as a string, Date as YYYY-MM-DD, Datetime as ISO 8601, NaN/±Infinity as null." });

export const FILE_FORMATS = ["csv", "tsv", "xlsx", "xlsm", "xls", "parquet"] as const;

export const Problem = z
  .object({
    type: z.string().openapi({ example: "about:blank#BAD_REQUEST" }),
    title: z.string().openapi({ example: "Bad request" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ description: "A sentence naming the problem and how to fix it." }),
    code: z.string().openapi({ description: "Machine code: BAD_REQUEST, NOT_FOUND, NAME_TAKEN, FILE_TOO_LARGE, UNSUPPORTED_FORMAT, UNPARSEABLE_FILE, PARSE_LIMIT, …", example: "BAD_REQUEST" }),
    datasetId: z.string().optional().openapi({ description: "409 NAME_TAKEN: the dataset that has the name; 404 for a name used as an id: the dataset of that name." }),
    parameter: z.string().optional().openapi({ description: "The query parameter, form field or JSON field at fault." }),
    didYouMean: z.string().optional().openapi({ description: "The closest known name (parameter or column)." }),
    allowed: z.array(z.string()).optional().openapi({ description: "Unknown parameter: the names this route takes." }),
    column: z.string().optional().openapi({ description: "The column at fault." }),
    columns: z.array(z.string()).optional().openapi({ description: "Unknown column: the version's columns (the first 50)." }),
    filter: z.string().optional().openapi({ description: "The filter at fault, as sent." }),
  })
  .passthrough()
  .openapi("Problem", { description: "RFC 9457 problem details (application/problem+json). More fields may appear (`line`, `sheet`, …)." });

export const ColumnInfo = z
  .object({
    name: z.string(),
    dtype: z.string().openapi({ description: "Polars type name: Int64, Float64, String, Boolean, Date, Datetime(us), Datetime(us, UTC), …", example: "Int64" }),
    nullable: z.boolean(),
  })
  .openapi("ColumnInfo");

export const SheetInfo = z.object({ name: z.string(), rows: z.number().int(), columns: z.number().int(), hidden: z.boolean().optional().describe("true for sheets hidden in the workbook; they are never read by default") }).openapi("SheetInfo");

export const SourceInfo = z
  .object({
    filename: z.string(),
    format: z.enum(FILE_FORMATS),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    sheet: z.string().nullable().openapi({ description: "Excel: the sheet that was read; null for other formats." }),
    sheets: z.array(SheetInfo).optional(),
    encoding: z.string().optional(),
    delimiter: z.string().optional(),
    header: z.boolean().optional(),
    renamedColumns: z.array(z.object({ from: z.string(), to: z.string() })).optional().openapi({ description: "Header names that were empty or duplicated and what they became." }),
    skippedRows: z.number().int().optional(),
    skippedLines: z.array(z.number().int()).optional(),
    notes: z.array(z.string()).optional().openapi({ description: "Plain-language notes on anything ingest decided that a user should know." }),
  })
  .passthrough()
  .openapi("SourceInfo", { description: "Where a version came from and what ingest did to get it." });

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

/** A statistic that is a value of the column: a number, or a string where JSON numbers would not be exact (dates, big integers, decimals). */
const statValue = z.union([z.number(), z.string()]).nullable();
const histogram = z
  .object({
    edges: z.array(statValue).openapi({ description: "k+1 bin edges, `[edge_i, edge_i+1)` except the last bin, which is closed; temporal edges are written like page values." }),
    counts: z.array(z.number().int()),
  })
  .openapi("Histogram");
export const ColumnStats = z
  .object({
    name: z.string(),
    dtype: z.string(),
    count: z.number().int().openapi({ description: "Non-null values." }),
    nullCount: z.number().int(),
    distinctCount: z.number().int().nullable().openapi({ description: "Distinct non-null values (NaN counts as a value); null for nested types." }),
    min: statValue.optional(),
    max: statValue.optional(),
    mean: z.number().nullable().optional(),
    std: z.number().nullable().optional(),
    median: z.number().nullable().optional(),
    quantiles: z.object({ p05: z.number().nullable(), p25: z.number().nullable(), p75: z.number().nullable(), p95: z.number().nullable() }).optional(),
    histogram: histogram.nullable().optional().openapi({ description: "Numeric: 20 equal-width bins between the finite min and max; temporal: at most 20 bins of whole time units; null without values." }),
    zeros: z.number().int().optional(),
    nanCount: z.number().int().optional(),
    minLength: z.number().int().nullable().optional(),
    maxLength: z.number().int().nullable().optional(),
    meanLength: z.number().nullable().optional(),
    topValues: z.array(z.object({ value: z.string(), count: z.number().int() })).optional().openapi({ description: "String columns: at most 10, most frequent first, ties by value." }),
    trueCount: z.number().int().optional(),
    falseCount: z.number().int().optional(),
  })
  .passthrough()
  .openapi("ColumnStats", { description: "Fields by type: numeric (min…zeros, nanCount for floats), string (lengths, topValues), boolean (true/false counts), temporal (min, max, histogram)." });
export const Stats = z.object({ datasetId: z.string(), version: z.number().int(), rowCount: z.number().int(), columns: z.array(ColumnStats) }).openapi("Stats");

export const PageColumn = z.object({ name: z.string(), dtype: z.string() }).openapi("PageColumn");
export const Page = z
  .object({
    datasetId: z.string(),
    version: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    totalRows: z.number().int().openapi({ description: "Rows after filtering." }),
    columns: z.array(PageColumn),
    rows: z.array(z.union([z.record(z.string(), cell), z.array(cell)])).openapi({ description: "Row objects in column order, or arrays in `columns` order with `format=arrays`." }),
    next: z.string().nullable().openapi({ description: "Cursor of the next page (send it as `cursor`); null on the last page." }),
  })
  .openapi("Page");

export const FacetValue = z.object({ value: cell, count: z.number().int() }).openapi("FacetValue", { description: "A value (or, with bins, `{from, to}`; null for nulls) and how many rows hold it." });
export const Facets = z
  .object({
    datasetId: z.string(),
    version: z.number().int(),
    facets: z.array(
      z.object({
        name: z.string(),
        bins: z.number().int().optional().openapi({ description: "Present when the column was counted in bins: how many." }),
        values: z.array(FacetValue).openapi({ description: "Most frequent first (ties by value, nulls last); with bins, in bin order, then nulls." }),
        otherCount: z.number().int().openapi({ description: "Rows whose value is not listed." }),
        distinctCount: z.number().int().openapi({ description: "Distinct values among the rows (null counts as one)." }),
      }),
    ),
    totalRows: z.number().int().openapi({ description: "Rows that pass the filters and search." }),
  })
  .openapi("Facets");

export const SqlRequest = z
  .object({
    query: z.string().max(50_000, { error: "must be at most 50000 characters long" }).optional().openapi({ description: 'One read-only SELECT or WITH query. Tables are dataset names (latest version) or `"name@N"` (version N). Required unless `cursor` is sent.' }),
    limit: z.number().int().min(1).max(10_000).optional().openapi({ description: "Rows per page, 1–10,000. Default 100." }),
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "Rows to skip. Default 0." }),
    format: z.enum(["objects", "arrays"]).optional().openapi({ description: "`arrays`: rows as arrays in `columns` order." }),
    cursor: z.string().max(200_000).optional().openapi({ description: "The `next` value of a previous answer: the same query on the same versions, next page. Send it alone, or with the same query, limit and format." }),
  })
  .openapi("SqlRequest", { example: { query: "SELECT city, count(*) AS n FROM sales GROUP BY city ORDER BY n DESC", limit: 100 } });

export const SqlDownloadRequest = z
  .object({
    query: SqlRequest.shape.query,
    cursor: SqlRequest.shape.cursor,
  })
  .openapi("SqlDownloadRequest", { example: { query: "SELECT * FROM sales WHERE amount > 10" } });

export const SqlPage = z
  .object({
    query: z.string().openapi({ description: "The query in canonical form (comments dropped, spacing normalised)." }),
    tables: z.array(z.object({ name: z.string(), datasetId: z.string(), version: z.number().int() })).openapi({ description: "The numbered version each table name resolved to." }),
    offset: z.number().int(),
    limit: z.number().int(),
    totalRows: z.number().int().openapi({ description: "Rows in the whole result." }),
    columns: z.array(PageColumn),
    rows: z.array(z.union([z.record(z.string(), cell), z.array(cell)])),
    next: z.string().nullable().openapi({ description: "Cursor of the next page (send it as `cursor`); null on the last page." }),
  })
  .openapi("SqlPage");

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
    backend: z.enum(["memory", "local", "postgres"]),
    datasets: z.number().int(),
    versions: z.number().int(),
    memory: z.object({ rssBytes: z.number(), dataBytes: z.number(), budgetBytes: z.number() }),
  })
  .passthrough()
  .openapi("Health", { description: "Backends add their own figures (local: diskBytes, cachedBytes, cacheHits, …)." });

export const Liveness = z.object({ status: z.literal("ok") }).openapi("Liveness");

// ---- request shapes shared by several routes ----

/** A dataset's name, as PATCH bodies and upload forms take it. */
export const datasetName = z
  .string()
  .trim()
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters long" })
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: "must not contain control characters" })
  .openapi({ description: "Display name, unique ignoring case; 1–200 characters, no control characters." });

export const datasetDescription = z.string().max(10_000, { error: "must be at most 10000 characters long" }).openapi({ description: "Free text, at most 10,000 characters." });

export const DatasetPatch = z
  .object({ name: datasetName.optional(), description: datasetDescription.optional() })
  .strict()
  .openapi("DatasetPatch", { example: { description: "Monthly sales, cleaned" } });

// ---- comparing versions, backup and restore (issue 14) ----

const pairOf = <T extends z.ZodType>(t: T) => z.tuple([t, t]).openapi({ description: "[from, to]" });
export const Diff = z
  .object({
    datasetId: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    key: z.array(z.string()).openapi({ description: "The key columns rows were matched by; empty: whole-row multisets." }),
    schema: z.object({
      added: z.array(PageColumn),
      removed: z.array(PageColumn),
      changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })),
    }),
    rows: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int(), unchanged: z.number().int() }),
    stats: z.array(
      z
        .object({
          name: z.string(),
          nullCount: pairOf(z.number().int().nullable()),
          distinctCount: pairOf(z.number().int().nullable()),
          mean: pairOf(z.number().nullable()).optional(),
          min: pairOf(z.union([z.number(), z.string()]).nullable()).optional(),
          max: pairOf(z.union([z.number(), z.string()]).nullable()).optional(),
        })
        .openapi("ColumnDrift"),
    ),
  })
  .openapi("Diff");

export const DiffRows = z
  .object({
    datasetId: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    key: z.array(z.string()),
    kind: z.enum(["added", "removed", "changed"]),
    offset: z.number().int(),
    limit: z.number().int(),
    totalRows: z.number().int(),
    columns: z.array(PageColumn).openapi({ description: "`to`'s columns for added rows, `from`'s for removed, the shared ones for changed." }),
    rows: z
      .array(z.union([z.record(z.string(), cell), z.object({ key: z.record(z.string(), cell), from: z.record(z.string(), cell), to: z.record(z.string(), cell), columns: z.array(z.string()) })]))
      .openapi({ description: "Added and removed: row objects. Changed: `{key, from, to, columns}` with the names of the shared columns whose values differ." }),
    next: z.string().nullable(),
  })
  .openapi("DiffRows");

export const Unchanged = z.object({ dataset: Dataset, version: Version, unchanged: z.literal(true) }).openapi("Unchanged");
export const Imported = z.object({ dataset: Dataset, versions: z.array(VersionSummary) }).openapi("Imported");
