/**
 * One definition per endpoint. `defineRoute({...})` declares everything about a route once —
 * method, path, operationId, tags, help, the zod schemas of its path, query, multipart form and
 * JSON body, its responses and their headers — together with a thin handler. From the definitions
 * come request validation (strict: http/validate.ts), the types the handler sees, the OpenAPI
 * document (src/openapi.ts), docs/api.md and the README's parameter tables (scripts/generate.ts),
 * and the typed client (client/). `mountRoutes` puts them on the Express app.
 *
 * How to add a route (e.g. `GET /api/datasets/{datasetId}/diff`):
 * 1. In a file under src/routes/ (a new one, or the one for its resource), write
 *      export const diff = defineRoute({
 *        method: "get", path: "/api/datasets/{datasetId}/diff", operationId: "diffVersions",
 *        tags: ["versions"], summary: "Compare two versions",
 *        params: z.object({ datasetId: datasetIdPath() }),
 *        query: z.object({ from: ..., to: ..., key: repeated({ description: "…" }) }),
 *        responses: { 200: json(S.Diff, "The differences", ["ETag", "Cache-Control"]), 304: notModified },
 *        errors: [422],
 *        handler: async ({ params, query }, { deps, req, res }) => …,
 *      });
 *    Parameter builders are in http/params.ts; response shapes go in src/schemas.ts.
 *    Handlers stay thin: validated input → one call (storage, frame, a query job) → the answer.
 * 2. Add it to ROUTES in src/routes/index.ts.
 * 3. `npm run generate` (refreshes client/schema.ts, docs/api.md, the README's tables) and commit.
 * The tests then check it too: an unknown parameter is a 400 (test/contract.test.ts), the
 * OpenAPI document validates, and test/contract-responses.test.ts wants a call for each declared
 * success status.
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { DiffService } from "../diff-service.ts";
import { ApiError } from "../errors.ts";
import { receiveUpload, uploadedFile, type UploadSlots } from "../http/upload.ts";
import { validateInput } from "../http/validate.ts";
import type { UploadedFile } from "../ingest/index.ts";
import type { MemoryGuard } from "../memory-guard.ts";
import type { Metrics } from "../metrics.ts";
import type { QueryService } from "../query-service.ts";
import type { Parser } from "../sandbox/parser.ts";
import type { Spool } from "../spool.ts";
import type { SqlService } from "../sql/service.ts";
import type { StatsService } from "../stats-service.ts";
import type { Storage } from "../storage/types.ts";

/** What handlers may use. Add a service here (and in app.ts) rather than importing singletons. */
export interface RouteDeps {
  config: Config;
  storage: Storage;
  parser: Parser;
  stats: StatsService;
  /** Where reads of rows run: in-process pages, query-worker orders, pages and exports (src/query-service.ts). */
  reads: QueryService;
  /** SQL queries and facets, run in query workers (src/sql/service.ts). */
  sql: SqlService;
  metrics: Metrics;
  /** The OpenAPI document (built once from the route definitions). */
  openapi: object;
  /** Where downloads are written before they are streamed (src/spool.ts). */
  spool: Spool;
  /** Admission of uploads by memory, before parsing (src/memory-guard.ts). */
  memory: MemoryGuard;
  /** Uploads being received, per client and in total: one counter for every route with a form. */
  uploadSlots: UploadSlots;
  /** Comparing versions: diffs computed in query workers, cached per numbered pair (src/diff-service.ts). */
  diffs: DiffService;
}

export type Method = "get" | "post" | "put" | "patch" | "delete";
export const TAGS = {
  datasets: "Datasets: upload, list, rename, delete",
  versions: "Versions of a dataset: add, list, read, delete",
  data: "What a version holds: schema, statistics, rows, downloads",
  sql: "Read-only SQL over datasets and versions",
  operations: "Health, metrics and this document",
} as const;
export type Tag = keyof typeof TAGS;

/**
 * Who may call: `api` routes live under /api (bearer token when API_TOKENS is set, rate limits,
 * JSON bodies); `public` ones need nothing (load balancers); `metrics` needs METRICS_TOKEN or an
 * API token when either is set.
 */
export type Access = "api" | "public" | "metrics";

