/**
 * `GET /api/datasets/{id}/versions/{version}/facets?columns=a,b&limit=10` (with `filter=`, `q=`
 * and `bins=`): top values with counts. Parameters are checked here; the counting runs in a
 * query worker.
 */
import { z } from "zod";
import { badRequest } from "../errors.ts";
import { MAX_BINS, MAX_FACET_LIMIT, parseBins } from "../frame/facets.ts";
import { parseFiltersAndSearch } from "../frame/query.ts";
import { notModified } from "../http/caching.ts";
import { clientKey } from "../sandbox/client.ts";
import { int, repeated, text } from "../http/params.ts";
import * as S from "../schemas.ts";
import { defineRoute, json, notModified as notModifiedResponse } from "./define.ts";
import { filter, q, VersionPath } from "./fields.ts";

const LISTED_COLUMNS = 50;

export const getFacets = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}/facets",
  operationId: "getFacets",
  tags: ["data"],
  summary: "Top values with counts for chosen columns, under filters and search",
  description:
    "Values are ordered by count, most frequent first (ties by value ascending, nulls last); null is a value like any other, so the listed counts plus `otherCount` equal `totalRows`. " +
    "`bins` counts numeric columns in equal-width bins instead.",
  params: VersionPath,
  query: z.object({
    columns: text({ description: "The columns to count values of: `city,category` (required).", maxLength: 100_000 }),
    limit: int({ min: 1, max: MAX_FACET_LIMIT, default: 10, description: "Values listed per column." }),
    filter,
    q,
    bins: repeated({ description: `\`k\` (every numeric column asked for) or \`column:k\` (repeatable): count in k equal-width bins, 1–${MAX_BINS}.` }),
  }),
  headers: z.object({ "If-None-Match": z.string().optional().openapi({ description: "An ETag from an earlier answer: 304 when it is still current." }) }),
  responses: { 200: json(S.Facets, "Facets, in the order of `columns`.", ["ETag", "Cache-Control"]), 304: notModifiedResponse },
  errors: [410, 422, 503],
  handler: async ({ params, query }, { req, res, deps: { storage, sql } }) => {
    const v = await storage.getVersion(params.datasetId, params.version);
    if (query.columns === undefined || query.columns === "") throw badRequest("columns is required: the columns to count values of, e.g. columns=city,category.", { parameter: "columns" });
    const columns = query.columns.split(",");
    const known = new Set(v.columns.map((c) => c.name));
    const seen = new Set<string>();
    for (const c of columns) {
      if (!known.has(c)) {
        const list = v.columns.slice(0, LISTED_COLUMNS).map((x) => JSON.stringify(x.name)).join(", ");
        throw badRequest(`Unknown column "${c.slice(0, 200)}" in columns. Columns: ${list}${v.columns.length > LISTED_COLUMNS ? ", …" : ""}.`, { parameter: "columns", column: c.slice(0, 200) });
      }
      if (seen.has(c)) throw badRequest(`Column "${c}" is listed twice in columns.`, { parameter: "columns", column: c });
      seen.add(c);
    }
    const filters = parseFiltersAndSearch(query.filter, query.q, v);
    const bins = parseBins(query.bins, columns, v);
    if (notModified(req, res, params.version, v, "facets")) return undefined;
    const facets = await sql.facets(v, { columns, limit: query.limit, filters, bins }, clientKey(req));
    res.type("application/json").send(`{"datasetId":${JSON.stringify(v.datasetId)},"version":${v.version},${facets.slice(1)}`);
    return undefined;
  },
});
