/** The OpenAPI 3.1 document, generated from the zod schemas in src/schemas.ts. */
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import * as S from "./schemas.ts";

type Method = RouteConfig["method"];

const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: S.Problem } } });
const json = (schema: z.ZodType, description = "OK") => ({ description, content: { "application/json": { schema } } });

const datasetId = z.object({ datasetId: z.string().openapi({ description: "Dataset id (server-made, URL-safe)." }) });
const versionPath = datasetId.extend({ version: z.string().openapi({ description: "A version number, or `latest`.", example: "1" }) });

const ERRORS = {
  400: problemResponse("BAD_REQUEST: malformed parameter or form field"),
  401: problemResponse("Missing or invalid bearer token (when API_TOKENS is set)"),
  403: problemResponse("The token's role may not do this"),
  404: problemResponse("NOT_FOUND: unknown dataset, version or route"),
  429: problemResponse("Rate limit exceeded; see Retry-After"),
};
const UPLOAD_ERRORS = {
  409: problemResponse("NAME_TAKEN: the body carries the existing datasetId"),
  413: problemResponse("FILE_TOO_LARGE"),
  415: problemResponse("UNSUPPORTED_FORMAT"),
  422: problemResponse("UNPARSEABLE_FILE or PARSE_LIMIT"),
  503: problemResponse("BUSY: every parser is busy; see Retry-After"),
  507: problemResponse("STORAGE_FULL"),
};
const uploadBody = { body: { content: { "multipart/form-data": { schema: S.UploadForm } } } };

const DiffQuery = z.object({
  from: z.string().optional().openapi({ description: "Version number or `latest`; default: the version before `to`." }),
  to: z.string().optional().openapi({ description: "Version number or `latest` (default)." }),
  key: z.string().optional().openapi({ description: "Key column(s), repeatable or `a,b`; without it rows match as whole-row multisets." }),
});
const pairOf = <T extends z.ZodType>(t: T) => z.tuple([t, t]);
const DiffSummary = z.object({
  datasetId: z.string(), from: z.number().int(), to: z.number().int(), key: z.array(z.string()),
  schema: z.object({ added: z.array(z.object({ name: z.string(), dtype: z.string() })), removed: z.array(z.object({ name: z.string(), dtype: z.string() })), changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })) }),
  rows: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int(), unchanged: z.number().int() }),
  stats: z.array(z.object({ name: z.string(), nullCount: pairOf(z.number().nullable()), distinctCount: pairOf(z.number().nullable()), mean: pairOf(z.number().nullable()).optional(), min: pairOf(z.unknown()).optional(), max: pairOf(z.unknown()).optional() })),
}).openapi("DiffSummary");
const DiffRows = z.object({
  datasetId: z.string(), from: z.number().int(), to: z.number().int(), key: z.array(z.string()), kind: z.enum(["added", "removed", "changed"]),
  offset: z.number().int(), limit: z.number().int(), totalRows: z.number().int(), columns: z.array(z.object({ name: z.string(), dtype: z.string() })),
  rows: z.array(z.unknown()).openapi({ description: "added/removed: row objects; changed: {key, from, to, columns}" }), next: z.string().nullable(),
}).openapi("DiffRows");

