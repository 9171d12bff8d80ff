/**
 * Round trip (issue 5): for every fixture the service accepts, upload → download as Parquet →
 * upload that file again (as version 2) gives the identical schema and identical values, through
 * the real HTTP server.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPECTED, REFUSED } from "./fixtures-expected.ts";
import { FIXTURES } from "./ingest-helpers.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startServer("memory", { RATE_LIMIT_UPLOADS: "0", RATE_LIMIT_READS: "0" });
});

afterAll(async () => {
  await server?.close();
});

const fixtures = readdirSync(FIXTURES).filter((f) => f !== "README.md" && !(f in REFUSED));

/** Schema and every row of a version, as the API serves them. */
async function snapshot(datasetId: string, version: number): Promise<{ schema: unknown; rows: unknown[] }> {
  const schema = await getJson(`${server.url}/api/datasets/${datasetId}/versions/${version}/schema`);
  expect(schema.status).toBe(200);
  const data = await getJson(`${server.url}/api/datasets/${datasetId}/versions/${version}/data?limit=10000`);
  expect(data.status).toBe(200);
  return { schema: { columns: schema.body.columns, rowCount: schema.body.rowCount }, rows: data.body.rows };
}

describe("upload → download as Parquet → upload again", () => {
  it("covers every accepted fixture", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of fixtures) {
    it(`keeps ${name}'s schema and values`, async () => {
      const first = await upload(`${server.url}/api/datasets/upload`, { name, content: readFileSync(path.join(FIXTURES, name)) }, { name: `roundtrip-${name}`, ...(EXPECTED[name]?.options ?? {}) });
      expect(first.status).toBe(201);
      const id = first.body.dataset.id as string;

      const download = await fetch(`${server.url}/api/datasets/${id}/versions/1/download?format=parquet`);
      expect(download.status).toBe(200);
      const parquet = new Uint8Array(await download.arrayBuffer());
      expect(Buffer.from(parquet.subarray(0, 4)).toString("latin1")).toBe("PAR1");

      const second = await upload(`${server.url}/api/datasets/${id}/versions`, { name: `${name}.parquet`, content: parquet });
      expect(second.status).toBe(201);
      expect(second.body.version.version).toBe(2);
      expect(second.body.version.source.format).toBe("parquet");

      const [a, b] = [await snapshot(id, 1), await snapshot(id, 2)];
      expect(b.schema).toEqual(a.schema);
      expect(b.rows).toEqual(a.rows);
    });
  }
});
