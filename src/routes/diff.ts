/**
 * Comparing two versions: `GET …/diff` (schema, row counts, statistics drift) and
 * `GET …/diff/rows` (the differing rows, paged by offset or cursor). The diff runs in a query
 * worker and is cached per numbered pair and key (src/diff-service.ts).
 */
import type { Request, Response } from "express";
import { z } from "zod";
import { badRequest } from "../errors.ts";
import { DIFF_KINDS, statsDrift } from "../frame/diff.ts";
import type { ColumnStats } from "../frame/stats.ts";
import { canonicalQuery, notModified } from "../http/caching.ts";
import { oneOf, repeated, text, versionPath } from "../http/params.ts";
import { clientKey } from "../sandbox/client.ts";
import * as S from "../schemas.ts";
import type { Storage, VersionSelector } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { defineRoute, json, notModified as notModifiedResponse } from "./define.ts";
import { DatasetPath, offset, pageLimit } from "./fields.ts";


const from = versionPath().optional().openapi({ description: "The older version: a number or `latest`. Default: the version before `to`." });
const to = versionPath().optional().openapi({ description: "The newer version: a number or `latest` (the default)." });
const key = repeated({ description: "Key columns (in both versions), repeatable or `a,b`. Rows match by key (a key repeated in either version is a 400 naming it); without a key, rows match as whole-row multisets." });

const DiffQuery = z.object({ from, to, key });
const DiffRowsQuery = z.object({
  from,
  to,
  key,
  kind: oneOf(DIFF_KINDS, { description: "Which differing rows: `added` (in `to` only), `removed` (in `from` only) or `changed` (same key, other values). Required unless `cursor` is sent." }),
  offset,
  limit: pageLimit,
  cursor: text({ description: "The `next` value of a previous page. The other parameters then come from the cursor: send it alone, or with the same ones.", maxLength: 200_000 }),
});
type DiffRowsQuery = z.output<typeof DiffRowsQuery>;

const IF_NONE_MATCH = z.object({ "If-None-Match": z.string().optional().openapi({ description: "An ETag from an earlier answer: 304 when it is still current." }) });

interface Pair {
  from: Version;
  to: Version;
  /** Whether either side was addressed through `latest` (then not cacheable as immutable). */
  viaLatest: boolean;
}

/** The two versions; `to` defaults to latest, `from` to the version before `to`. */
async function pairOf(storage: Storage, datasetId: string, fromSel: VersionSelector | undefined, toSel: VersionSelector | undefined): Promise<Pair> {
  const newer = await storage.getVersion(datasetId, toSel ?? "latest");
  let older: Version;
  if (fromSel === undefined) {
    const previous = (await storage.listVersions(datasetId)).filter((v) => v.version < newer.version).at(-1);
    if (!previous) throw badRequest(`Version ${newer.version} is the first version of this dataset: give "from" to compare it with another.`, { parameter: "from" });
    older = previous;
  } else {
    older = await storage.getVersion(datasetId, fromSel);
  }
  return { from: older, to: newer, viaLatest: fromSel === "latest" || toSel === undefined || toSel === "latest" };
}

/** `key=a,b` or `key=a&key=b`; a value that names a column of both versions is taken whole (names may hold commas). */
function keyColumns(raw: string[], pair: Pair): string[] {
  const shared = new Set(pair.from.columns.map((c) => c.name).filter((n) => pair.to.columns.some((c) => c.name === n)));
  return raw.flatMap((k) => (shared.has(k) ? [k] : k.split(",").map((s) => s.trim()).filter((s) => s !== "")));
}

/** ETag over both versions and the query; numbered pairs are immutable. */
function cached(req: Request, res: Response, pair: Pair, kind: string, variant = canonicalQuery(req)): boolean {
  return notModified(req, res, pair.viaLatest ? "latest" : pair.to.version, pair.to, kind, `${pair.from.version}\n${pair.from.createdAt}\n${variant}`);
}

export const diffVersions = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/diff",
  operationId: "diffVersions",
  tags: ["versions"],
  summary: "Compare two versions: schema changes, row counts by key or whole row, statistics drift",
  description:
    "Rows are compared on the columns both versions have. Values compare null-safely (null = null, NaN = NaN, -0.0 = 0.0); a column whose type changed compares by value where the types are comparable (integers exactly, Int vs Float as Float64, String vs Categorical as text), otherwise counts as changed where not null in both. Computed in a query worker within QUERY_TIMEOUT_MS and kept per numbered pair and key.",
  params: DatasetPath,
  query: DiffQuery,
  headers: IF_NONE_MATCH,
  responses: { 200: json(S.Diff, "What changed from `from` to `to`.", ["ETag", "Cache-Control"]), 304: notModifiedResponse },
  errors: [410, 422, 503],
  handler: async ({ params, query }, { req, res, deps: { storage, stats, diffs } }) => {
    const pair = await pairOf(storage, params.datasetId, query.from, query.to);
    const k = keyColumns(query.key, pair);
    const client = clientKey(req);
    // computed (or taken from the cache) before caching headers are set, so an error is never cacheable
    const [result, fromStats, toStats] = await Promise.all([
      diffs.result(pair.from, pair.to, k, client),
      stats.get(pair.from.datasetId, pair.from.version, client),
      stats.get(pair.to.datasetId, pair.to.version, client),
    ]);
    if (cached(req, res, pair, "diff")) return undefined;
    return {
      datasetId: pair.to.datasetId,
      from: pair.from.version,
      to: pair.to.version,
      key: result.key,
      schema: result.schema,
      rows: result.rows,
      stats: statsDrift(fromStats as { columns: ColumnStats[] }, toStats as { columns: ColumnStats[] }),
    };
  },
});

