/** Rows of a version: paged JSON (by offset or cursor) and whole-version downloads. */
import { Router, type Request } from "express";
import { badRequest } from "../errors.ts";
import { readPage } from "../frame/page.ts";
import { parseFiltersAndSearch, parseSort } from "../frame/query.ts";
import { canonicalQuery, notModified } from "../http/caching.ts";
import { decodeCursor, encodeCursor, type CursorState } from "../http/cursor.ts";
import { intParam, repeated, single, versionParam } from "../http/params.ts";
import type { Storage, VersionSelector } from "../storage/types.ts";
import { streamDownload } from "./download.ts";

export const MAX_PAGE = 10_000;

/** The page request, from the query string or from a cursor (which then must not be contradicted). */
function pageRequest(req: Request, datasetId: string, selector: VersionSelector): { selector: VersionSelector; state: Omit<CursorState, "version"> } {
  const cursorRaw = single(req, "cursor");
  const fromQuery = {
    datasetId,
    offset: intParam(req, "offset", 0, 0, Number.MAX_SAFE_INTEGER),
    limit: intParam(req, "limit", 100, 1, MAX_PAGE),
    columns: single(req, "columns"),
    sort: single(req, "sort"),
    filters: repeated(req, "filter"),
    format: single(req, "format"),
    q: single(req, "q"),
  };
  if (cursorRaw === undefined) return { selector, state: fromQuery };
  const cursor = decodeCursor(cursorRaw);
  const mismatch =
    cursor.datasetId !== datasetId ||
    (selector !== "latest" && selector !== cursor.version) ||
    (["columns", "sort", "format", "q"] as const).some((k) => fromQuery[k] !== undefined && fromQuery[k] !== cursor[k]) ||
    (fromQuery.filters.length > 0 && fromQuery.filters.join("\n") !== cursor.filters.join("\n")) ||
    (req.query.limit !== undefined && fromQuery.limit !== cursor.limit) ||
    req.query.offset !== undefined;
  if (mismatch) throw badRequest("This cursor belongs to another query: send it alone, or with the same parameters as the page it came from.");
  // A cursor pins the numbered version it was made on, even when the URL says `latest`.
  return { selector: cursor.version, state: cursor };
}

export function dataRoutes({ storage }: { storage: Storage }): Router {
  const router = Router();

  router.get("/datasets/:datasetId/versions/:version/data", async (req, res) => {
    const datasetId = req.params.datasetId;
    const requested = versionParam(req.params.version);
    const { selector, state } = pageRequest(req, datasetId, requested);
    if (state.format !== undefined && state.format !== "objects" && state.format !== "arrays") {
      throw badRequest(`Unknown format "${state.format.slice(0, 40)}": use format=arrays, or leave it out for row objects.`);
    }
    const body = await storage.read(datasetId, selector, async (data) => {
      const v = data.version;
      const query = {
        offset: state.offset,
        limit: state.limit,
        columns: state.columns === undefined ? undefined : state.columns.split(","),
        sort: parseSort(state.sort ?? "", v),
        filters: parseFiltersAndSearch(state.filters, state.q, v),
      };
      if (notModified(req, res, requested, v, "data", canonicalQuery(req))) return undefined;
      const page = await readPage(data.lazy(), v, query, state.format === "arrays" ? "arrays" : "objects", data.frame());
      const nextOffset = state.offset + page.rowCount;
      const next = nextOffset < page.totalRows && page.rowCount > 0 ? encodeCursor({ ...state, version: v.version, offset: nextOffset }) : null;
      if (next) res.setHeader("Link", `</api/datasets/${encodeURIComponent(datasetId)}/versions/${v.version}/data?cursor=${next}>; rel="next"`);
      // The rows arrive as JSON text from the frame layer; only the envelope is built here.
      return `{"datasetId":${JSON.stringify(v.datasetId)},"version":${v.version},"offset":${state.offset},"limit":${state.limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify(next)}}`;
    });
    if (body !== undefined) res.type("application/json").send(body);
  });

  router.get("/datasets/:datasetId/versions/:version/download", async (req, res) => {
    const datasetId = req.params.datasetId;
    const selector = versionParam(req.params.version);
    await storage.read(datasetId, selector, async (data) => {
      if (notModified(req, res, selector, data.version, "download")) return;
      await streamDownload(req, res, data);
    });
  });

  return router;
}
