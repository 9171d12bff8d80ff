/**
 * `POST /api/sql` (a page of a read-only query's result, shaped like a `/data` page) and
 * `POST /api/sql/download?format=…` (the whole result as a file). The query is checked and its
 * tables resolved here (prepare.ts); it runs, and its values are rendered, in a query worker.
 */
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Router, type Request } from "express";
import { badRequest } from "../errors.ts";
import { parseDownloadFormat } from "../frame/download.ts";
import { single } from "../http/params.ts";
import { prepareSql, type TablePins } from "../sql/prepare.ts";
import type { QueryRunner } from "../sql/runner.ts";
import type { Storage } from "../storage/types.ts";

export const MAX_SQL_PAGE = 10_000;
const BODY_FIELDS = ["query", "limit", "offset", "format", "cursor"] as const;

interface SqlCursor {
  query: string;
  pins: TablePins;
  offset: number;
  limit: number;
  format: "objects" | "arrays";
}

function encodeSqlCursor(c: SqlCursor): string {
  return Buffer.from(JSON.stringify({ sql: 1, ...c }), "utf8").toString("base64url");
}

function decodeSqlCursor(raw: unknown): SqlCursor {
  const bad = () => badRequest("The cursor is not valid: send the `next` value of a previous answer as it was given.", { parameter: "cursor" });
  if (typeof raw !== "string" || raw.length > 200_000) throw bad();
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw bad();
  }
  const pinsOk =
    typeof v.pins === "object" && v.pins !== null &&
    Object.values(v.pins).every((p) => typeof p === "object" && p !== null && typeof (p as { datasetId?: unknown }).datasetId === "string" && Number.isSafeInteger((p as { version?: unknown }).version));
  if (v.sql !== 1 || typeof v.query !== "string" || !pinsOk || !Number.isSafeInteger(v.offset) || !Number.isSafeInteger(v.limit) || (v.format !== "objects" && v.format !== "arrays")) throw bad();
  return v as unknown as SqlCursor;
}

/** The body as an object with only known fields; 400 naming an unknown one. */
function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (typeof b !== "object" || b === null || Array.isArray(b)) {
    throw badRequest('Send a JSON object: {"query": "SELECT …", "limit": 100}.', { parameter: "body" });
  }
  for (const key of Object.keys(b)) {
    if (!(BODY_FIELDS as readonly string[]).includes(key)) {
      throw badRequest(`Unknown field "${key.slice(0, 40)}"; the fields are ${BODY_FIELDS.join(", ")}.`, { parameter: key.slice(0, 40) });
    }
  }
  return b as Record<string, unknown>;
}

function intField(b: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = b[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw badRequest(`${name} must be a whole number from ${min} to ${max}.`, { parameter: name });
  return v;
}

function queryField(b: Record<string, unknown>): string {
  if (typeof b.query !== "string") throw badRequest('query is required: {"query": "SELECT …"}.', { parameter: "query" });
  return b.query;
}

export function sqlRoutes({ storage, queries }: { storage: Storage; queries: QueryRunner }): Router {
  const router = Router();

  router.post("/sql", async (req, res) => {
    const b = body(req);
    let query: string;
    let pins: TablePins | undefined;
    let offset: number;
    let limit: number;
    let format: "objects" | "arrays";
    if (b.cursor !== undefined && b.cursor !== null) {
      const c = decodeSqlCursor(b.cursor);
      const mismatch =
        (b.limit !== undefined && b.limit !== c.limit) || (b.format !== undefined && b.format !== c.format) || b.offset !== undefined ||
        (b.query !== undefined && (await prepareSql(storage, queryField(b), c.pins)).canonical !== c.query);
      if (mismatch) throw badRequest("This cursor belongs to another query: send it alone, or with the same query, limit and format.", { parameter: "cursor" });
      ({ query, pins, offset, limit, format } = c);
    } else {
      query = queryField(b);
      offset = intField(b, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
      limit = intField(b, "limit", 100, 1, MAX_SQL_PAGE);
      if (b.format !== undefined && b.format !== "objects" && b.format !== "arrays") throw badRequest('format is "objects" (the default) or "arrays".', { parameter: "format" });
      format = b.format === "arrays" ? "arrays" : "objects";
    }
    const prepared = await prepareSql(storage, query, pins);
    const page = await queries.sqlPage(prepared, offset, limit, format);
    const nextOffset = offset + page.rowCount;
    const next = page.rowCount > 0 && nextOffset < page.totalRows ? encodeSqlCursor({ query: prepared.canonical, pins: prepared.pins, offset: nextOffset, limit, format }) : null;
    const tables = Object.entries(prepared.pins).map(([name, p]) => ({ name, datasetId: p.datasetId, version: p.version }));
    res.setHeader("Cache-Control", "no-store");
    res
      .type("application/json")
      .send(`{"query":${JSON.stringify(prepared.canonical)},"tables":${JSON.stringify(tables)},"offset":${offset},"limit":${limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify(next)}}`);
  });

  router.post("/sql/download", async (req, res) => {
    const b = body(req);
    for (const field of ["limit", "offset", "format"] as const) {
      if (b[field] !== undefined) throw badRequest(`${field} does not apply to a download (it streams the whole result; choose the file format with ?format=).`, { parameter: field });
    }
    const raw = single(req, "format");
    const format = raw === undefined || raw === "" ? "csv" : parseDownloadFormat(raw);
    const c = b.cursor !== undefined && b.cursor !== null ? decodeSqlCursor(b.cursor) : undefined;
    const prepared = await prepareSql(storage, c ? c.query : queryField(b), c?.pins);
    const file = await queries.sqlDownload(prepared, format);
    // the worker wrote it under a fresh temporary folder of the download writer; remove only such a folder
    const folder = path.dirname(file.path);
    if (path.dirname(folder) !== os.tmpdir() || !path.basename(folder).startsWith("dataset-download-")) throw new Error("unexpected download path from the query worker");
    try {
      const { size } = await stat(file.path);
      res.status(200);
      res.setHeader("Content-Type", file.contentType);
      res.setHeader("Content-Length", String(size));
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("Content-Disposition", `attachment; filename="query.${file.extension}"`);
      await pipeline(createReadStream(file.path), res);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  return router;
}
