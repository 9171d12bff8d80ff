/**
 * `POST /api/sql` (a page of a read-only query's result, shaped like a `/data` page) and
 * `POST /api/sql/download?format=…` (the whole result as a file). The query is checked and its
 * tables resolved here (sql/prepare.ts); it runs, and its values are rendered, in a query worker.
 */
import { z } from "zod";
import { badRequest } from "../errors.ts";
import { CONTENT_TYPES, type DownloadFormat } from "../frame/download.ts";
import { oneOf } from "../http/params.ts";
import * as S from "../schemas.ts";
import { clientKey } from "../sandbox/client.ts";
import { prepareSql, type TablePins } from "../sql/prepare.ts";
import { defineRoute, json } from "./define.ts";
import { DOWNLOAD_FORMATS } from "../frame/download.ts";

/** What a cursor of a query's answer carries: the canonical query, its pinned versions, the page. */
const SqlCursor = z.object({
  sql: z.literal(1),
  query: z.string(),
  pins: z.record(z.string(), z.object({ datasetId: z.string(), version: z.number().int().positive() })),
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().min(1).max(10_000),
  format: z.enum(["objects", "arrays"]),
});
type SqlCursor = z.output<typeof SqlCursor>;

function encodeSqlCursor(c: Omit<SqlCursor, "sql">): string {
  return Buffer.from(JSON.stringify({ sql: 1, ...c }), "utf8").toString("base64url");
}

function decodeSqlCursor(raw: string): SqlCursor {
  try {
    const parsed = SqlCursor.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("The cursor is not valid: send the `next` value of a previous answer as it was given.", { parameter: "cursor" });
}

function requireQuery(query: string | undefined): string {
  if (query === undefined) throw badRequest('query is required: {"query": "SELECT …"} (or send a cursor).', { parameter: "query" });
  return query;
}

const binary = z.string().openapi({ format: "binary" });
const DOWNLOAD_CONTENT: Record<DownloadFormat, z.ZodType> = { csv: z.string(), parquet: binary, ndjson: z.string(), json: z.array(z.record(z.string(), z.unknown())), arrow: binary };

export const runSql = defineRoute({
  method: "post",
  path: "/api/sql",
  operationId: "runSql",
  tags: ["sql"],
  summary: "A read-only SQL query over datasets and versions: one page of its result",
  description:
    'Tables are dataset names (the latest version) or `"name@N"` (version N). Only `SELECT`/`WITH` queries; file-reading functions, other table functions and every other statement are refused (400). ' +
    "The answer is shaped like a `/data` page; `next` is pinned to the query and to the numbered versions it resolved. Past QUERY_TIMEOUT_MS or QUERY_MEMORY_MB the query is stopped: 422 QUERY_LIMIT.",
  body: S.SqlRequest,
  responses: { 200: json(S.SqlPage, "A page of the query's result.") },
  errors: [410, 422, 503, 507],
  handler: async ({ body }, { req, res, deps: { storage, sql } }) => {
    let query: string;
    let pins: TablePins | undefined;
    let offset: number;
    let limit: number;
    let format: "objects" | "arrays";
    if (body.cursor !== undefined) {
      const c = decodeSqlCursor(body.cursor);
      const mismatch =
        (body.limit !== undefined && body.limit !== c.limit) ||
        (body.format !== undefined && body.format !== c.format) ||
        body.offset !== undefined ||
        (body.query !== undefined && (await prepareSql(storage, body.query, c.pins)).canonical !== c.query);
      if (mismatch) throw badRequest("This cursor belongs to another query: send it alone, or with the same query, limit and format.", { parameter: "cursor" });
      ({ query, pins, offset, limit, format } = c);
    } else {
      query = requireQuery(body.query);
      offset = body.offset ?? 0;
      limit = body.limit ?? 100;
      format = body.format ?? "objects";
    }
    const prepared = await prepareSql(storage, query, pins);
    const page = await sql.page(prepared, offset, limit, format, clientKey(req));
    const nextOffset = offset + page.rowCount;
    const next = page.rowCount > 0 && nextOffset < page.totalRows ? encodeSqlCursor({ query: prepared.canonical, pins: prepared.pins, offset: nextOffset, limit, format }) : null;
    const tables = Object.entries(prepared.pins).map(([name, p]) => ({ name, datasetId: p.datasetId, version: p.version }));
    res.setHeader("Cache-Control", "no-store");
    // The rows arrive as JSON text rendered by the query worker; only the envelope is built here.
    res
      .type("application/json")
      .send(`{"query":${JSON.stringify(prepared.canonical)},"tables":${JSON.stringify(tables)},"offset":${offset},"limit":${limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify(next)}}`);
  },
});

export const downloadSql = defineRoute({
  method: "post",
  path: "/api/sql/download",
  operationId: "downloadSql",
  tags: ["sql"],
  summary: "The whole result of a read-only SQL query as a file (CSV, Parquet, NDJSON, JSON or Arrow)",
  description: "The same queries and rules as `POST /api/sql`; the file holds every row of the result. Parquet keeps every value and type exactly.",
  query: z.object({ format: oneOf(DOWNLOAD_FORMATS, { description: "File format.", default: "csv" }) }),
  body: S.SqlDownloadRequest,
  responses: {
    200: {
      description: "The file, as an attachment (`query.<ext>`).",
      content: Object.fromEntries(Object.entries(CONTENT_TYPES).map(([format, type]) => [(type.split(";")[0] as string).trim(), DOWNLOAD_CONTENT[format as DownloadFormat]])),
      headers: ["Content-Disposition"],
    },
  },
  errors: [410, 422, 503, 507],
  handler: async ({ query, body }, { req, res, deps: { storage, sql } }) => {
    const c = body.cursor === undefined ? undefined : decodeSqlCursor(body.cursor);
    const prepared = await prepareSql(storage, c ? c.query : requireQuery(body.query), c?.pins);
    const file = await sql.download(prepared, query.format ?? "csv", clientKey(req));
    try {
      res.status(200);
      res.setHeader("Content-Type", file.contentType);
      res.setHeader("Content-Length", String(file.bytes));
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("Content-Disposition", `attachment; filename="query.${file.extension}"`);
      await file.send(res);
    } finally {
      await file.cleanup();
    }
  },
});
