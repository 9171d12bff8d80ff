import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import * as S from "../src/schemas.ts";
import { createParser } from "../src/sandbox/parser.ts";
import { createMemoryStorage } from "../src/storage/memory.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

/** Every [METHOD, path] the Express app routes, with Express params rewritten as OpenAPI `{name}`. */
function appRoutes(): string[] {
  const config = loadConfig({ LOG_LEVEL: "silent" }, {});
  const app = createApp({ config, storage: createMemoryStorage({ budgetBytes: 1e9 }), logger: createLogger("silent"), parser: createParser(config) });
  const out: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`.replace(/:(\w+)/g, "{$1}"));
      } else if (layer.handle?.stack) {
        // Our only mounted routers live under /api.
        walk(layer.handle.stack, prefix === "" ? "/api" : prefix);
      }
    }
  };
  walk((app as any).router.stack, "");
  return out.filter((r) => !r.includes("{*path}")).sort();
}

describe("OpenAPI document", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("memory");
  });
  afterAll(async () => {
    await server.close();
  });

  it("is OpenAPI 3.1 and lists exactly the routes the app serves", async () => {
    const doc = (await getJson(`${server.url}/openapi.json`)).body;
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(appRoutes());
    expect(documented).toContain("GET /api/datasets/{datasetId}/versions/{version}/data");
  });

  it("serves interactive docs from local assets only", async () => {
    const res = await fetch(`${server.url}/docs/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("swagger-ui");
    expect(html).not.toMatch(/src="https?:\/\//);
  });

  it("describes real responses of every route", async () => {
    const api = `${server.url}/api`;
    const created = await upload(`${api}/datasets/upload`, { name: "o.csv", content: "a,b,when\n1,x,2024-01-02\n2,,2024-02-03\n" }, { name: "openapi" });
    const { dataset } = S.Created.parse(created.body);
    const id = dataset.id;
    S.Created.parse((await upload(`${api}/datasets/${id}/versions`, { name: "o.csv", content: "a\n3\n" })).body);
    S.Inspect.parse((await upload(`${api}/datasets/inspect`, { name: "o.csv", content: "a,b\n1,N/A\n" })).body);
    S.Health.parse((await getJson(`${api}/health`)).body);
    S.DatasetList.parse((await getJson(`${api}/datasets`)).body);
    S.DatasetDetail.parse((await getJson(`${api}/datasets/${id}`)).body);
    S.Dataset.parse((await getJson(`${api}/datasets/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: '{"description":"d"}' })).body);
    S.VersionList.parse((await getJson(`${api}/datasets/${id}/versions`)).body);
    S.Version.parse((await getJson(`${api}/datasets/${id}/versions/1`)).body);
    S.Schema.parse((await getJson(`${api}/datasets/${id}/versions/1/schema`)).body);
    S.Stats.parse((await getJson(`${api}/datasets/${id}/versions/1/stats`)).body);
    S.Page.parse((await getJson(`${api}/datasets/${id}/versions/1/data`)).body);
    S.Page.parse((await getJson(`${api}/datasets/${id}/versions/1/data?format=arrays`)).body);
    const download = await fetch(`${api}/datasets/${id}/versions/1/download?format=json`);
    expect(download.status).toBe(200);
    expect(Array.isArray(await download.json())).toBe(true);
    S.Problem.parse((await getJson(`${api}/datasets/nope`)).body);
    expect((await fetch(`${api}/datasets/${id}/versions/2`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${api}/datasets/${id}`, { method: "DELETE" })).status).toBe(204);
    const metrics = await fetch(`${server.url}/metrics`);
    expect(await metrics.text()).toContain("http_requests_total");
  });
});