/** Response headers routes may declare, documented once. */
export const RESPONSE_HEADERS = {
  ETag: "Strong validator of this exact answer; send it back in `If-None-Match` to get a 304.",
  "Cache-Control": "`public, max-age=31536000, immutable` for a numbered version; `no-cache` when addressed through `latest`; `no-store` for live figures.",
  Link: 'The next page, `</api/…/data?cursor=…>; rel="next"`, when there is one.',
  Location: "URL of what was created.",
  "Retry-After": "Seconds to wait before retrying.",
  "Content-Disposition": "`attachment; filename=\"<source name>-v<version>.<ext>\"; filename*=UTF-8''…` (RFC 6266/5987).",
  "WWW-Authenticate": 'Bearer realm="dataset-service" (with `error="invalid_token"` or `error="insufficient_scope"`).',
} as const;
export type HeaderName = keyof typeof RESPONSE_HEADERS;

export interface ResponseSpec {
  description: string;
  /** Media type → body shape. Absent: no body (204, 304). */
  content?: Record<string, z.ZodType>;
  headers?: readonly HeaderName[];
}

/** A JSON answer with `schema`. */
export function json(schema: z.ZodType, description: string, headers: readonly HeaderName[] = []): ResponseSpec {
  return { description, content: { "application/json": schema }, headers };
}

export const notModified: ResponseSpec = { description: "Not modified: the `If-None-Match` ETag is current.", headers: ["ETag", "Cache-Control"] };
export const noContent = (description: string): ResponseSpec => ({ description });

/** Problem responses by status: what each means on this API, and the headers that come with it. */
export const ERRORS: Record<number, { description: string; headers?: readonly HeaderName[] }> = {
  400: { description: "BAD_REQUEST: an unknown or malformed parameter, form field or JSON field, an unknown column or a bad filter. `detail` names it and says how to fix it (`parameter`, `didYouMean`, `columns`)." },
  401: { description: "UNAUTHORIZED: missing or invalid bearer token (only when API_TOKENS is set).", headers: ["WWW-Authenticate"] },
  403: { description: "FORBIDDEN: the token's role may only read.", headers: ["WWW-Authenticate"] },
  404: { description: "NOT_FOUND: unknown dataset or version (a dataset's name used as its id is pointed to `?name=`)." },
  405: { description: "METHOD_NOT_ALLOWED: the path exists with other methods (see `Allow`)." },
  408: { description: "REQUEST_TIMEOUT: the request body did not arrive within REQUEST_TIMEOUT_MS (or nothing moved for IDLE_TIMEOUT_MS); nothing was stored." },
  409: { description: "NAME_TAKEN: a dataset with that name (ignoring case) exists; `datasetId` is its id." },
  413: { description: "FILE_TOO_LARGE: over MAX_UPLOAD_BYTES, or a row, column or decompressed-size limit." },
  415: { description: "UNSUPPORTED_FORMAT: not CSV/TSV, Excel (.xlsx .xlsm .xls) or Parquet, judged by content and name." },
  410: { description: "VERSION_DAMAGED: the version's data file is missing or fails its checksum (or, written by an earlier build, holds values that cannot be served). It is never served; its metadata stays; restore the file from a backup or delete the version." },
  422: { description: "UNPARSEABLE_FILE (`detail` names the line, sheet or column; a value outside what can be rendered names its `column` and `row`), PARSE_LIMIT (parsing ran past its time or memory limit) or QUERY_LIMIT (statistics, a filter/sort, an export, facets or an SQL query ran past QUERY_TIMEOUT_MS or QUERY_MEMORY_MB)." },
  429: { description: "RATE_LIMITED: too many requests, uploads at once, connections or invalid tokens from this client.", headers: ["Retry-After"] },
  503: { description: "BUSY: every parser (or query worker) is busy, or the server is receiving its maximum of uploads (MAX_UPLOADS).", headers: ["Retry-After"] },
  507: { description: "STORAGE_FULL: storing this would exceed the memory or disk budget, the disk is full, or (downloads) the spool is full.", headers: ["Retry-After"] },
};

export const UPLOAD_ERRORS = [408, 413, 415, 422, 503, 507] as const;

