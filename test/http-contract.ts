/**
 * The HTTP contract (../shared/API.md) as tests, run unchanged against every backend
 * (test/http.test.ts). Real server on a loopback port, real multipart uploads, values asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, startServer, upload, type BackendName, type TestServer } from "./helpers/server.ts";

const PEOPLE = [
  "id,name,score,active,joined",
  "1,Ada,91.5,true,2024-01-05",
  "2,Bob,,false,2023-12-31",
  "3,Chloé,78.25,true,",
  "4,\"Dan, Jr.\",65,false,2022-02-28",
  "5,Eve 🚀,100,true,2021-07-04",
].join("\n") + "\n";

function expectProblem(res: { status: number; body: any; headers: Headers }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
}

export function runHttpContract(backend: BackendName): void {
  describe(`HTTP contract (${backend} backend)`, () => {
    let server: TestServer;
    let api: string;
    beforeAll(async () => {
      server = await startServer(backend, { MAX_UPLOAD_BYTES: String(256 * 1024) });
      api = `${server.url}/api`;
    });
    afterAll(async () => {
      await server.close();
    });

    async function create(name: string, content = PEOPLE, file = "people.csv", fields: Record<string, string> = {}) {
      const res = await upload(`${api}/datasets/upload`, { name: file, content }, { name, ...fields });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { dataset: any; version: any };
    }

    describe("health", () => {
      it("reports status, backend and counts", async () => {
        const res = await getJson(`${api}/health`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: "ok", backend, datasets: expect.any(Number), versions: expect.any(Number) });
        expect(res.body.memory).toMatchObject({ rssBytes: expect.any(Number), dataBytes: expect.any(Number), budgetBytes: expect.any(Number) });
      });
    });

    describe("upload", () => {
      it("creates a dataset with version 1 and answers 201 with Location and the documented body", async () => {
        const form = await upload(`${api}/datasets/upload`, { name: "people.csv", content: PEOPLE }, { description: "staff list" });
        expect(form.status).toBe(201);
        const { dataset, version } = form.body;
        expect(form.headers.get("location")).toBe(`/api/datasets/${dataset.id}`);
        expect(dataset).toMatchObject({ name: "people", description: "staff list", latestVersion: 1, versionCount: 1 });
        expect(dataset.id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Date.parse(dataset.createdAt)).not.toBeNaN();
        expect(version).toMatchObject({ datasetId: dataset.id, version: 1, rowCount: 5, columnCount: 5 });
        expect(version.source).toMatchObject({ filename: "people.csv", format: "csv", sizeBytes: Buffer.byteLength(PEOPLE), sheet: null });
        expect(version.source.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(version.columns).toEqual([
          { name: "id", dtype: "Int64", nullable: false },
          { name: "name", dtype: "String", nullable: false },
          { name: "score", dtype: "Float64", nullable: true },
          { name: "active", dtype: "Boolean", nullable: false },
          { name: "joined", dtype: "Date", nullable: true },
        ]);
      });

      it("returns every value exactly as written, in file order", async () => {
        const { dataset } = await create("exact values");
        const res = await getJson(`${api}/datasets/${dataset.id}/versions/1/data`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ datasetId: dataset.id, version: 1, offset: 0, limit: 100, totalRows: 5 });
        expect(res.body.columns).toEqual([
          { name: "id", dtype: "Int64" },
          { name: "name", dtype: "String" },
          { name: "score", dtype: "Float64" },
          { name: "active", dtype: "Boolean" },
          { name: "joined", dtype: "Date" },
        ]);
        expect(res.body.rows).toEqual([
          { id: 1, name: "Ada", score: 91.5, active: true, joined: "2024-01-05" },
          { id: 2, name: "Bob", score: null, active: false, joined: "2023-12-31" },
          { id: 3, name: "Chloé", score: 78.25, active: true, joined: null },
          { id: 4, name: "Dan, Jr.", score: 65, active: false, joined: "2022-02-28" },
          { id: 5, name: "Eve 🚀", score: 100, active: true, joined: "2021-07-04" },
        ]);
        expect(res.body.next).toBeNull();
      });

      it("keeps leading zeros and integers beyond 2^53 exact", async () => {
        // Big integers send pages down the exact per-cell path: nulls of every type must stay null there.
        const csv = "zip,big,small,day,at\n01234,9007199254740993,1,2024-02-29,2024-01-02T03:04:05.5\n00501,-9223372036854775808,,,\n10001,42,3,1999-12-31,2000-01-01T00:00:00\n";
        const { dataset, version } = await create("codes", csv, "codes.csv");
        expect(version.columns.map((c: any) => c.dtype)).toEqual(["String", "Int64", "Int64", "Date", "Datetime(us)"]);
        const res = await getJson(`${api}/datasets/${dataset.id}/versions/1/data`);
        expect(res.body.rows).toEqual([
          { zip: "01234", big: "9007199254740993", small: 1, day: "2024-02-29", at: "2024-01-02T03:04:05.500" },
          { zip: "00501", big: "-9223372036854775808", small: null, day: null, at: null },
          { zip: "10001", big: 42, small: 3, day: "1999-12-31", at: "2000-01-01T00:00:00" },
        ]);
      });

      it("reads a TSV by its tabs", async () => {
        const { version } = await create("tabs", "a\tb\n1\tx y\n2\tz\n", "t.tsv");
        expect(version.source.format).toBe("tsv");
        expect(version.columns.map((c: any) => c.name)).toEqual(["a", "b"]);
        expect(version.rowCount).toBe(2);
      });

      it("answers 409 NAME_TAKEN with the existing datasetId, whatever the case", async () => {
        const { dataset } = await create("Quarterly Sales");
        const res = await upload(`${api}/datasets/upload`, { name: "x.csv", content: PEOPLE }, { name: "quarterly SALES" });
        expectProblem(res, 409, "NAME_TAKEN");
        expect(res.body.datasetId).toBe(dataset.id);
      });

      it("answers 422 UNPARSEABLE_FILE naming the line of a ragged row, and stores nothing", async () => {
        const before = (await getJson(`${api}/health`)).body.versions;
        const res = await upload(`${api}/datasets/upload`, { name: "ragged.csv", content: "a,b,c\n1,2,3\n4,5\n6,7,8\n" }, { name: "ragged" });
        expectProblem(res, 422, "UNPARSEABLE_FILE");
        expect(res.body.detail).toMatch(/line 3\b/i);
        expect((await getJson(`${api}/health`)).body.versions).toBe(before);
        expect((await getJson(`${api}/datasets?name=ragged`)).body.total).toBe(0);
      });

      it("answers 422 for an empty file", async () => {
        expectProblem(await upload(`${api}/datasets/upload`, { name: "empty.csv", content: "" }), 422, "UNPARSEABLE_FILE");
      });

      it("answers 415 for content that is no supported format, whatever its extension", async () => {
        const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1]);
        expectProblem(await upload(`${api}/datasets/upload`, { name: "image.csv", content: png }), 415, "UNSUPPORTED_FORMAT");
        expectProblem(await upload(`${api}/datasets/upload`, { name: "data.parquet", content: "a,b\n1,2\n" }), 415, "UNSUPPORTED_FORMAT");
      });

      it("answers 413 FILE_TOO_LARGE past MAX_UPLOAD_BYTES and leaves no temp file", async () => {
        const big = "a,b\n" + "123456789,abcdefghi\n".repeat(20_000);
        expectProblem(await upload(`${api}/datasets/upload`, { name: "big.csv", content: big }), 413, "FILE_TOO_LARGE");
        const { readdir } = await import("node:fs/promises");
        await new Promise((r) => setTimeout(r, 50));
        expect(await readdir(server.uploadDir)).toEqual([]);
      });

      it("answers 400 when the form has no file, 415 when the body is not multipart", async () => {
        expectProblem(await upload(`${api}/datasets/upload`, null, { name: "nofile" }), 400, "BAD_REQUEST");
        const res = await getJson(`${api}/datasets/upload`, { method: "POST", headers: { "content-type": "text/csv" }, body: PEOPLE });
        expectProblem(res, 415, "UNSUPPORTED_FORMAT");
      });

      it("answers 400 for a bad parsing option", async () => {
        expectProblem(await upload(`${api}/datasets/upload`, { name: "p.csv", content: PEOPLE }, { name: "opt", header: "maybe" }), 400, "BAD_REQUEST");
      });
    });

    describe("datasets", () => {
      it("lists with offset/limit/total and finds by exact name case-insensitively", async () => {
        const { dataset } = await create("Listing Target");
        const all = await getJson(`${api}/datasets?limit=1000`);
        expect(all.body).toMatchObject({ offset: 0, limit: 1000, total: expect.any(Number) });
        expect(all.body.items.map((d: any) => d.id)).toContain(dataset.id);
        const one = await getJson(`${api}/datasets?name=listing%20target`);
        expect(one.body).toMatchObject({ total: 1, items: [{ id: dataset.id, name: "Listing Target" }] });
        const page = await getJson(`${api}/datasets?offset=1&limit=1`);
        expect(page.body.items).toHaveLength(1);
        expect(page.body.items[0].id).toBe(all.body.items[1].id);
        expectProblem(await getJson(`${api}/datasets?limit=0`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${api}/datasets?offset=-1`), 400, "BAD_REQUEST");
      });

      it("shows a dataset with its versions (without columns)", async () => {
        const { dataset } = await create("with versions");
        const res = await getJson(`${api}/datasets/${dataset.id}`);
        expect(res.body).toMatchObject({ id: dataset.id, name: "with versions", latestVersion: 1, versionCount: 1 });
        expect(res.body.versions).toHaveLength(1);
        expect(res.body.versions[0]).toMatchObject({ datasetId: dataset.id, version: 1, rowCount: 5 });
        expect(res.body.versions[0].columns).toBeUndefined();
      });

      it("renames and describes with PATCH, refusing a taken name", async () => {
        const { dataset } = await create("patch me");
        await create("already here");
        const patch = (body: unknown) => getJson(`${api}/datasets/${dataset.id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        const ok = await patch({ name: "Patched", description: "new words" });
        expect(ok.status).toBe(200);
        expect(ok.body).toMatchObject({ id: dataset.id, name: "Patched", description: "new words" });
        expect((await getJson(`${api}/datasets?name=patched`)).body.total).toBe(1);
        expect((await getJson(`${api}/datasets?name=patch%20me`)).body.total).toBe(0);
        expectProblem(await patch({ name: "ALREADY HERE" }), 409, "NAME_TAKEN");
        expectProblem(await patch({ name: "" }), 400, "BAD_REQUEST");
        expectProblem(await patch({ colour: "red" }), 400, "BAD_REQUEST");
        const bad = await getJson(`${api}/datasets/${dataset.id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: "{not json" });
        expectProblem(bad, 400, "BAD_REQUEST");
      });

      it("deletes a dataset: 204, then 404 everywhere, and its name is free again", async () => {
        const { dataset } = await create("short lived");
        expect((await fetch(`${api}/datasets/${dataset.id}`, { method: "DELETE" })).status).toBe(204);
        expectProblem(await getJson(`${api}/datasets/${dataset.id}`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/1/data`), 404, "NOT_FOUND");
        await create("short lived");
      });

      it("answers 404 NOT_FOUND for unknown datasets, versions and routes", async () => {
        const { dataset } = await create("for 404s");
        expectProblem(await getJson(`${api}/datasets/00000000-0000-4000-8000-000000000000`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/9`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/abc/schema`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/0`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/nothing-here`), 404, "NOT_FOUND");
        expectProblem(await getJson(`${api}/datasets/nope/versions`), 404, "NOT_FOUND");
      });
    });

    describe("versions", () => {
      it("adds versions 2, 3…, lists oldest first, resolves latest, never reuses a number", async () => {
        const { dataset } = await create("versioned");
        const add = (content: string) => upload(`${api}/datasets/${dataset.id}/versions`, { name: "v.csv", content });
        const v2 = await add("id\n1\n2\n");
        expect(v2.status).toBe(201);
        expect(v2.headers.get("location")).toBe(`/api/datasets/${dataset.id}/versions/2`);
        expect(v2.body.dataset).toMatchObject({ id: dataset.id, latestVersion: 2, versionCount: 2 });
        expect(v2.body.version).toMatchObject({ version: 2, rowCount: 2 });
        expect((await add("id\n1\n2\n3\n")).body.version.version).toBe(3);

        const list = await getJson(`${api}/datasets/${dataset.id}/versions`);
        expect(list.body.items.map((v: any) => v.version)).toEqual([1, 2, 3]);
        expect(list.body.items[0].columns).toBeUndefined();
        expect((await getJson(`${api}/datasets/${dataset.id}/versions/latest`)).body).toMatchObject({ version: 3, rowCount: 3, columns: [{ name: "id", dtype: "Int64", nullable: false }] });

        expect((await fetch(`${api}/datasets/${dataset.id}/versions/3`, { method: "DELETE" })).status).toBe(204);
        expect((await getJson(`${api}/datasets/${dataset.id}/versions/latest`)).body.version).toBe(2);
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/3`), 404, "NOT_FOUND");
        expect((await add("id\n7\n")).body.version.version).toBe(4);
        expect((await getJson(`${api}/datasets/${dataset.id}`)).body).toMatchObject({ latestVersion: 4, versionCount: 3 });
      });

      it("keeps earlier versions unchanged when new ones land (immutability)", async () => {
        const { dataset } = await create("immutable");
        const before = await getJson(`${api}/datasets/${dataset.id}/versions/1/data`);
        await upload(`${api}/datasets/${dataset.id}/versions`, { name: "v.csv", content: "other\nx\n" });
        const after = await getJson(`${api}/datasets/${dataset.id}/versions/1/data`);
        expect(after.body).toEqual(before.body);
        expect((await getJson(`${api}/datasets/${dataset.id}/versions/latest/schema`)).body.columns).toEqual([{ name: "other", dtype: "String", nullable: false }]);
      });

      it("gives 20 concurrent uploads to one dataset distinct, gap-free numbers 2..21", async () => {
        const { dataset } = await create("concurrent");
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => upload(`${api}/datasets/${dataset.id}/versions`, { name: `v${i}.csv`, content: `n\n${i}\n` })),
        );
        expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
        expect(results.map((r) => r.body.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
        // Each number holds the rows of the upload that got it.
        for (const r of results.slice(0, 5)) {
          const page = await getJson(`${api}/datasets/${dataset.id}/versions/${r.body.version.version}/data`);
          expect(page.body.rows).toEqual([{ n: Number(r.body.version.source.filename.slice(1, -4)) }]);
        }
      });

      it("answers 404 when adding a version to an unknown dataset", async () => {
        const res = await upload(`${api}/datasets/00000000-0000-4000-8000-000000000000/versions`, { name: "v.csv", content: "a\n1\n" });
        expectProblem(res, 404, "NOT_FOUND");
      });
    });

    describe("schema and statistics", () => {
      it("serves the schema of a version", async () => {
        const { dataset } = await create("schema");
        const res = await getJson(`${api}/datasets/${dataset.id}/versions/1/schema`);
        expect(res.body).toEqual({
          datasetId: dataset.id,
          version: 1,
          rowCount: 5,
          columns: [
            { name: "id", dtype: "Int64", nullable: false },
            { name: "name", dtype: "String", nullable: false },
            { name: "score", dtype: "Float64", nullable: true },
            { name: "active", dtype: "Boolean", nullable: false },
            { name: "joined", dtype: "Date", nullable: true },
          ],
        });
      });

      it("computes statistics that match independent arithmetic, and serves them again identically", async () => {
        const { dataset } = await create("stats");
        const res = await getJson(`${api}/datasets/${dataset.id}/versions/1/stats`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ datasetId: dataset.id, version: 1, rowCount: 5 });
        const byName = Object.fromEntries(res.body.columns.map((c: any) => [c.name, c]));
        const scores = [91.5, 78.25, 65, 100];
        const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
        const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / (scores.length - 1));
        expect(byName.score).toMatchObject({ dtype: "Float64", count: 4, nullCount: 1, distinctCount: 4, min: 65, max: 100, zeros: 0 });
        expect(byName.score.mean).toBeCloseTo(mean, 10);
        expect(byName.score.std).toBeCloseTo(std, 10);
        expect(byName.score.median).toBeCloseTo((78.25 + 91.5) / 2, 10);
        expect(Object.keys(byName.score.quantiles).sort()).toEqual(["p05", "p25", "p75", "p95"]);
        expect(byName.score.histogram.edges.length).toBe(byName.score.histogram.counts.length + 1);
        expect(byName.score.histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(4);
        expect(byName.id).toMatchObject({ count: 5, nullCount: 0, distinctCount: 5, min: 1, max: 5, mean: 3, median: 3, zeros: 0 });
        // A small integer range gets one whole-number bin per value.
        expect(byName.id.histogram).toEqual({ edges: [1, 2, 3, 4, 5, 6], counts: [1, 1, 1, 1, 1] });
        const names = ["Ada", "Bob", "Chloé", "Dan, Jr.", "Eve 🚀"];
        expect(byName.name).toMatchObject({ count: 5, nullCount: 0, distinctCount: 5, minLength: 3 });
        expect(byName.name.topValues).toHaveLength(5);
        expect(byName.name.topValues.map((t: any) => t.value).sort()).toEqual([...names].sort());
        expect(byName.active).toMatchObject({ count: 5, trueCount: 3, falseCount: 2, nullCount: 0 });
        expect(byName.joined).toMatchObject({ count: 4, nullCount: 1, min: "2021-07-04", max: "2024-01-05" });
        expect(byName.joined.histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(4);
        const again = await getJson(`${api}/datasets/${dataset.id}/versions/1/stats`);
        expect(again.body).toEqual(res.body);
      });
    });

    describe("paged data", () => {
      const WIDE = "k,v,w\n" + Array.from({ length: 257 }, (_, i) => `${i},v${i},${i % 7 === 0 ? "" : i / 4}`).join("\n") + "\n";

      it("reassembles the whole file from pages of any size", async () => {
        const { dataset } = await create("paging", WIDE, "wide.csv");
        const all = await getJson(`${api}/datasets/${dataset.id}/versions/1/data?limit=10000`);
        expect(all.body.rows).toHaveLength(257);
        const pieces: unknown[] = [];
        for (let offset = 0; offset < 257; offset += 50) {
          const page = await getJson(`${api}/datasets/${dataset.id}/versions/1/data?offset=${offset}&limit=50`);
          expect(page.body).toMatchObject({ offset, limit: 50, totalRows: 257 });
          pieces.push(...page.body.rows);
        }
        expect(pieces).toEqual(all.body.rows);
        expect(all.body.rows[7]).toEqual({ k: 7, v: "v7", w: null });
        expect(all.body.rows[9]).toEqual({ k: 9, v: "v9", w: 2.25 });
        const past = await getJson(`${api}/datasets/${dataset.id}/versions/1/data?offset=1000`);
        expect(past.body).toMatchObject({ totalRows: 257, rows: [], next: null });
      });

      it("projects columns in the requested order and returns arrays with format=arrays", async () => {
        const { dataset } = await create("projection");
        const res = await getJson(`${api}/datasets/${dataset.id}/versions/1/data?columns=joined,id&limit=2`);
        expect(res.body.columns).toEqual([{ name: "joined", dtype: "Date" }, { name: "id", dtype: "Int64" }]);
        expect(res.body.rows).toEqual([{ joined: "2024-01-05", id: 1 }, { joined: "2023-12-31", id: 2 }]);
        expect(Object.keys(res.body.rows[0])).toEqual(["joined", "id"]);
        const arrays = await getJson(`${api}/datasets/${dataset.id}/versions/1/data?columns=name,score&format=arrays&offset=1&limit=2`);
        expect(arrays.body.rows).toEqual([["Bob", null], ["Chloé", 78.25]]);
      });

      it("answers 400 for bad paging parameters and unknown columns", async () => {
        const { dataset } = await create("bad paging");
        const base = `${api}/datasets/${dataset.id}/versions/1/data`;
        for (const q of ["limit=0", "limit=10001", "limit=abc", "offset=-5", "offset=1.5", "columns=id,nope", "format=xml"]) {
          expectProblem(await getJson(`${base}?${q}`), 400, "BAD_REQUEST");
        }
        expect((await getJson(`${base}?limit=10000`)).status).toBe(200);
      });

      it("pages by cursor with a Link header, pinned to the numbered version behind latest", async () => {
        const { dataset } = await create("cursor", WIDE, "wide.csv");
        const first = await getJson(`${api}/datasets/${dataset.id}/versions/latest/data?limit=100&columns=k`);
        expect(first.body.next).toEqual(expect.any(String));
        expect(first.headers.get("link")).toBe(`</api/datasets/${dataset.id}/versions/1/data?cursor=${first.body.next}>; rel="next"`);
        await upload(`${api}/datasets/${dataset.id}/versions`, { name: "v2.csv", content: "k\n999\n" });
        const rows: any[] = [...first.body.rows];
        let next: string | null = first.body.next;
        while (next) {
          const page = await getJson(`${api}/datasets/${dataset.id}/versions/latest/data?cursor=${next}`);
          expect(page.status).toBe(200);
          rows.push(...page.body.rows);
          next = page.body.next;
        }
        expect(rows.map((r) => r.k)).toEqual(Array.from({ length: 257 }, (_, i) => i));
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/1/data?cursor=${first.body.next}&columns=v`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${api}/datasets/${dataset.id}/versions/1/data?cursor=garbage`), 400, "BAD_REQUEST");
      });
    });

    describe("filtered and sorted paging", () => {
      it("gives the same rows, each exactly once, by offset and by cursor; filtered stats describe the subset", async () => {
        const csv = "k,g,v\n" + Array.from({ length: 300 }, (_, i) => `${i},${["a", "b", "c"][i % 3]},${i % 11 === 0 ? "" : (i * 37) % 101}`).join("\n") + "\n";
        const { dataset } = await create("filtered paging", csv, "f.csv");
        const url = `${api}/datasets/${dataset.id}/versions/1`;
        const query = "filter=g:in:a|c&filter=v:notnull&sort=-v,k&limit=23";
        const expected = Array.from({ length: 300 }, (_, i) => ({ k: i, g: ["a", "b", "c"][i % 3]!, v: i % 11 === 0 ? null : (i * 37) % 101 }))
          .filter((r) => (r.g === "a" || r.g === "c") && r.v !== null)
          .sort((x, y) => (y.v as number) - (x.v as number) || x.k - y.k);
        const byOffset: any[] = [];
        for (let offset = 0; ; offset += 23) {
          const page = await getJson(`${url}/data?${query}&offset=${offset}`);
          expect(page.body.totalRows).toBe(expected.length);
          if (page.body.rows.length === 0) break;
          byOffset.push(...page.body.rows);
        }
        const byCursor: any[] = [];
        let next: string | null = null;
        do {
          const page: any = await getJson(next ? `${url}/data?cursor=${next}` : `${url}/data?${query}`);
          byCursor.push(...page.body.rows);
          next = page.body.next;
        } while (next);
        expect(byOffset).toEqual(expected);
        expect(byCursor).toEqual(expected);
        const stats = await getJson(`${url}/stats?filter=g:eq:b`);
        expect(stats.body.rowCount).toBe(100);
        expect(stats.body.columns.find((c: any) => c.name === "g").topValues).toEqual([{ value: "b", count: 100 }]);
        expectProblem(await getJson(`${url}/data?filter=g:contains`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${url}/data?filter=k:contains:1`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${url}/data?filter=k:gt:abc`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${url}/data?filter=k:like:1`), 400, "BAD_REQUEST");
        expectProblem(await getJson(`${url}/data?sort=nope`), 400, "BAD_REQUEST");
      });
    });

    describe("caching", () => {
      it("gives numbered versions a strong ETag honoured with 304, and latest no-cache", async () => {
        const { dataset } = await create("etags");
        for (const path of ["", "/schema", "/stats", "/data?limit=2"]) {
          const url = `${api}/datasets/${dataset.id}/versions/1${path}`;
          const first = await fetch(url);
          const etag = first.headers.get("etag");
          expect(etag).toMatch(/^"[^"]+"$/);
          expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
          const second = await fetch(url, { headers: { "If-None-Match": etag! } });
          expect(second.status).toBe(304);
        }
        const other = await fetch(`${api}/datasets/${dataset.id}/versions/1/data?limit=3`);
        const two = await fetch(`${api}/datasets/${dataset.id}/versions/1/data?limit=2`);
        expect(other.headers.get("etag")).not.toBe(two.headers.get("etag"));
        const latest = await fetch(`${api}/datasets/${dataset.id}/versions/latest/schema`);
        expect(latest.headers.get("cache-control")).toBe("no-cache");
      });
    });
  });
}
