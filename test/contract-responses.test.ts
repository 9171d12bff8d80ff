/**
 * What each route declares (src/routes/: statuses, media types, zod body shapes, headers) against
 * what a real server answers, over every fixture file and the error paths. Every answer must be
 * declared: its status, its content type, its body (parsed with the declared schema; fields the
 * schema does not know fail unless the shape is open), and the route-specific headers it carries.
 * At the end, every declared success status of every route must have been seen.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { errorStatuses, ERRORS, routeLabel, type ResponseSpec, type Route } from "../src/routes/define.ts";
import { ROUTES } from "../src/routes/index.ts";
import * as S from "../src/schemas.ts";
import { startServer, type TestServer } from "./helpers/server.ts";

const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");
const byOp = new Map(ROUTES.map((r) => [r.operationId, r]));
const seen = new Set<string>();

interface Call {
  params?: Record<string, string>;
  query?: [string, string][];
  form?: Record<string, string>;
  file?: { name: string; content: string | Uint8Array };
  body?: unknown;
  headers?: Record<string, string>;
}

/** Headers a route must declare when it sends them (others, like Cache-Control on errors, are the middleware's). */
const ROUTE_HEADERS = ["ETag", "Link", "Location", "Content-Disposition"];

function specFor(route: Route, status: number): ResponseSpec | undefined {
  const declared = route.responses[status];
  if (declared) return declared;
  if (!errorStatuses(route).includes(status)) return undefined;
  return { description: ERRORS[status]!.description, content: { "application/problem+json": S.Problem }, headers: ERRORS[status]!.headers };
}