type AnyObject = z.ZodObject;
type Out<T> = T extends z.ZodType ? z.output<T> : Record<string, never>;

export interface RouteInput<P, Q, F, B> {
  params: Out<P>;
  query: Out<Q>;
  form: Out<F>;
  body: Out<B>;
  /** The uploaded file (routes with a `form`), on disk until the response ends. */
  file: F extends z.ZodType ? UploadedFile : undefined;
}

export interface RouteContext {
  req: Request;
  res: Response;
  deps: RouteDeps;
}

/** Sends the answer itself (ctx.res), or returns a JSON body for a 200. */
export type Handler<P, Q, F, B> = (input: RouteInput<P, Q, F, B>, ctx: RouteContext) => Promise<unknown>;

export interface RouteSpec<P extends AnyObject | undefined, Q extends AnyObject | undefined, F extends AnyObject | undefined, B extends AnyObject | undefined> {
  method: Method;
  /** OpenAPI form: `/api/datasets/{datasetId}`. */
  path: string;
  operationId: string;
  tags: readonly Tag[];
  summary: string;
  description?: string;
  access?: Access;
  params?: P;
  query?: Q;
  /** Multipart text fields; the route then takes one file in the part `file`. */
  form?: F;
  /** What the `file` part is, for the docs. */
  file?: string;
  /** A JSON request body (an object). */
  body?: B;
  /** Request headers worth documenting (`If-None-Match`, …); not validated. */
  headers?: AnyObject;
  responses: Record<number, ResponseSpec>;
  /** Problem statuses beyond those every route of its kind has (400; 401/403/429 under /api; 404 with path parameters). */
  errors?: readonly number[];
  /** Sentences for specific unknown names (e.g. `name` on add-version: it belongs to PATCH). */
  hints?: Readonly<Record<string, string>>;
  /** Runs after path and query validation, before a multipart body is received (fail fast). */
  beforeUpload?: (input: { params: Out<P>; query: Out<Q> }, ctx: RouteContext) => Promise<void>;
  handler: Handler<P, Q, F, B>;
}

export type Route = RouteSpec<AnyObject | undefined, AnyObject | undefined, AnyObject | undefined, AnyObject | undefined>;

export function defineRoute<P extends AnyObject | undefined = undefined, Q extends AnyObject | undefined = undefined, F extends AnyObject | undefined = undefined, B extends AnyObject | undefined = undefined>(
  spec: RouteSpec<P, Q, F, B>,
): Route {
  return spec as unknown as Route;
}

const EMPTY = z.object({});

/** `GET /api/datasets/{datasetId}` */
export function routeLabel(route: Pick<Route, "method" | "path">): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}

/** Express path of a route, relative to where it is mounted (`/api` routes on the API router). */
function expressPath(route: Route): string {
  const relative = (route.access ?? "api") === "api" ? route.path.replace(/^\/api/, "") : route.path;
  return relative.replace(/\{(\w+)\}/g, ":$1");
}

/** Every problem status a route can answer, with the automatic ones. */
export function errorStatuses(route: Route): number[] {
  const access = route.access ?? "api";
  const out = new Set<number>([400, ...(route.errors ?? [])]);
  if (access === "api") {
    out.add(401);
    if (route.method !== "get") out.add(403);
    out.add(429);
  }
  if (access === "metrics") out.add(401);
  if (route.params) out.add(404);
  return [...out].sort((a, b) => a - b);
}

interface Validated {
  params: unknown;
  query: unknown;
}

/**
 * Mounts every route: `api` routes on `api` (mounted at /api by the caller), the others on `app`.
 * A path that exists with other methods answers 405 with `Allow`.
 */
