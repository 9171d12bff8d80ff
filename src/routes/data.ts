/** Rows of a version: paged JSON, by offset or by cursor. */
import { z } from "zod";
import { badRequest } from "../errors.ts";
import { parseColumns, parseFiltersAndSearch, parseSort } from "../frame/query.ts";
import { notModified } from "../http/caching.ts";
import { decodeCursor, encodeCursor, type CursorState } from "../http/cursor.ts";
import { text } from "../http/params.ts";
import { clientKey } from "../sandbox/client.ts";
import * as S from "../schemas.ts";
import type { VersionSelector } from "../storage/types.ts";
import { defineRoute, json, notModified as notModifiedResponse } from "./define.ts";
import { columns, filter, offset, pageLimit, q, rowShape, sort, VersionPath } from "./fields.ts";

const DataQuery = z.object({
  offset,
  limit: pageLimit,
  columns,
  sort,
  filter,
  q,
  format: rowShape,
  cursor: text({ description: "The `next` value of a previous page. The other parameters then come from the cursor: send it alone, or with the same ones.", maxLength: 200_000 }),
});
type DataQuery = z.output<typeof DataQuery>;

const given = (v: unknown): boolean => v !== undefined && v !== "";
/** Longest cursor sent in a `Link` header too (longer ones are in the body's `next` only). */
const LINK_CURSOR_MAX = 8 * 1024;

/** The page request, from the query string or from a cursor (which then must not be contradicted). */
function pageRequest(query: DataQuery, sent: Record<string, unknown>, datasetId: string, selector: VersionSelector): { selector: VersionSelector; state: Omit<CursorState, "version"> } {
  const fromQuery = { datasetId, offset: query.offset, limit: query.limit, columns: query.columns, sort: query.sort, filters: query.filter, format: query.format, q: query.q };
  if (query.cursor === undefined) return { selector, state: fromQuery };
  const cursor = decodeCursor(query.cursor);
  const mismatch =
    cursor.datasetId !== datasetId ||
    (selector !== "latest" && selector !== cursor.version) ||
    (["columns", "sort", "format", "q"] as const).some((k) => fromQuery[k] !== undefined && fromQuery[k] !== (cursor[k] ?? (k === "format" ? "objects" : undefined))) ||
    (fromQuery.filters.length > 0 && fromQuery.filters.join("\n") !== cursor.filters.join("\n")) ||
    (given(sent.limit) && fromQuery.limit !== cursor.limit) ||
    given(sent.offset);
  if (mismatch) throw badRequest("This cursor belongs to another query: send it alone, or with the same parameters as the page it came from.", { parameter: "cursor" });
  // A cursor pins the numbered version it was made on, even when the URL says `latest`.
  return { selector: cursor.version, state: cursor };
}

/**
 * The ETag variant of a page: the normalised request (from the query string or the cursor), which
 * with the version's identity decides every byte of the answer. Cheaper than a canonical query
 * string (URL parsing and sorting cost ~30 µs a request), and URLs that differ only in spelling
 * (parameter order, a cursor vs the same parameters) share it.
 */
export function pageVariant(state: Pick<CursorState, "offset" | "limit" | "columns" | "sort" | "filters" | "q" | "format">): string {
  return JSON.stringify([state.offset, state.limit, state.columns ?? null, state.sort ?? null, state.filters, state.q ?? null, state.format ?? "objects"]);
}

export const getData = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}/data",
  operationId: "getData",
  tags: ["data"],
  summary: "Rows of a version, a page at a time, with projection, sorting, filters and cursors",
  description: "Values are JSON-exact: integers beyond ±2^53 are strings, dates `YYYY-MM-DD`, datetimes ISO 8601, NaN/±Infinity null, decimals strings. Follow `next` (or the `Link` header) for the following page.",
  params: VersionPath,
  query: DataQuery,
  headers: z.object({ "If-None-Match": z.string().optional().openapi({ description: "An ETag from an earlier answer: 304 when it is still current." }) }),
  responses: { 200: json(S.Page, "A page of rows.", ["ETag", "Cache-Control", "Link"]), 304: notModifiedResponse },
  errors: [410, 422, 503],
  handler: async ({ params, query }, { req, res, deps: { storage, reads } }) => {
    const { selector, state } = pageRequest(query, req.query, params.datasetId, params.version);
    // an unfiltered page reads its rows in this process (storage verifies exactly those); others in a worker
    const readOptions = reads.pageReadOptions({ offset: state.offset, limit: state.limit, filtered: state.filters.length > 0 || (state.sort ?? "") !== "" });
    const body = await storage.read(params.datasetId, selector, async (data) => {
      const v = data.version;
      const pageQuery = {
        offset: state.offset,
        limit: state.limit,
        // every part is checked before the caching headers: an error is never cacheable, never a 304
        columns: parseColumns(state.columns, v),
        sort: parseSort(state.sort ?? "", v),
        filters: parseFiltersAndSearch(state.filters, state.q, v),
      };
      if (notModified(req, res, params.version, v, "data", pageVariant(state))) return undefined;
      const page = await reads.page(data, pageQuery, state.format === "arrays" ? "arrays" : "objects", clientKey(req));
      const nextOffset = state.offset + page.rowCount;
      const next = nextOffset < page.totalRows && page.rowCount > 0 ? encodeCursor({ ...state, version: v.version, offset: nextOffset }) : null;
      // a cursor carrying thousands of filter values would make a header many clients refuse (Node's
      // limit is 16 KiB): then only the body's `next` carries it
      if (next && next.length <= LINK_CURSOR_MAX) res.setHeader("Link", `</api/datasets/${encodeURIComponent(params.datasetId)}/versions/${v.version}/data?cursor=${next}>; rel="next"`);
      // The rows arrive as JSON text from the frame layer; only the envelope is built here.
      const head = `{"datasetId":${JSON.stringify(v.datasetId)},"version":${v.version},"offset":${state.offset},"limit":${state.limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":`;
      const tail = `,"next":${JSON.stringify(next)}}`;
      // rows already as bytes (page-cache.ts): one Buffer, no UTF-8 decode and re-encode of the rows
      return page.rowsBytes ? Buffer.concat([Buffer.from(head), page.rowsBytes, Buffer.from(tail)]) : `${head}${page.rowsJson}${tail}`;
    }, readOptions);
    if (body !== undefined) res.type("application/json").send(body);
  },
});
