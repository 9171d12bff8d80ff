/**
 * Comparing two versions: `GET …/diff` (schema, row counts, statistics drift) and
 * `GET …/diff/rows` (the differing rows, paged by offset or cursor).
 *
 * PROVISIONAL wiring: the diff runs in the API process through Polars' lazy engine (the joins run
 * on Polars' thread pool, off the event loop) until the query-worker job registry lands; then it
 * becomes the `diff` job (src/jobs/diff.ts) over the versions' data files, within QUERY_TIMEOUT_MS.
 * Results are cached per numbered pair and key (versions never change), so paging a diff
 * computes it once.
 */
import { Router, type Request, type Response } from "express";
import { badRequest } from "../errors.ts";
import { DIFF_KINDS, diffFrames, diffRowsPage, statsDrift, type DiffKind, type DiffResult } from "../frame/diff.ts";
import type { ColumnStats } from "../frame/stats.ts";
import { canonicalQuery, notModified } from "../http/caching.ts";
import { intParam, repeated, single } from "../http/params.ts";
import type { StatsService } from "../stats-service.ts";
import type { Storage, VersionSelector } from "../storage/types.ts";
import type { Version } from "../types.ts";

const MAX_ROWS_LIMIT = 10_000;
/** Diff results kept (each holds the differing rows' positions: 4–8 bytes per differing row). */
const CACHE_ENTRIES = 64;

const SUMMARY_PARAMS = new Set(["from", "to", "key"]);
const ROWS_PARAMS = new Set(["from", "to", "key", "kind", "offset", "limit", "cursor"]);

function strictParams(req: Request, allowed: Set<string>): void {
  for (const name of Object.keys(req.query)) {
    if (!allowed.has(name)) throw badRequest(`Unknown query parameter "${name.slice(0, 40)}"; this endpoint takes ${[...allowed].join(", ")}.`, { parameter: name });
  }
}

/** `from`/`to` query values: a positive integer or `latest`. */
function versionQuery(req: Request, name: "from" | "to"): VersionSelector | undefined {
  const raw = single(req, name);
  if (raw === undefined || raw === "") return undefined;
  if (raw === "latest") return "latest";
  if (/^[1-9]\d{0,14}$/.test(raw)) return Number(raw);
  throw badRequest(`Query parameter "${name}" must be a version number or "latest"; got ${JSON.stringify(raw.slice(0, 40))}.`, { parameter: name });
}

/** `key=a,b` or `key=a&key=b`; a value that names a column of both versions is taken whole (names may hold commas). */
function keyColumns(req: Request, from: Version, to: Version): string[] {
  const shared = new Set(from.columns.map((c) => c.name).filter((n) => to.columns.some((c) => c.name === n)));
  return repeated(req, "key").flatMap((raw) => (shared.has(raw) ? [raw] : raw.split(",").map((s) => s.trim()).filter((s) => s !== "")));
}

interface Pair {
  from: Version;
  to: Version;
  /** Whether either side was addressed through `latest` (then not cacheable as immutable). */
  viaLatest: boolean;
}

