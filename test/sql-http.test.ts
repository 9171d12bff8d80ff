/**
 * SQL, search and facets over HTTP on every backend: a real server on a loopback port, CSV
 * uploads, answers read back as a client would (DuckDB reads the downloaded Parquet), cursors
 * pinned to the versions a query resolved, escapes refused, and a query that would run for
 * minutes stopped at QUERY_TIMEOUT_MS while /api/health keeps answering.
 */
import { mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hasPostgres, postgresTestEnv } from "./helpers/postgres.ts";
import { BACKENDS, getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const SALES_V1 = "id,city,amount,day\n1,Paris,10.5,2024-01-01\n2,Oslo,20,2024-01-02\n3,Paris,30,2024-01-03\n4,Åre,5,2024-01-04\n5,paris,1,2024-01-05\n";
const SALES_V2 = "id,city,amount,day\n1,Rome,1,2024-02-01\n2,Oslo,2,2024-02-02\n";
const PEOPLE = "id,name,city\n1,Ann,Paris\n2,Bo,Oslo\n3,Straße Cy,Rome\n";

async function sql(base: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  return getJson(`${base}/api/sql`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

for (const backend of BACKENDS) {
  describe(`SQL over HTTP (${backend})`, () => {
    let server: TestServer;
    let salesId: string;
    let peopleId: string;
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "sql-http-"));
      server = await startServer(backend);
      const a = await upload(`${server.url}/api/datasets/upload`, { name: "sales.csv", content: SALES_V1 });
      expect(a.status).toBe(201);
      salesId = a.body.dataset.id;
      expect((await upload(`${server.url}/api/datasets/${salesId}/versions`, { name: "sales.csv", content: SALES_V2 })).status).toBe(201);
      const p = await upload(`${server.url}/api/datasets/upload`, { name: "people.csv", content: PEOPLE });
      peopleId = p.body.dataset.id;
    });

    afterAll(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("answers a GROUP BY over a numbered version, shaped like a /data page", async () => {
      const r = await sql(server.url, { query: 'SELECT city, count(*) AS n, sum(amount) AS total FROM "sales@1" GROUP BY city ORDER BY n DESC, city', limit: 100 });
      expect(r.status).toBe(200);
      expect(r.body.columns).toEqual([{ name: "city", dtype: "String" }, { name: "n", dtype: "UInt32" }, { name: "total", dtype: "Float64" }]);
      expect(r.body.rows).toEqual([{ city: "Paris", n: 2, total: 40.5 }, { city: "Oslo", n: 1, total: 20 }, { city: "paris", n: 1, total: 1 }, { city: "Åre", n: 1, total: 5 }]);
      expect(r.body.totalRows).toBe(4);
      expect(r.body.next).toBeNull();
      expect(r.body.tables).toEqual([{ name: "sales@1", datasetId: salesId, version: 1 }]);
    });

    it("joins across datasets and versions, with dates rendered as in pages", async () => {
      const r = await sql(server.url, { query: 'SELECT p.name, s.day, o.city AS old_city FROM people p JOIN sales s ON p.id = s.id JOIN "sales@1" o ON o.id = s.id ORDER BY p.id', format: "arrays" });
      expect(r.status).toBe(200);
      expect(r.body.rows).toEqual([["Ann", "2024-02-01", "Paris"], ["Bo", "2024-02-02", "Oslo"]]);
    });

    it("pages with a cursor pinned to the query and the versions it resolved", async () => {
      const query = "SELECT id, city FROM sales ORDER BY id";
      const first = await sql(server.url, { query: 'SELECT id, city FROM "sales@1" ORDER BY id', limit: 2 });
      expect(first.body.rows).toEqual([{ id: 1, city: "Paris" }, { id: 2, city: "Oslo" }]);
      const seen = [...first.body.rows];
      let next = first.body.next;
      while (next) {
        const page = await sql(server.url, { cursor: next });
        expect(page.status).toBe(200);
        seen.push(...page.body.rows);
        next = page.body.next;
      }
      expect(seen.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);

      // `sales` means the latest version when asked, and stays that version through the cursor
      const latest = await sql(server.url, { query, limit: 1 });
      expect(latest.body.tables).toEqual([{ name: "sales", datasetId: salesId, version: 2 }]);
      expect((await upload(`${server.url}/api/datasets/${salesId}/versions`, { name: "sales.csv", content: SALES_V1 })).status).toBe(201);
      const second = await sql(server.url, { cursor: latest.body.next });
      expect(second.body.rows).toEqual([{ id: 2, city: "Oslo" }]);
      expect(second.body.totalRows).toBe(2);
      expect((await sql(server.url, { query, limit: 1 })).body.tables[0].version).toBe(3);
      // a cursor sent with a different limit is another query
      expect((await sql(server.url, { cursor: latest.body.next, limit: 5 })).status).toBe(400);
    });

    it("refuses file-reading functions and statements that are not queries with problem+json", async () => {
      for (const query of ["SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_parquet('x.parquet')", "CREATE TABLE x AS SELECT 1", "COPY sales TO '/tmp/x'", "SELECT 1; DROP TABLE sales"]) {
        const r = await sql(server.url, { query });
        expect(r.status, query).toBe(400);
        expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
        expect(r.body.code).toBe("BAD_REQUEST");
      }
      const unknown = await sql(server.url, { query: "SELECT * FROM nope" });
      expect(unknown.body.detail).toMatch(/Unknown table "nope".*"sales".*"people"|Unknown table "nope".*"people".*"sales"/);
      const column = await sql(server.url, { query: "SELECT cty FROM sales" });
      expect(column.body.detail).toMatch(/Unknown column "cty"\. Columns: "sales": "id", "city", "amount", "day"/);
      expect((await sql(server.url, { query: "SELECT 1", limt: 5 })).body.detail).toMatch(/Unknown JSON field "limt".*did you mean .*limit/);
    });

    it("downloads the whole result in every format; DuckDB reads the Parquet back", async () => {
      const query = "SELECT id, city, amount, day FROM \"sales@1\" WHERE amount > 2 ORDER BY id";
      const post = (format: string) => fetch(`${server.url}/api/sql/download?format=${format}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query }) });
      const csv = await post("csv");
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-disposition")).toBe('attachment; filename="query.csv"');
      expect(await csv.text()).toBe('"id","city","amount","day"\n1,"Paris",10.5,"2024-01-01"\n2,"Oslo",20.0,"2024-01-02"\n3,"Paris",30.0,"2024-01-03"\n4,"Åre",5.0,"2024-01-04"\n');
      const pq = await post("parquet");
      const file = path.join(dir, `q-${backend}.parquet`);
      await writeFile(file, Buffer.from(await pq.arrayBuffer()));
      const duck = await (await DuckDBInstance.create(":memory:")).connect();
      const rows = (await duck.runAndReadAll(`SELECT id, city, amount, strftime(day, '%Y-%m-%d') AS day FROM read_parquet('${file}') ORDER BY id`)).getRowObjectsJson();
      duck.closeSync();
      expect(rows).toEqual([
        { id: "1", city: "Paris", amount: 10.5, day: "2024-01-01" },
        { id: "2", city: "Oslo", amount: 20, day: "2024-01-02" },
        { id: "3", city: "Paris", amount: 30, day: "2024-01-03" },
        { id: "4", city: "Åre", amount: 5, day: "2024-01-04" },
      ]);
      const nd = await (await post("ndjson")).text();
      expect(nd.trim().split("\n").map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4]);
      expect((JSON.parse(await (await post("json")).text()) as { id: number }[]).map((r) => r.id)).toEqual([1, 2, 3, 4]);
      const arrow = await post("arrow");
      expect(arrow.headers.get("content-type")).toBe("application/vnd.apache.arrow.file");
      expect(Buffer.from(await arrow.arrayBuffer()).subarray(0, 6).toString()).toBe("ARROW1");
      expect((await post("xlsx")).status).toBe(400);
    });

    it("q= searches String columns case-insensitively on /data, /stats and downloads", async () => {
      const data = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/data?q=PARIS&columns=id`);
      expect(data.body.rows).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
      expect(data.body.totalRows).toBe(3);
      const ieq = await getJson(`${server.url}/api/datasets/${peopleId}/versions/1/data?filter=name:icontains:STRASSE&columns=id`);
      expect(ieq.body.rows).toEqual([{ id: 3 }]);
      const stats = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/stats?q=paris`);
      expect(stats.body.rowCount === 3 || stats.body.columns.find((c: { name: string }) => c.name === "id").count === 3).toBe(true);
      const dl = await fetch(`${server.url}/api/datasets/${salesId}/versions/1/download?format=csv&q=oslo&columns=id,city`);
      expect(await dl.text()).toBe('"id","city"\n2,"Oslo"\n');
      // paging a search by cursor keeps the search
      const p1 = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/data?q=paris&columns=id&limit=2`);
      const p2 = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/data?cursor=${p1.body.next}`);
      expect(p2.body.rows).toEqual([{ id: 5 }]);
    });

    it("facets: top values with otherCount and distinctCount, under filters and q=, and bins", async () => {
      const r = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=city&limit=2`);
      expect(r.status).toBe(200);
      expect(r.body.facets).toEqual([{ name: "city", values: [{ value: "Paris", count: 2 }, { value: "Oslo", count: 1 }], otherCount: 2, distinctCount: 4 }]);
      const f = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=city,amount&filter=amount:gt:2&q=a`);
      // "Åre" has no "a" (å is another letter), so only the Paris rows remain
      expect(f.body.facets[0]).toEqual({ name: "city", values: [{ value: "Paris", count: 2 }], otherCount: 0, distinctCount: 1 });
      expect(f.body.totalRows).toBe(2);
      const b = await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=amount&bins=amount:2`);
      expect(b.body.facets[0].values).toEqual([{ value: { from: 1, to: 15.5 }, count: 3 }, { value: { from: 15.5, to: 30 }, count: 2 }]);
      expect((await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=nope`)).status).toBe(400);
      expect((await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets`)).status).toBe(400);
      expect((await getJson(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=city&bins=city:3`)).status).toBe(400);
      const etag = r.headers.get("etag");
      expect(etag).toBeTruthy();
      expect((await fetch(`${server.url}/api/datasets/${salesId}/versions/1/facets?columns=city&limit=2`, { headers: { "If-None-Match": etag as string } })).status).toBe(304);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`a multi-table query over a damaged data file (${backend})`, () => {
    let server: TestServer;
    afterAll(() => server.close());

    it("names the damaged table and version; memory rewrites its copy from the frame and answers", async () => {
      server = await startServer(backend);
      const rows = Array.from({ length: 2000 }, (_, i) => `${i},name ${i}`).join("\n");
      const a = await upload(`${server.url}/api/datasets/upload`, { name: "left.csv", content: `id,name\n${rows}\n` });
      const b = await upload(`${server.url}/api/datasets/upload`, { name: "right.csv", content: `id,name\n${rows}\n` });
      expect([a.status, b.status]).toEqual([201, 201]);
      const rightId = b.body.dataset.id as string;
      // the file query workers read, whatever the backend keeps it as (memory: its copy; local: the stored file; postgres: the object)
      const file = await server.storage.read(rightId, 1, (d) => d.dataFile(), { rows: { offset: 0, limit: 0 } });
      const { size } = await stat(file.path);
      const handle = await open(file.path, "r+");
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, Math.floor(size / 3));
      byte[0] = (byte[0] ?? 0) ^ 0x20;
      await handle.write(byte, 0, 1, Math.floor(size / 3));
      await handle.close();

      const query = 'SELECT count(*) AS n FROM "left@1" l JOIN "right@1" r ON l.id = r.id';
      const first = await sql(server.url, { query });
      if (backend === "memory") {
        // the frame in memory is intact: the copy is written again and the query answers
        expect(first.status).toBe(200);
        expect(first.body.rows).toEqual([{ n: 2000 }]);
        return;
      }
      expect(first.status).toBe(410);
      expect(first.body.code).toBe("VERSION_DAMAGED");
      expect(first.body).toMatchObject({ table: "right@1", datasetId: rightId, version: 1 });
      expect(first.body.detail).toMatch(/^Table "right@1" \(version 1 of dataset "right", id [0-9a-f-]+\) cannot be served: /);
      // excluded from then on: storage refuses it before any job, and the answer still names the table
      const again = await sql(server.url, { query: "SELECT * FROM left JOIN right USING (id) LIMIT 1" });
      expect(again.status).toBe(410);
      expect(again.body).toMatchObject({ code: "VERSION_DAMAGED", table: "right", version: 1 });
      expect(again.body.detail).toMatch(/^Table "right" \(version 1 of dataset "right"/);
      expect((await getJson(`${server.url}/api/health`)).body.excludedVersions).toBe(1);
      // the intact table still answers
      expect((await sql(server.url, { query: "SELECT count(*) AS n FROM left" })).body.rows).toEqual([{ n: 2000 }]);
    }, 60_000);
  });
}

describe.runIf(hasPostgres())("SQL over postgres with objects in s3://", () => {
  let server: TestServer;
  let pg: Awaited<ReturnType<typeof postgresTestEnv>>;
  beforeAll(async () => {
    pg = await postgresTestEnv("s3");
    // the AWS SDK takes credentials from the process environment
    vi.stubEnv("AWS_ACCESS_KEY_ID", pg.env.AWS_ACCESS_KEY_ID);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", pg.env.AWS_SECRET_ACCESS_KEY);
    server = await startServer("postgres", pg.env);
  });
  afterAll(async () => {
    await server.close();
    await pg.cleanup();
    vi.unstubAllEnvs();
  });

  it("queries, downloads and facets read the instance's local copies of the objects", async () => {
    const a = await upload(`${server.url}/api/datasets/upload`, { name: "sales.csv", content: SALES_V1 });
    const p = await upload(`${server.url}/api/datasets/upload`, { name: "people.csv", content: PEOPLE });
    expect([a.status, p.status], JSON.stringify(a.body)).toEqual([201, 201]);
    // the data file a query worker gets is a local file (the object cache), not the s3:// object
    const file = await server.storage.read(a.body.dataset.id, 1, (d) => d.dataFile(), { rows: { offset: 0, limit: 0 } });
    expect(path.isAbsolute(file.path)).toBe(true);
    expect(file.path.startsWith(pg.env.OBJECT_CACHE_DIR!)).toBe(true);
    expect((await stat(file.path)).size).toBe(file.checksum.bytes);

    const r = await sql(server.url, { query: "SELECT p.name, s.amount FROM people p JOIN sales s USING (id) WHERE s.city ILIKE 'paris' ORDER BY p.id" });
    expect(r.status).toBe(200);
    expect(r.body.rows).toEqual([{ name: "Ann", amount: 10.5 }, { name: "Straße Cy", amount: 30 }]);
    const csv = await fetch(`${server.url}/api/sql/download?format=csv`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query: "SELECT city, count(*) AS n FROM sales GROUP BY city ORDER BY city" }) });
    expect(await csv.text()).toBe('"city","n"\n"Oslo",1\n"Paris",2\n"paris",1\n"Åre",1\n');
    const f = await getJson(`${server.url}/api/datasets/${a.body.dataset.id}/versions/1/facets?columns=city&q=PARIS`);
    expect(f.body.facets).toEqual([{ name: "city", values: [{ value: "Paris", count: 2 }, { value: "paris", count: 1 }], otherCount: 0, distinctCount: 2 }]);
    expect((await sql(server.url, { query: "SELECT * FROM read_parquet('" + file.path + "')" })).status).toBe(400);
  }, 60_000);
});

describe("a runaway query is stopped at QUERY_TIMEOUT_MS", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("memory", { QUERY_TIMEOUT_MS: "3000", QUERY_WORKERS: "1" });
    const rows = Array.from({ length: 60_000 }, (_, i) => String(i)).join("\n");
    expect((await upload(`${server.url}/api/datasets/upload`, { name: "t.csv", content: `x\n${rows}\n` })).status).toBe(201);
  });
  afterAll(() => server.close());

  it("answers 422 QUERY_LIMIT while /api/health keeps answering, then serves the next query", async () => {
    // 3.6 billion row pairs, filtered as they stream: minutes of work in little memory
    const runaway = sql(server.url, { query: "SELECT count(*) AS n FROM t a CROSS JOIN t b WHERE (a.x * 7 + b.x * 13) % 1000003 = 5" });
    let healthAnswers = 0;
    let done = false;
    void runaway.finally(() => (done = true));
    while (!done) {
      const h = await getJson(`${server.url}/api/health`);
      expect(h.status).toBe(200);
      healthAnswers += 1;
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await runaway;
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("QUERY_LIMIT");
    expect(r.body.detail).toMatch(/QUERY_TIMEOUT_MS/);
    expect(healthAnswers).toBeGreaterThan(3);
    const after = await sql(server.url, { query: "SELECT count(*) AS n FROM t" });
    expect(after.body.rows).toEqual([{ n: 60_000 }]);
  }, 60_000);

  it("a query that makes Polars panic (a date plus a huge interval) costs only its worker", async () => {
    const r = await sql(server.url, { query: "SELECT date '2024-01-01' + interval '1000000 years' AS d FROM t LIMIT 1" });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/the query engine failed while it tried to run the SQL query\. Change the query/);
    expect((await getJson(`${server.url}/api/health`)).status).toBe(200);
    expect((await sql(server.url, { query: "SELECT max(x) AS m FROM t" })).body.rows).toEqual([{ m: 59_999 }]);
  }, 60_000);
});

describe("a result past the row limit", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("memory");
    const rows = Array.from({ length: 70_000 }, (_, i) => String(i)).join("\n");
    expect((await upload(`${server.url}/api/datasets/upload`, { name: "t.csv", content: `x\n${rows}\n` })).status).toBe(201);
  });
  afterAll(() => server.close());

  it("a result or intermediate past 2^32 rows is 422 QUERY_LIMIT in our words, not Polars' build advice (QA Q21)", async () => {
    const r = await sql(server.url, { query: "SELECT count(*) AS n FROM t a CROSS JOIN t b" });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("QUERY_LIMIT");
    expect(r.body.detail).toMatch(/more than 4,294,967,295 rows/);
    expect(r.body.detail).not.toMatch(/bigidx/);
  }, 60_000);

});

describe("SQL is a read", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("memory", { API_TOKENS: "reader:read,writer:write" });
  });
  afterAll(() => server.close());

  it("a read-only token may query and download, not upload", async () => {
    const form = () => {
      const f = new FormData();
      f.append("file", new Blob(["a\n1\n2\n"]), "t.csv");
      return f;
    };
    const up = (token: string) => fetch(`${server.url}/api/datasets/upload`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form() });
    expect((await up("reader")).status).toBe(403);
    expect((await up("writer")).status).toBe(201);
    const post = (p: string, token: string) => fetch(`${server.url}${p}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ query: "SELECT sum(a) AS s FROM t" }) });
    const r = await post("/api/sql", "reader");
    expect(r.status).toBe(200);
    expect(((await r.json()) as { rows: unknown }).rows).toEqual([{ s: 3 }]);
    expect(await (await post("/api/sql/download?format=csv", "reader")).text()).toBe('"s"\n3\n');
    expect((await fetch(`${server.url}/api/sql`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).status).toBe(401);
  });
});
