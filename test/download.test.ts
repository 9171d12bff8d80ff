/** Downloads over HTTP: headers, every format, DuckDB reading our Parquet, and memory on a big export. */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const TYPES = path.resolve(import.meta.dirname, "..", "fixtures", "types.parquet");

for (const backend of BACKENDS) {
  describe(`downloads (${backend} backend)`, () => {
    let server: TestServer;
    let dir: string;
    let base: string;
    beforeAll(async () => {
      server = await startServer(backend);
      dir = await mkdtemp(path.join(os.tmpdir(), "ds-download-"));
      const created = await upload(`${server.url}/api/datasets/upload`, { name: "types.parquet", content: readFileSync(TYPES) }, { name: "Typés" });
      expect(created.status).toBe(201);
      base = `${server.url}/api/datasets/${created.body.dataset.id}/versions/1`;
    });
    afterAll(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("streams Parquet by default for a Parquet source, with a safe attachment name, and DuckDB reads back the exact values", async () => {
      const res = await fetch(`${base}/download`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/vnd.apache.parquet");
      expect(res.headers.get("content-disposition")).toBe(`attachment; filename="types-v1.parquet"; filename*=UTF-8''types-v1.parquet`);
      expect(res.headers.get("etag")).toMatch(/^"/);
      const file = path.join(dir, "d.parquet");
      await writeFile(file, Buffer.from(await res.arrayBuffer()));

      const duck = await (await DuckDBInstance.create(":memory:")).connect();
      const reader = await duck.runAndReadAll(`SELECT i, f, s, b, strftime(d, '%Y-%m-%d') AS d, strftime(dt, '%Y-%m-%dT%H:%M:%S.%f') AS dt, typeof(i) AS ti, typeof(d) AS td, typeof(dt) AS tdt FROM read_parquet('${file}')`);
      const rows = reader.getRowObjectsJson();
      expect(rows).toEqual([
        { i: "1", f: 1.5, s: "a", b: true, d: "2024-01-02", dt: "2024-01-02T03:04:05.123456", ti: "BIGINT", td: "DATE", tdt: "TIMESTAMP" },
        { i: null, f: 2.5, s: null, b: false, d: null, dt: null, ti: "BIGINT", td: "DATE", tdt: "TIMESTAMP" },
        { i: "3", f: null, s: "c", b: null, d: "2024-03-04", dt: "2024-12-31T23:59:59.000000", ti: "BIGINT", td: "DATE", tdt: "TIMESTAMP" },
      ]);
      duck.closeSync();

      const back = await pl.scanParquet(file, { glob: false }).collect();
      const original = await pl.scanParquet(TYPES, { glob: false }).collect();
      expect(back.dtypes.map(String)).toEqual(original.dtypes.map(String));
    });

    it("serves every format with its type, honouring columns, sort and filter", async () => {
      const q = "columns=s,i&sort=-i&filter=i:notnull";
      const csv = await fetch(`${base}/download?format=csv&${q}`);
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(await csv.text()).toBe('"s","i"\n"c",3\n"a",1\n');
      const ndjson = await fetch(`${base}/download?format=ndjson&${q}`);
      expect(ndjson.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      expect((await ndjson.text()).trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ s: "c", i: 3 }, { s: "a", i: 1 }]);
      const json = await fetch(`${base}/download?format=json&${q}`);
      expect(await json.json()).toEqual([{ s: "c", i: 3 }, { s: "a", i: 1 }]);
      const arrow = await fetch(`${base}/download?format=arrow&${q}`);
      expect(arrow.headers.get("content-disposition")).toContain(".arrow");
      expect(pl.readIPC(Buffer.from(await arrow.arrayBuffer())).toRecords()).toEqual([{ s: "c", i: 3 }, { s: "a", i: 1 }]);
    });

    it("answers 400 for an unknown format or a bad filter, and 304 for a current ETag", async () => {
      expect((await getJson(`${base}/download?format=xlsx`)).body.code).toBe("BAD_REQUEST");
      expect((await getJson(`${base}/download?filter=nope:eq:1`)).status).toBe(400);
      const first = await fetch(`${base}/download?format=csv`);
      await first.arrayBuffer();
      const again = await fetch(`${base}/download?format=csv`, { headers: { "If-None-Match": first.headers.get("etag")! } });
      expect(again.status).toBe(304);
    });
  });
}