export function diffRoutes({ storage, stats }: { storage: Storage; stats: StatsService }): Router {
  const router = Router();
  const cache = new Map<string, Promise<DiffResult>>();

  /** The two versions; `to` defaults to latest, `from` to the version before `to`. */
  async function pairOf(datasetId: string, fromSel: VersionSelector | undefined, toSel: VersionSelector | undefined): Promise<Pair> {
    const to = await storage.getVersion(datasetId, toSel ?? "latest");
    let from: Version;
    if (fromSel === undefined) {
      const earlier = (await storage.listVersions(datasetId)).filter((v) => v.version < to.version);
      const previous = earlier.at(-1);
      if (!previous) throw badRequest(`Version ${to.version} is the first version of this dataset: give "from" to compare it with another.`, { parameter: "from" });
      from = previous;
    } else {
      from = await storage.getVersion(datasetId, fromSel);
    }
    return { from, to, viaLatest: fromSel === "latest" || toSel === undefined || toSel === "latest" };
  }

  function diffOf(pair: Pair, key: string[]): Promise<DiffResult> {
    const { from, to } = pair;
    const id = [from.datasetId, from.version, from.createdAt, to.version, to.createdAt, JSON.stringify(key)].join("\u0000");
    const hit = cache.get(id);
    if (hit) {
      cache.delete(id);
      cache.set(id, hit);
      return hit;
    }
    const pending = storage.read(from.datasetId, from.version, (a) =>
      storage.read(to.datasetId, to.version, (b) => diffFrames(a.lazy(), b.lazy(), key, { from: String(from.version), to: String(to.version) })),
    );
    cache.set(id, pending);
    pending.catch(() => cache.delete(id));
    if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    return pending;
  }

  /** ETag over both versions and the query; numbered pairs are immutable. */
  function cached(req: Request, res: Response, pair: Pair, kind: string): boolean {
    const variant = `${pair.from.version}\n${pair.from.createdAt}\n${canonicalQuery(req)}`;
    return notModified(req, res, pair.viaLatest ? "latest" : pair.to.version, pair.to, kind, variant);
  }

  router.get("/datasets/:datasetId/diff", async (req, res) => {
    strictParams(req, SUMMARY_PARAMS);
    const pair = await pairOf(req.params.datasetId, versionQuery(req, "from"), versionQuery(req, "to"));
    const key = keyColumns(req, pair.from, pair.to);
    // computed (or taken from the cache) before caching headers are set, so an error is never cacheable
    const [result, fromStats, toStats] = await Promise.all([
      diffOf(pair, key),
      stats.get(pair.from.datasetId, pair.from.version),
      stats.get(pair.to.datasetId, pair.to.version),
    ]);
    if (cached(req, res, pair, "diff")) return;
    res.json({
      datasetId: pair.to.datasetId,
      from: pair.from.version,
      to: pair.to.version,
      key: result.key,
      schema: result.schema,
      rows: result.rows,
      stats: statsDrift(fromStats as { columns: ColumnStats[] }, toStats as { columns: ColumnStats[] }),
    });
  });

  router.get("/datasets/:datasetId/diff/rows", async (req, res) => {
    strictParams(req, ROWS_PARAMS);
    const datasetId = req.params.datasetId;
    const cursorRaw = single(req, "cursor");
    let state: RowsCursor;
    if (cursorRaw !== undefined) {
      if (Object.keys(req.query).some((k) => k !== "cursor")) throw badRequest("Send the cursor alone: it carries the whole query (from, to, key, kind, offset, limit).", { parameter: "cursor" });
      state = decodeRowsCursor(cursorRaw, datasetId);
    } else {
      const kind = single(req, "kind");
      if (kind === undefined || !(DIFF_KINDS as readonly string[]).includes(kind)) {
        throw badRequest(`Query parameter "kind" is required: one of ${DIFF_KINDS.join(", ")}${kind === undefined ? "" : `; got ${JSON.stringify(kind.slice(0, 40))}`}.`, { parameter: "kind" });
      }
      const pair = await pairOf(datasetId, versionQuery(req, "from"), versionQuery(req, "to"));
      state = {
        datasetId,
        from: pair.from.version,
        to: pair.to.version,
        viaLatest: pair.viaLatest,
        key: keyColumns(req, pair.from, pair.to),
        kind: kind as DiffKind,
        offset: intParam(req, "offset", 0, 0, Number.MAX_SAFE_INTEGER),
        limit: intParam(req, "limit", 100, 1, MAX_ROWS_LIMIT),
      };
    }
    const pair: Pair = { from: await storage.getVersion(datasetId, state.from), to: await storage.getVersion(datasetId, state.to), viaLatest: state.viaLatest };
    const result = await diffOf(pair, state.key);
    if (cached(req, res, pair, "diff-rows")) return;
    const page = await storage.read(datasetId, state.from, (a) =>
      storage.read(datasetId, state.to, (b) => diffRowsPage(a.lazy(), b.lazy(), result, state.kind, state.offset, state.limit)),
    );
    const nextOffset = state.offset + page.rowCount;
    const next = page.rowCount > 0 && nextOffset < page.totalRows ? encodeRowsCursor({ ...state, viaLatest: false, offset: nextOffset }) : null;
    if (next) res.setHeader("Link", `</api/datasets/${encodeURIComponent(datasetId)}/diff/rows?cursor=${next}>; rel="next"`);
    res
      .type("application/json")
      .send(
        `{"datasetId":${JSON.stringify(datasetId)},"from":${state.from},"to":${state.to},"key":${JSON.stringify(state.key)},"kind":${JSON.stringify(state.kind)},"offset":${state.offset},"limit":${state.limit},"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify(next)}}`,
      );
  });

  return router;
}

/** A diff-rows cursor pins the numbered pair, the key, the kind and the page size. */
interface RowsCursor {
  datasetId: string;
  from: number;
  to: number;
  viaLatest: boolean;
  key: string[];
  kind: DiffKind;
  offset: number;
  limit: number;
}

function encodeRowsCursor(c: RowsCursor): string {
  return Buffer.from(JSON.stringify({ d: c.datasetId, f: c.from, t: c.to, k: c.key, n: c.kind, o: c.offset, l: c.limit }), "utf8").toString("base64url");
}

function decodeRowsCursor(raw: string, datasetId: string): RowsCursor {
  const bad = () => badRequest("The cursor is not valid: use the `next` value of a previous page as it was given.", { parameter: "cursor" });
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw bad();
  }
  const count = (x: unknown, min: number) => Number.isSafeInteger(x) && (x as number) >= min;
  if (
    typeof v !== "object" || v === null || v.d !== datasetId || !count(v.f, 1) || !count(v.t, 1) || !count(v.o, 0) || !count(v.l, 1) || (v.l as number) > MAX_ROWS_LIMIT ||
    !Array.isArray(v.k) || !v.k.every((k) => typeof k === "string") || !(DIFF_KINDS as readonly unknown[]).includes(v.n)
  ) {
    throw bad();
  }
  return { datasetId, from: v.f as number, to: v.t as number, viaLatest: false, key: v.k as string[], kind: v.n as DiffKind, offset: v.o as number, limit: v.l as number };
}
