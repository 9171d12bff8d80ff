/**
 * Errors are never cached (issue 11): on every route of the OpenAPI description, each way we
 * know to make it fail answers with `Cache-Control: no-store` and no validator (ETag,
 * Last-Modified), and a conditional re-request (`If-None-Match` with a real ETag of that
 * version, or `*`) still gets the error, never a 304. Both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../src/openapi.ts";
import { BACKENDS, startServer, upload, type TestServer } from "./helpers/server.ts";

interface Case {
  method: string;
  path: string;
  init?: RequestInit;
  why: string;
  /** Strictness that another part of the service may not have yet: skipped when it succeeds. */
  mayPass?: boolean;
}

/** Every error we can provoke on an operation, with a real dataset `id` (version 1 exists). */
function errorCases(method: string, template: string, id: string): Case[] {
  const fill = (datasetId: string, version: string) => template.replace("{datasetId}", datasetId).replace("{version}", version);
  const out: Case[] = [];
  const m = method.toUpperCase();
  if (template.includes("{datasetId}")) out.push({ method: m, path: fill("00000000-0000-4000-8000-000000000000", "1"), why: "unknown dataset" });
  if (template.includes("{version}")) {
    out.push({ method: m, path: fill(id, "999"), why: "unknown version" });
    out.push({ method: m, path: fill(id, "abc"), why: "malformed version" });
  }
  const real = fill(id, "1");
  if (m === "GET" && template.startsWith("/api/datasets")) out.push({ method: m, path: `${real}?delimeter=1`, why: "unknown query parameter", mayPass: true });
  if (m === "POST") out.push({ method: m, path: real, init: { body: "not a form", headers: { "content-type": "text/plain" } }, why: "not multipart" });
  if (m === "PATCH") out.push({ method: m, path: real, init: { body: "{not json", headers: { "content-type": "application/json" } }, why: "invalid JSON" });
  if (template === "/api/datasets") out.push({ method: m, path: "/api/datasets?limit=0", why: "limit out of range" });
  if (template.endsWith("/data")) {
    out.push({ method: m, path: `${real}?limit=0`, why: "limit out of range" }, { method: m, path: `${real}?filter=nope:eq:1`, why: "unknown filter column" }, { method: m, path: `${real}?sort=nope`, why: "unknown sort column" });
  }
  if (template.endsWith("/stats")) out.push({ method: m, path: `${real}?filter=id:gt:abc`, why: "filter value of the wrong type" });
  if (template.endsWith("/download")) {
    // found only while the export is planned, after the handler has set its caching headers
    out.push({ method: m, path: `${real}?columns=nope`, why: "unknown column in a download" }, { method: m, path: `${real}?format=xml`, why: "unknown format" });
  }
  return out;
}

describe.each(BACKENDS)("errors are never cached (%s backend)", (backend) => {
  let server: TestServer;
  let id: string;

  beforeAll(async () => {
    server = await startServer(backend);
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "cache.csv", content: "id,name\n1,a\n2,b\n" });
    expect(created.status).toBe(201);
    id = created.body.dataset.id as string;
  });

  afterAll(async () => {
    await server?.close();
  });

  it("covers every operation of the OpenAPI description that can fail, and every failure is no-store, without validators, never 304", async () => {
    const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const cases = Object.entries(doc.paths).flatMap(([template, ops]) => Object.keys(ops).flatMap((method) => errorCases(method, template, id)));
    const covered = new Set(cases.map((c) => `${c.method} ${c.path.split("?")[0]?.replace(id, "{datasetId}")}`));
    // every /api/datasets operation has at least one provoked failure
    for (const [template, ops] of Object.entries(doc.paths)) {
      if (!template.startsWith("/api/datasets")) continue;
      for (const method of Object.keys(ops)) expect(cases.some((c) => c.method === method.toUpperCase() && c.path.startsWith(template.split("{")[0] as string)), `${method} ${template}`).toBe(true);
    }
    expect(covered.size).toBeGreaterThan(10);

    // a real ETag of version 1, to re-request failures conditionally
    const ok = await fetch(`${server.url}/api/datasets/${id}/versions/1/schema`);
    const etag = ok.headers.get("etag");
    expect(etag).toBeTruthy();

    for (const c of cases) {
      const label = `${c.method} ${c.path} (${c.why})`;
      const res = await fetch(`${server.url}${c.path}`, { method: c.method, ...c.init });
      await res.arrayBuffer();
      if (c.mayPass && res.status < 400) continue;
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
      expect(res.headers.get("cache-control"), label).toBe("no-store");
      expect(res.headers.get("etag"), label).toBeNull();
      expect(res.headers.get("last-modified"), label).toBeNull();
      expect(res.headers.get("content-type"), label).toMatch(/application\/problem\+json/);
      if (c.method !== "GET") continue;
      for (const validator of ["*", etag as string]) {
        const again = await fetch(`${server.url}${c.path}`, { headers: { "If-None-Match": validator } });
        await again.arrayBuffer();
        expect(again.status, `${label} with If-None-Match: ${validator}`).toBe(res.status);
        expect(again.headers.get("cache-control"), label).toBe("no-store");
      }
    }
  });

  it("still caches successes: numbered versions immutable with an ETag and 304, latest no-cache", async () => {
    const first = await fetch(`${server.url}/api/datasets/${id}/versions/1/data`);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const etag = first.headers.get("etag") as string;
    const again = await fetch(`${server.url}/api/datasets/${id}/versions/1/data`, { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    const latest = await fetch(`${server.url}/api/datasets/${id}/versions/latest/data`);
    expect(latest.headers.get("cache-control")).toBe("no-cache");
  });
});