/** Sends `call` to `operationId` on `server` and checks the answer against the declaration. Returns the parsed body. */
async function check(server: TestServer, operationId: string, call: Call, expectStatus: number): Promise<any> {
  const route = byOp.get(operationId);
  if (!route) throw new Error(`no route ${operationId}`);
  const label = routeLabel(route);
  let p = route.path;
  for (const [k, v] of Object.entries(call.params ?? {})) p = p.replace(`{${k}}`, encodeURIComponent(v));
  const q = new URLSearchParams(call.query ?? []).toString();
  const init: RequestInit = { method: route.method.toUpperCase(), headers: { ...call.headers } };
  if (route.form) {
    const form = new FormData();
    for (const [k, v] of Object.entries(call.form ?? {})) form.append(k, v);
    if (call.file) form.append("file", new Blob([call.file.content]), call.file.name);
    init.body = form;
  } else if (call.body !== undefined) {
    init.headers = { ...init.headers, "content-type": "application/json" };
    init.body = JSON.stringify(call.body);
  }
  const res = await fetch(`${server.url}${p}${q ? `?${q}` : ""}`, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  expect(res.status, `${label} ${JSON.stringify(call.query ?? "")}: ${text.slice(0, 300)}`).toBe(expectStatus);
  const spec = specFor(route, res.status);
  expect(spec, `${label} answered ${res.status}, which it does not declare`).toBeDefined();
  seen.add(`${operationId} ${res.status}`);

  let body: unknown;
  if (!spec!.content) {
    expect(bytes.length, `${label} ${res.status} declares no body`).toBe(0);
  } else {
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    expect(Object.keys(spec!.content), `${label} ${res.status} content type`).toContain(type);
    const schema = spec!.content[type] as z.ZodType;
    if (type === "application/json" || type.endsWith("+json")) {
      body = JSON.parse(text);
      const parsed = schema.safeParse(body);
      expect(parsed.success, `${label} ${res.status} body: ${parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3))}`).toBe(true);
      // Closed shapes drop fields they do not declare: the answer must have none.
      expect(parsed.data, `${label} ${res.status}: the body has fields the schema does not declare`).toEqual(body);
    } else if (schema instanceof z.ZodString && !(schema.meta() as { format?: string } | undefined)?.format) {
      body = text;
    } else {
      body = bytes;
    }
  }
  const declared = new Set(spec!.headers ?? []);
  for (const h of ROUTE_HEADERS) {
    if (res.headers.has(h)) expect(declared.has(h as never), `${label} ${res.status} sends ${h} without declaring it`).toBe(true);
  }
  for (const h of declared) {
    if (h !== "Link") expect(res.headers.has(h), `${label} ${res.status} declares ${h} but did not send it`).toBe(true);
  }
  return body;
}

describe("declared responses match real answers", () => {
  let server: TestServer;
  let secured: TestServer;
  let limited: TestServer;

  beforeAll(async () => {
    [server, secured, limited] = await Promise.all([
      startServer("memory", { MAX_UPLOAD_BYTES: String(256 * 1024) }),
      startServer("memory", { API_TOKENS: "reader-token:read,writer-token:write" }),
      startServer("memory", { RATE_LIMIT_READS: "2" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.close(), secured?.close(), limited?.close()]);
  });

  it("for every fixture file: upload, version, schema, stats, pages, downloads", { timeout: 120_000 }, async () => {
    const files = readdirSync(FIXTURES).filter((f) => /\.(csv|tsv|xlsx|xlsm|xls|parquet)$/.test(f)).sort();
    let stored = 0;
    for (const name of files) {
      const content = readFileSync(path.join(FIXTURES, name));
      const res = await fetch(`${server.url}/api/datasets/upload`, { method: "POST", body: (() => { const f = new FormData(); f.append("name", `fixture ${name}`); f.append("file", new Blob([content]), name); return f; })() });
      if (res.status !== 201) {
        // empty, ragged and mixed-line-ending files are refused: their answers are checked below.
        expect([400, 422], name).toContain(res.status);
        continue;
      }
      const { dataset } = (await res.json()) as { dataset: { id: string } };
      stored++;
      const id = dataset.id;
      const params = { datasetId: id, version: "1" };
      await check(server, "getDataset", { params: { datasetId: id } }, 200);
      const version = await check(server, "getVersion", { params }, 200);
      await check(server, "getSchema", { params }, 200);
      await check(server, "getStats", { params }, 200);
      await check(server, "getData", { params }, 200);
      await check(server, "getData", { params, query: [["format", "arrays"], ["limit", "3"]] }, 200);
      const first = version.columns[0].name as string;
      await check(server, "getData", { params, query: [["sort", `-${first}`], ["filter", `${first}:notnull`]] }, 200);
      await check(server, "getStats", { params, query: [["filter", `${first}:notnull`]] }, 200);
      for (const format of ["csv", "parquet", "ndjson", "json", "arrow"]) await check(server, "downloadVersion", { params, query: [["format", format]] }, 200);
      await check(server, "downloadVersion", { params }, 200);
    }
    expect(stored).toBeGreaterThanOrEqual(10);
  });

  it("for uploads, versions, datasets and operations, with their errors", { timeout: 120_000 }, async () => {
    const csv = "id,name,score,when\n1,Ada,9.5,2024-01-31\n2,Bob,,2023-12-01\n3,Cy,7,\n";
    const created = await check(server, "uploadDataset", { form: { name: "responses", description: "d" }, file: { name: "r.csv", content: csv } }, 201);
    const id = created.dataset.id as string;
    const v1 = { datasetId: id, version: "1" };
    const missing = { datasetId: "00000000-0000-4000-8000-000000000000", version: "1" };

    await check(server, "uploadDataset", { form: { name: "RESPONSES" }, file: { name: "r.csv", content: csv } }, 409);
    await check(server, "uploadDataset", { file: { name: "big.csv", content: "a,b\n" + "123456789,abcdefghi\n".repeat(20_000) } }, 413);
    await check(server, "uploadDataset", { file: { name: "x.png", content: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) } }, 415);
    await check(server, "uploadDataset", { file: { name: "ragged.csv", content: "a,b\n1,2\n3\n" } }, 422);
    await check(server, "uploadDataset", { form: { delimeter: ";" }, file: { name: "r.csv", content: csv } }, 400);
    await check(server, "inspectUpload", { file: { name: "i.csv", content: "a,b\n1,N/A\n2,3\n" } }, 200);
    await check(server, "inspectUpload", { file: { name: "i.parquet", content: "a,b\n" } }, 415);
    await check(server, "inspectUpload", { form: { header: "maybe" }, file: { name: "i.csv", content: csv } }, 400);

    await check(server, "addVersion", { params: { datasetId: id }, file: { name: "v2.csv", content: "id\n1\n2\n" } }, 201);
    await check(server, "addVersion", { params: { datasetId: id }, file: { name: "v.csv", content: "" } }, 422);
    await check(server, "addVersion", { params: { datasetId: missing.datasetId }, file: { name: "v.csv", content: csv } }, 404);
    await check(server, "addVersion", { params: { datasetId: id }, form: { name: "x" }, file: { name: "v.csv", content: csv } }, 400);

    await check(server, "listDatasets", {}, 200);
    await check(server, "listDatasets", { query: [["name", "responses"]] }, 200);
    await check(server, "listDatasets", { query: [["limit", "0"]] }, 400);
    await check(server, "getDataset", { params: { datasetId: "responses" } }, 404);
    await check(server, "getDataset", { params: { datasetId: id }, query: [["x", "1"]] }, 400);
    await check(server, "updateDataset", { params: { datasetId: id }, body: { description: "new" } }, 200);
    await check(server, "updateDataset", { params: { datasetId: id }, body: { colour: "red" } }, 400);
    await check(server, "updateDataset", { params: { datasetId: missing.datasetId }, body: { description: "x" } }, 404);
    await check(server, "uploadDataset", { form: { name: "other" }, file: { name: "o.csv", content: csv } }, 201);
    await check(server, "updateDataset", { params: { datasetId: id }, body: { name: "Other" } }, 409);

    await check(server, "listVersions", { params: { datasetId: id } }, 200);
    await check(server, "listVersions", { params: { datasetId: missing.datasetId } }, 404);
    await check(server, "listVersions", { params: { datasetId: id }, query: [["limit", "1"]] }, 400);
    for (const op of ["getVersion", "getSchema", "getStats", "getData", "downloadVersion"]) {
      const first = await fetch(`${server.url}${byOp.get(op)!.path.replace("{datasetId}", id).replace("{version}", "1")}`);
      await first.arrayBuffer();
      const etag = first.headers.get("etag")!;
      expect(etag, op).toMatch(/^"/);
      await check(server, op, { params: v1, headers: { "If-None-Match": etag } }, 304);
      await check(server, op, { params: { ...v1, version: "latest" } }, 200);
      await check(server, op, { params: missing }, 404);
      await check(server, op, { params: { ...v1, version: "0" } }, 404);
      await check(server, op, { params: v1, query: [["bogus", "1"]] }, 400);
    }
    await check(server, "getData", { params: v1, query: [["filter", "score:gt:high"]] }, 400);
    await check(server, "getStats", { params: v1, query: [["filter", "Score:gt:1"]] }, 400);
    await check(server, "downloadVersion", { params: v1, query: [["format", "xlsx"]] }, 400);

    await check(server, "getFacets", { params: v1, query: [["columns", "name,score"], ["bins", "score:2"], ["q", "a"]] }, 200);
    const facets = await fetch(`${server.url}/api/datasets/${id}/versions/1/facets?columns=name`);
    await facets.arrayBuffer();
    await check(server, "getFacets", { params: v1, query: [["columns", "name"]], headers: { "If-None-Match": facets.headers.get("etag")! } }, 304);
    await check(server, "getFacets", { params: missing, query: [["columns", "name"]] }, 404);
    await check(server, "getFacets", { params: v1, query: [["columns", "nope"]] }, 400);
    const sqlPage = await check(server, "runSql", { body: { query: 'SELECT name, score FROM "responses@1" ORDER BY id', limit: 2 } }, 200);
    await check(server, "runSql", { body: { cursor: sqlPage.next } }, 200);
    await check(server, "runSql", { body: { query: "SELECT * FROM read_csv('/etc/passwd')" } }, 400);
    await check(server, "runSql", { body: { qurey: "SELECT 1" } }, 400);
    for (const format of ["csv", "parquet", "ndjson", "json", "arrow"]) await check(server, "downloadSql", { query: [["format", format]], body: { query: "SELECT * FROM responses" } }, 200);
    await check(server, "downloadSql", { body: { query: "DROP TABLE responses" } }, 400);
    await check(server, "deleteVersion", { params: { datasetId: id, version: "2" } }, 204);
    await check(server, "deleteVersion", { params: { datasetId: id, version: "2" } }, 404);
    await check(server, "deleteVersion", { params: v1, query: [["force", "1"]] }, 400);
    await check(server, "deleteDataset", { params: { datasetId: id }, query: [["force", "1"]] }, 400);
    await check(server, "deleteDataset", { params: { datasetId: id } }, 204);
    await check(server, "deleteDataset", { params: { datasetId: id } }, 404);

    await check(server, "getHealth", {}, 200);
    await check(server, "getHealth", { query: [["verbose", "1"]] }, 400);
    expect(await check(server, "liveness", {}, 200)).toEqual({ status: "ok" });
    await check(server, "liveness", { query: [["x", "1"]] }, 400);
    expect(await check(server, "getMetrics", {}, 200)).toContain("http_requests_total");
    await check(server, "getMetrics", { query: [["x", "1"]] }, 400);
    await check(server, "getOpenApi", {}, 200);
    await check(server, "getOpenApi", { query: [["x", "1"]] }, 400);
  });

  it("with API_TOKENS: 401 without a token, 403 for a read token's write; /healthz needs none, /metrics an API token", async () => {
    await check(secured, "listDatasets", {}, 401);
    await check(secured, "listDatasets", { headers: { Authorization: "Bearer reader-token" } }, 200);
    await check(secured, "uploadDataset", { headers: { Authorization: "Bearer reader-token" }, file: { name: "a.csv", content: "a\n1\n" } }, 403);
    await check(secured, "liveness", {}, 200);
    await check(secured, "getMetrics", {}, 401);
    await check(secured, "getMetrics", { headers: { Authorization: "Bearer wrong" } }, 401);
    await check(secured, "getMetrics", { headers: { Authorization: "Bearer reader-token" } }, 200);
  });

  it("past a rate limit: 429 with Retry-After", async () => {
    await check(limited, "listDatasets", {}, 200);
    await check(limited, "listDatasets", {}, 200);
    await check(limited, "listDatasets", {}, 429);
    await check(limited, "liveness", {}, 200); // outside /api: never limited
  });

  it("for comparing versions, ifChanged, export and import, with their errors", { timeout: 120_000 }, async () => {
    const v1 = "id,name,score\n1,Ada,9.5\n2,Bob,\n3,Cy,7\n";
    const v2 = "id,name,score\n1,Ada,9.5\n2,Bob,8\n4,Di,6\n";
    const created = await check(server, "uploadDataset", { form: { name: "compared" }, file: { name: "c.csv", content: v1 } }, 201);
    const id = created.dataset.id as string;
    const missing = "00000000-0000-4000-8000-000000000000";
    await check(server, "addVersion", { params: { datasetId: id }, file: { name: "c.csv", content: v2 } }, 201);
    expect(await check(server, "addVersion", { params: { datasetId: id }, form: { ifChanged: "true" }, file: { name: "c.csv", content: v2 } }, 200)).toMatchObject({ unchanged: true, version: { version: 2 } });
    expect(await check(server, "uploadDataset", { form: { name: "compared", ifChanged: "true" }, file: { name: "c.csv", content: v2 } }, 200)).toMatchObject({ unchanged: true });
    await check(server, "uploadDataset", { form: { name: "compared", ifChanged: "yes" }, file: { name: "c.csv", content: v2 } }, 400);

    const diff = await check(server, "diffVersions", { params: { datasetId: id }, query: [["from", "1"], ["to", "2"], ["key", "id"]] }, 200);
    expect(diff.rows).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    await check(server, "diffVersions", { params: { datasetId: id } }, 200);
    const etag = (await fetch(`${server.url}/api/datasets/${id}/diff?from=1&to=2&key=id`)).headers.get("etag") as string;
    await check(server, "diffVersions", { params: { datasetId: id }, query: [["from", "1"], ["to", "2"], ["key", "id"]], headers: { "If-None-Match": etag } }, 304);
    await check(server, "diffVersions", { params: { datasetId: id }, query: [["key", "nope"]] }, 400);
    await check(server, "diffVersions", { params: { datasetId: id }, query: [["from", "7"]] }, 404);
    await check(server, "diffVersions", { params: { datasetId: missing } }, 404);
    const rows = await check(server, "diffRows", { params: { datasetId: id }, query: [["from", "1"], ["to", "2"], ["key", "id"], ["kind", "changed"]] }, 200);
    expect(rows.rows).toEqual([{ key: { id: 2 }, from: { id: 2, name: "Bob", score: null }, to: { id: 2, name: "Bob", score: 8 }, columns: ["score"] }]);
    await check(server, "diffRows", { params: { datasetId: id }, query: [["from", "1"], ["to", "2"], ["kind", "added"], ["limit", "1"]] }, 200);
    const rowsEtag = (await fetch(`${server.url}/api/datasets/${id}/diff/rows?from=1&to=2&kind=removed`)).headers.get("etag") as string;
    await check(server, "diffRows", { params: { datasetId: id }, query: [["from", "1"], ["to", "2"], ["kind", "removed"]], headers: { "If-None-Match": rowsEtag } }, 304);
    await check(server, "diffRows", { params: { datasetId: id }, query: [["kind", "edited"]] }, 400);
    await check(server, "diffRows", { params: { datasetId: missing }, query: [["kind", "added"]] }, 404);

    await check(server, "exportDataset", { params: { datasetId: id } }, 200);
    const archive = new Uint8Array(await (await fetch(`${server.url}/api/datasets/${id}/export`)).arrayBuffer());
    await check(server, "exportDataset", { params: { datasetId: missing } }, 404);
    await check(server, "exportDataset", { params: { datasetId: id }, query: [["format", "zip"]] }, 400);
    const imported = await check(server, "importDataset", { form: { name: "compared (restored)" }, file: { name: "c.tar", content: archive } }, 201);
    expect(imported.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    await check(server, "importDataset", { file: { name: "c.tar", content: archive } }, 409);
    await check(server, "importDataset", { form: { name: "broken" }, file: { name: "c.tar", content: archive.subarray(0, 1500) } }, 422);
    await check(server, "importDataset", { form: { nmae: "x" }, file: { name: "c.tar", content: archive } }, 400);
  });

  it("saw every declared success status of every route, and a 400 (and 404 with path parameters) for each", () => {
    const missingStatuses: string[] = [];
    for (const r of ROUTES) {
      const wanted = [...Object.keys(r.responses).map(Number), 400, ...(r.params ? [404] : [])];
      for (const status of wanted) if (!seen.has(`${r.operationId} ${status}`)) missingStatuses.push(`${routeLabel(r)} ${status}`);
    }
    expect(missingStatuses).toEqual([]);
  });
});

describe("METRICS_TOKEN", () => {
  it("is what /metrics asks for when set, even with API tokens", async () => {
    const s = await startServer("memory", { API_TOKENS: "api-token:write", METRICS_TOKEN: "scrape-me" });
    try {
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: "Bearer api-token" } })).status).toBe(401);
      const ok = await fetch(`${s.url}/metrics`, { headers: { Authorization: "Bearer scrape-me" } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("http_request_duration_seconds");
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
