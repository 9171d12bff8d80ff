/**
 * The typed client (client/, generated from the OpenAPI document) against a real server, and the
 * check that every generated file (client/schema.ts, docs/api.md, the README's parameter tables)
 * is what `npm run generate` would write from the route definitions today.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatasetClient, multipart, type DatasetClient, type Page } from "../client/index.ts";
import { generatedFiles, ROOT } from "../scripts/contract-docs.ts";
import { startServer, type TestServer } from "./helpers/server.ts";

describe("generated files", () => {
  it("are current: run `npm run generate` after changing a route or a schema", async () => {
    for (const { file, content } of await generatedFiles()) {
      const committed = await readFile(path.join(ROOT, file), "utf8");
      expect(committed === content, `${file} is stale: run npm run generate`).toBe(true);
    }
  });
});

describe("typed client", () => {
  let server: TestServer;
  let api: DatasetClient;
  const rows = Array.from({ length: 23 }, (_, i) => ({ id: i + 1, city: ["Oslo", "Lima", "Pune"][i % 3]!, score: (i * 7) % 10 }));
  const csv = `id,city,score\n${rows.map((r) => `${r.id},${r.city},${r.score}`).join("\n")}\n`;

  beforeAll(async () => {
    server = await startServer("memory");
    api = createDatasetClient({ baseUrl: server.url });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("uploads, finds by name, pages with next, downloads Parquet and reads problems", async () => {
    const up = await api.POST("/api/datasets/upload", { body: { file: new File([csv], "cities.csv"), name: "client cities", onBadRows: "fail" }, bodySerializer: multipart });
    expect(up.response.status).toBe(201);
    const id = up.data!.dataset.id;
    expect(up.data!.version.columns.map((c) => c.name)).toEqual(["id", "city", "score"]);

    const found = await api.GET("/api/datasets", { params: { query: { name: "CLIENT CITIES" } } });
    expect(found.data!.items.map((d) => d.id)).toEqual([id]);

    // Page through with `next`, sorted by score descending then id.
    const seen: Record<string, unknown>[] = [];
    let page: Page | undefined = (await api.GET("/api/datasets/{datasetId}/versions/{version}/data", { params: { path: { datasetId: id, version: "latest" }, query: { limit: 5, sort: "-score,id", filter: ["city:ne:Lima"] } } })).data;
    while (page) {
      seen.push(...(page.rows as Record<string, unknown>[]));
      page = page.next ? (await api.GET("/api/datasets/{datasetId}/versions/{version}/data", { params: { path: { datasetId: id, version: "1" }, query: { cursor: page.next } } })).data : undefined;
    }
    const expected = rows.filter((r) => r.city !== "Lima").sort((a, b) => b.score - a.score || a.id - b.id);
    expect(seen).toEqual(expected);

    const file = await api.GET("/api/datasets/{datasetId}/versions/{version}/download", { params: { path: { datasetId: id, version: "1" }, query: { format: "parquet" } }, parseAs: "arrayBuffer" });
    expect(file.response.headers.get("content-disposition")).toMatch(/filename="cities-v1\.parquet"/);
    const frame = pl.readParquet(Buffer.from(file.data as ArrayBuffer));
    expect(frame.getColumn("id").toArray()).toEqual(rows.map((r) => r.id));
    expect(frame.getColumn("city").toArray()).toEqual(rows.map((r) => r.city));

    const stats = await api.GET("/api/datasets/{datasetId}/versions/{version}/stats", { params: { path: { datasetId: id, version: "1" } } });
    expect(stats.data!.columns.find((c) => c.name === "score")).toMatchObject({ count: 23, min: 0, max: 9 });

    const bad = await api.GET("/api/datasets/{datasetId}/versions/{version}/data", { params: { path: { datasetId: id, version: "1" }, query: { columns: "City" } } });
    expect(bad.response.status).toBe(400);
    expect(bad.error).toMatchObject({ code: "BAD_REQUEST", didYouMean: "city" });

    const patched = await api.PATCH("/api/datasets/{datasetId}", { params: { path: { datasetId: id } }, body: { description: "typed" } });
    expect(patched.data).toMatchObject({ id, description: "typed" });
    const deleted = await api.DELETE("/api/datasets/{datasetId}", { params: { path: { datasetId: id } } });
    expect(deleted.response.status).toBe(204);
  });
});