/** Every route of the app, as [method, OpenAPI path, summary, config]. Tests check the app has no others. */
export const ROUTES: [Method, string, string, Omit<RouteConfig, "method" | "path" | "summary">][] = [
  ["get", "/api/health", "Service health", { responses: { 200: json(S.Health), ...ERRORS } }],
  ["post", "/api/datasets/upload", "Upload a new dataset (version 1)", { request: uploadBody, responses: { 201: json(S.Created, "Created; Location: /api/datasets/{datasetId}"), ...ERRORS, ...UPLOAD_ERRORS } }],
  ["post", "/api/datasets/inspect", "Dry run: what an upload would store", { request: uploadBody, responses: { 200: json(S.Inspect), ...ERRORS, ...UPLOAD_ERRORS } }],
  ["get", "/api/datasets", "List datasets", { request: { query: S.DatasetListQuery }, responses: { 200: json(S.DatasetList), ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}", "A dataset with its versions", { request: { params: datasetId }, responses: { 200: json(S.DatasetDetail), ...ERRORS } }],
  ["patch", "/api/datasets/{datasetId}", "Rename or describe a dataset", { request: { params: datasetId, body: { content: { "application/json": { schema: S.DatasetPatch } } } }, responses: { 200: json(S.Dataset), ...ERRORS, 409: UPLOAD_ERRORS[409] } }],
  ["delete", "/api/datasets/{datasetId}", "Delete a dataset and all its versions", { request: { params: datasetId }, responses: { 204: { description: "Deleted" }, ...ERRORS } }],
  ["post", "/api/datasets/{datasetId}/versions", "Add a version", { request: { params: datasetId, ...uploadBody }, responses: { 201: json(S.Created, "Created; Location: …/versions/{version}"), ...ERRORS, ...UPLOAD_ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions", "List versions, oldest first", { request: { params: datasetId }, responses: { 200: json(S.VersionList), ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions/{version}", "A version, with columns", { request: { params: versionPath }, responses: { 200: json(S.Version), 304: { description: "Not modified (If-None-Match)" }, ...ERRORS } }],
  ["delete", "/api/datasets/{datasetId}/versions/{version}", "Delete a version (its number is never reused)", { request: { params: versionPath }, responses: { 204: { description: "Deleted" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions/{version}/schema", "Schema of a version", { request: { params: versionPath }, responses: { 200: json(S.Schema), 304: { description: "Not modified" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions/{version}/stats", "Per-column statistics (optionally of a filtered subset)", { request: { params: versionPath, query: z.object({ filter: S.DataQuery.shape.filter }) }, responses: { 200: json(S.Stats), 304: { description: "Not modified" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions/{version}/data", "Paged rows with projection, sort, filters and cursors", { request: { params: versionPath, query: S.DataQuery }, responses: { 200: json(S.Page, "A page; Link: <…>; rel=\"next\" when there is one"), 304: { description: "Not modified" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/versions/{version}/download", "Stream the whole version (csv, parquet, ndjson, json, arrow)", {
    request: { params: versionPath, query: S.DownloadQuery },
    responses: {
      200: { description: "The file, with Content-Disposition: attachment", content: { "text/csv": { schema: z.string() }, "application/vnd.apache.parquet": { schema: z.string().openapi({ format: "binary" }) }, "application/x-ndjson": { schema: z.string() }, "application/json": { schema: z.array(z.record(z.string(), z.unknown())) }, "application/vnd.apache.arrow.stream": { schema: z.string().openapi({ format: "binary" }) } } },
      304: { description: "Not modified" },
      ...ERRORS,
    },
  }],
  ["get", "/api/datasets/{datasetId}/diff", "Compare two versions: schema, row counts (by key or as whole-row multisets), statistics drift", { request: { params: datasetId, query: DiffQuery }, responses: { 200: json(DiffSummary), 304: { description: "Not modified" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/diff/rows", "The differing rows of a comparison, paged (offset or cursor)", { request: { params: datasetId, query: DiffQuery.extend({ kind: z.enum(["added", "removed", "changed"]), offset: z.string().optional(), limit: z.string().optional(), cursor: z.string().optional() }) }, responses: { 200: json(DiffRows, "A page; Link: <…>; rel=\"next\" when there is one"), 304: { description: "Not modified" }, ...ERRORS } }],
  ["get", "/api/datasets/{datasetId}/export", "Stream an archive (tar) of every version: Parquet, metadata, statistics", { request: { params: datasetId }, responses: { 200: { description: "application/x-tar, Content-Disposition: attachment", content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } } }, ...ERRORS } }],
  ["post", "/api/datasets/import", "Recreate a dataset from an export archive (same numbers, values, sources, statistics)", { request: { body: { content: { "multipart/form-data": { schema: z.object({ file: z.string().openapi({ format: "binary" }), name: z.string().optional() }) } } } }, responses: { 201: json(z.object({ dataset: S.Dataset, versions: z.array(S.VersionSummary) }), "Created; Location: /api/datasets/{datasetId}"), ...ERRORS, 409: UPLOAD_ERRORS[409], 422: problemResponse("INVALID_ARCHIVE: truncated, edited, foreign or hostile archive; nothing stored") } }],
  ["get", "/metrics", "Prometheus metrics", { responses: { 200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } } } }],
  ["get", "/openapi.json", "This document", { responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.object({}).passthrough() } } } } }],
];

export function buildOpenApiDocument(): object {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "Only when API_TOKENS is set: role read may GET, role write may do everything." });
  for (const [method, path, summary, config] of ROUTES) {
    registry.registerPath({ method, path, summary, ...(path.startsWith("/api") ? { security: [{ [bearer.name]: [] }, {}] } : {}), ...config });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Dataset service",
      version: "1.0.0",
      description:
        "Upload CSV/TSV, Excel and Parquet files as immutable, numbered versions of datasets; read schema, statistics, pages and downloads. " +
        "Errors are RFC 9457 problem+json with a machine `code`. Versions accept `latest` wherever a number is accepted; numbered versions carry strong ETags " +
        "and `Cache-Control: immutable`, `latest` URLs `no-cache`. Cursors carry the whole query and pin the numbered version. See the project README for every choice made where the contract is silent.",
    },
    servers: [{ url: "/" }],
  });
}
