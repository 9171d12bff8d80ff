/**
 * `GET /api/datasets/{id}/versions/{version}/facets?columns=a,b&limit=10` (with `filter=`, `q=`
 * and `bins=`): top values with counts. Parameters are checked here; the counting runs in a
 * query worker.
 */
import { Router } from "express";
import { badRequest } from "../errors.ts";
import { MAX_FACET_LIMIT, parseBins } from "../frame/facets.ts";
import { parseFiltersAndSearch } from "../frame/query.ts";
import { notModified } from "../http/caching.ts";
import { intParam, repeated, single, versionParam } from "../http/params.ts";
import type { QueryRunner } from "../sql/runner.ts";
import type { Storage } from "../storage/types.ts";

const LISTED_COLUMNS = 50;

export function facetRoutes({ storage, queries }: { storage: Storage; queries: QueryRunner }): Router {
  const router = Router();

  router.get("/datasets/:datasetId/versions/:version/facets", async (req, res) => {
    const selector = versionParam(req.params.version);
    const v = await storage.getVersion(req.params.datasetId, selector);
    const columnsRaw = single(req, "columns");
    if (columnsRaw === undefined || columnsRaw === "") throw badRequest("columns is required: the columns to count values of, e.g. columns=city,category.", { parameter: "columns" });
    const columns = columnsRaw.split(",");
    const known = new Set(v.columns.map((c) => c.name));
    const seen = new Set<string>();
    for (const c of columns) {
      if (!known.has(c)) {
        const list = v.columns.slice(0, LISTED_COLUMNS).map((x) => JSON.stringify(x.name)).join(", ");
        throw badRequest(`Unknown column "${c.slice(0, 200)}" in columns. Columns: ${list}${v.columns.length > LISTED_COLUMNS ? ", …" : ""}.`, { parameter: "columns", column: c });
      }
      if (seen.has(c)) throw badRequest(`Column "${c}" is listed twice in columns.`, { parameter: "columns", column: c });
      seen.add(c);
    }
    const limit = intParam(req, "limit", 10, 1, MAX_FACET_LIMIT);
    const filters = parseFiltersAndSearch(repeated(req, "filter"), single(req, "q"), v);
    const bins = parseBins(repeated(req, "bins"), columns, v);
    if (notModified(req, res, selector, v, "facets")) return;
    const facets = await queries.facets(v, { columns, limit, filters, bins });
    res.type("application/json").send(`{"datasetId":${JSON.stringify(v.datasetId)},"version":${v.version},${facets.slice(1)}`);
  });

  return router;
}