/** What a diff-rows cursor pins: the numbered pair, the key, the kind and the page. */
const RowsCursor = z.object({
  datasetId: z.string(),
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  key: z.array(z.string()),
  kind: z.enum(DIFF_KINDS),
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().positive(),
});
type RowsCursor = z.output<typeof RowsCursor>;

/** Encoded as `/data` encodes its cursor (http/cursor.ts): base64url JSON, checked on the way in. */
function encodeRowsCursor(state: RowsCursor): string {
  return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
}

function decodeRowsCursor(raw: string): RowsCursor {
  try {
    const parsed = RowsCursor.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("The cursor is not valid: use the `next` value of a previous page as it was given.", { parameter: "cursor" });
}

const given = (v: unknown): boolean => v !== undefined && v !== "";

/** The page request, from the query string or from a cursor (which then must not be contradicted). */
async function rowsRequest(storage: Storage, datasetId: string, query: DiffRowsQuery, sent: Record<string, unknown>): Promise<{ pair: Pair; state: RowsCursor }> {
  if (query.cursor === undefined) {
    if (query.kind === undefined) throw badRequest(`Query parameter "kind" is required: one of ${DIFF_KINDS.join(", ")}.`, { parameter: "kind" });
    const pair = await pairOf(storage, datasetId, query.from, query.to);
    return { pair, state: { datasetId, from: pair.from.version, to: pair.to.version, key: keyColumns(query.key, pair), kind: query.kind, offset: query.offset, limit: query.limit } };
  }
  const c = decodeRowsCursor(query.cursor);
  const pinned = (sel: VersionSelector | undefined, n: number) => sel === undefined || sel === "latest" || sel === n;
  const mismatch =
    c.datasetId !== datasetId ||
    !pinned(query.from, c.from) ||
    !pinned(query.to, c.to) ||
    (query.kind !== undefined && query.kind !== c.kind) ||
    (query.key.length > 0 && query.key.join(",") !== c.key.join(",")) ||
    (given(sent.limit) && query.limit !== c.limit) ||
    given(sent.offset);
  if (mismatch) throw badRequest("This cursor belongs to another query: send it alone, or with the same parameters as the page it came from.", { parameter: "cursor" });
  // a cursor pins the numbered versions it was made on
  const pair = { from: await storage.getVersion(datasetId, c.from), to: await storage.getVersion(datasetId, c.to), viaLatest: false };
  return { pair, state: c };
}

export const diffRows = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/diff/rows",
  operationId: "diffRows",
  tags: ["versions"],
  summary: "The differing rows of two versions (added, removed or changed), a page at a time",
  description:
    "Added and changed rows come in `to`'s row order, removed rows in `from`'s. Changed rows carry `{key, from, to, columns}`. Follow `next` (or the `Link` header) for the following page.",
  params: DatasetPath,
  query: DiffRowsQuery,
  headers: IF_NONE_MATCH,
  responses: { 200: json(S.DiffRows, "A page of differing rows.", ["ETag", "Cache-Control", "Link"]), 304: notModifiedResponse },
  errors: [410, 422, 503],
  handler: async ({ params, query }, { req, res, deps: { storage, diffs } }) => {
    const { pair, state } = await rowsRequest(storage, params.datasetId, query, req.query);
    const client = clientKey(req);
    const result = await diffs.result(pair.from, pair.to, state.key, client);
    const variant = JSON.stringify([state.key, state.kind, state.offset, state.limit]);
    if (cached(req, res, pair, "diff-rows", variant)) return;
    const page = await diffs.page(pair.from, pair.to, result, state.kind, state.offset, state.limit, client);
    const nextOffset = state.offset + page.rowCount;
    const next = page.rowCount > 0 && nextOffset < page.totalRows ? encodeRowsCursor({ ...state, offset: nextOffset }) : null;
    if (next) res.setHeader("Link", `</api/datasets/${encodeURIComponent(params.datasetId)}/diff/rows?cursor=${next}>; rel="next"`);
    res
      .type("application/json")
      .send(
        `{"datasetId":${JSON.stringify(params.datasetId)},"from":${state.from},"to":${state.to},"key":${JSON.stringify(state.key)},"kind":${JSON.stringify(state.kind)},"offset":${state.offset},"limit":${state.limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify(next)}}`,
      );
  },
});