export function mountRoutes(routes: readonly Route[], deps: RouteDeps, targets: { app: Router; api: Router; metricsAuth: RequestHandler }): void {
  const methodsByPath = new Map<string, { router: Router; methods: Set<string>; label: string }>();
  for (const route of routes) {
    const access = route.access ?? "api";
    const router = access === "api" ? targets.api : targets.app;
    const path = expressPath(route);
    const chain: RequestHandler[] = access === "metrics" ? [targets.metricsAuth] : [];
    chain.push(validateHead(route, deps));
    if (route.form) chain.push(receiveUpload({ uploadDir: deps.config.uploadDir, maxUploadBytes: deps.config.maxUploadBytes, slots: deps.uploadSlots }));
    chain.push(run(route, deps));
    router[route.method](path, ...chain);
    const key = `${access}\u0000${path}`;
    const entry = methodsByPath.get(key) ?? { router, methods: new Set<string>(), label: route.path };
    entry.methods.add(route.method.toUpperCase());
    if (route.method === "get") entry.methods.add("HEAD");
    methodsByPath.set(key, entry);
  }
  for (const [key, { router, methods, label }] of methodsByPath) {
    const allow = [...methods].join(", ");
    router.all(key.split("\u0000")[1] as string, function methodNotAllowed(req: Request, res: Response, next: NextFunction) {
      if (req.method === "OPTIONS") return next();
      res.setHeader("Allow", allow);
      throw new ApiError(405, "METHOD_NOT_ALLOWED", `${label} takes ${allow}, not ${req.method}.`);
    });
  }
}

/** Path and query first: a bad URL is refused before any upload is received. */
function validateHead(route: Route, deps: RouteDeps): RequestHandler {
  const label = routeLabel(route);
  return async (req, res, next) => {
    const validated: Validated = {
      params: validateInput(route.params ?? EMPTY, req.params, "path", { route: label }),
      query: validateInput(route.query ?? EMPTY, req.query, "query", { route: label, hints: route.hints }),
    };
    res.locals.validated = validated;
    if (route.beforeUpload) {
      try {
        await route.beforeUpload(validated as never, { req, res, deps });
      } catch (err) {
        throw await explainNotFound(err, validated.params, deps.storage);
      }
    }
    next();
  };
}

function run(route: Route, deps: RouteDeps): RequestHandler {
  const label = routeLabel(route);
  return async (req, res) => {
    const { params, query } = res.locals.validated as Validated;
    const input = {
      params,
      query,
      form: route.form ? validateInput(route.form, req.body, "form", { route: label, hints: route.hints }) : {},
      body: route.body ? validateBody(route, req, label) : {},
      file: route.form ? uploadedFile(req) : undefined,
    };
    let result: unknown;
    try {
      result = await route.handler(input as never, { req, res, deps });
    } catch (err) {
      throw await explainNotFound(err, params, deps.storage);
    }
    if (result !== undefined && !res.headersSent) res.json(result);
  };
}

function validateBody(route: Route, req: Request, label: string): unknown {
  const schema = route.body as AnyObject;
  if (!req.is("application/json")) {
    const fields = Object.keys(schema.shape).map((k) => `"${k}": …`).join(", ");
    throw new ApiError(400, "BAD_REQUEST", `${label} takes a JSON object like {${fields}} with Content-Type: application/json.`);
  }
  return validateInput(schema, req.body, "body", { route: label, hints: route.hints });
}

const SERVER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A 404 for a dataset id that is really a dataset's name (or does not look like an id at all)
 * says so and points to `GET /api/datasets?name=…`. Any other error passes through unchanged.
 */
async function explainNotFound(err: unknown, params: unknown, storage: Storage): Promise<unknown> {
  const id = (params as { datasetId?: unknown } | undefined)?.datasetId;
  if (!(err instanceof ApiError) || err.status !== 404 || typeof id !== "string") return err;
  const exists = await storage.getDataset(id).then(() => true, () => false);
  if (exists) return err; // the dataset is there: the 404 is about a version
  const named = await storage.findByName(id).catch(() => null);
  const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
  const lookup = `GET /api/datasets?name=${encodeURIComponent(id)}`;
  if (named) {
    return new ApiError(404, "NOT_FOUND", `No dataset has the id ${shown}, but a dataset is named so: its id is "${named.id}". Paths take ids; find one by name with ${lookup}.`, { datasetId: named.id });
  }
  if (!SERVER_ID.test(id)) {
    return new ApiError(404, "NOT_FOUND", `No dataset with id ${shown}. Dataset ids are server-made UUIDs (like "3f0c2a9e-7b1d-4c55-9e2f-0a1b2c3d4e5f"); to find a dataset by name use ${lookup}.`);
  }
  return err;
}
