/**
 * Issue 14 over HTTP on every backend: diffs and their rows (paging, cursors, ETags, errors),
 * ifChanged uploads, and export → import into a server on another backend, after which every
 * page, statistic and download is identical; damaged archives are refused whole.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDatasets } from "../scripts/demo.ts";
import { pathsFor } from "../src/storage/paths.ts";
import { BACKENDS, getJson, startServer, upload, type BackendName, type TestServer } from "./helpers/server.ts";

const orders = demoDatasets().find((d) => d.name === "coffee-orders");
if (!orders) throw new Error("demo dataset coffee-orders missing");

async function loadOrders(server: TestServer): Promise<string> {
  const first = await upload(`${server.url}/api/datasets/upload`, { name: "coffee-orders.csv", content: orders?.versions[0]?.text ?? "" }, { name: "orders" });
  expect(first.status).toBe(201);
  const id = first.body.dataset.id as string;
  for (const v of orders?.versions.slice(1) ?? []) {
    expect((await upload(`${server.url}/api/datasets/${id}/versions`, { name: v.filename, content: v.text })).status).toBe(201);
  }
  return id;
}

/** The next backend: export from each, import into the next (memory → local → postgres → memory). */
const other = (b: BackendName): BackendName => BACKENDS[(BACKENDS.indexOf(b) + 1) % BACKENDS.length] as BackendName;

for (const backend of BACKENDS) {
  describe(`versions over HTTP (${backend})`, () => {
    let server: TestServer;
    let target: TestServer;
    let id: string;
    let api: string;

    beforeAll(async () => {
      [server, target] = await Promise.all([startServer(backend), startServer(other(backend))]);
      id = await loadOrders(server);
      api = `${server.url}/api/datasets/${id}`;
    });
    afterAll(async () => {
      await Promise.all([server.close(), target.close()]);
    });

    it("GET …/diff: schema, counts by key and stats drift; from defaults to the version before to", async () => {
      const { status, body, headers } = await getJson(`${api}/diff?from=1&to=3&key=order_id`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ datasetId: id, from: 1, to: 3, key: ["order_id"], schema: { added: [{ name: "discount", dtype: "Float64" }], removed: [], changed: [] } });
      expect(body.rows).toEqual({ added: 30, removed: 2, changed: 22, unchanged: 216 });
      expect(body.stats.find((s: { name: string }) => s.name === "order_id")).toEqual({ name: "order_id", nullCount: [0, 0], distinctCount: [240, 268], mean: [1120.5, expect.any(Number)], min: [1001, 1001], max: [1240, 1270] });
      expect(headers.get("cache-control")).toContain("immutable");
      const etag = headers.get("etag") as string;
      expect((await fetch(`${api}/diff?key=order_id&to=3&from=1`, { headers: { "If-None-Match": etag } })).status).toBe(304);
      const latest = await getJson(`${api}/diff?key=order_id`);
      expect(latest.body).toMatchObject({ from: 2, to: 3, rows: { added: 0, removed: 0, changed: 1, unchanged: 267 } });
      expect(latest.headers.get("cache-control")).toBe("no-cache");
      // without a key: whole-row multisets
      const multiset = await getJson(`${api}/diff?from=1&to=2`);
      expect(multiset.body.rows).toMatchObject({ changed: 0, added: 51, removed: 23 });
    });

    it("GET …/diff/rows pages every differing row once, by offset and by cursor", async () => {
      const all = await getJson(`${api}/diff/rows?from=1&to=3&key=order_id&kind=changed&limit=10000`);
      expect(all.status).toBe(200);
      expect(all.body.totalRows).toBe(22);
      const seen: unknown[] = [];
      let url: string | null = `${api}/diff/rows?from=1&to=3&key=order_id&kind=changed&limit=5`;
      while (url) {
        const page = await getJson(url);
        expect(page.status).toBe(200);
        seen.push(...page.body.rows);
        const link = page.headers.get("link");
        url = page.body.next ? `${server.url}/api/datasets/${id}/diff/rows?cursor=${page.body.next}` : null;
        if (url) expect(link).toContain(`cursor=${page.body.next}`);
      }
      expect(seen).toEqual(all.body.rows);
      const row = all.body.rows.find((r: { key: { order_id: number } }) => r.key.order_id === 1020);
      expect(row.columns).toEqual(["quantity"]);
      expect(row.to.quantity).toBe(row.from.quantity + 1);
      expect(row.to.discount).toBeTypeOf("number");
      const removed = await getJson(`${api}/diff/rows?from=1&to=3&key=order_id&kind=removed`);
      expect(removed.body.rows.map((r: { order_id: number }) => r.order_id)).toEqual([1007, 1150]);
    });

    it("errors in our words: bad keys, duplicate keys, unknown versions, bad parameters", async () => {
      const missing = await getJson(`${api}/diff?from=1&to=3&key=nope`);
      expect(missing.status).toBe(400);
      expect(missing.body.detail).toMatch(/Key column "nope" is not in either version/);
      expect(missing.headers.get("cache-control") ?? "").not.toContain("immutable");
      const dup = await getJson(`${api}/diff?from=1&to=3&key=customer`);
      expect(dup.status).toBe(400);
      expect(dup.body.detail).toMatch(/The key "customer" is not unique in version 1: \{"customer":".+"\} appears more than once/);
      expect((await getJson(`${api}/diff?from=9&to=3`)).status).toBe(404);
      expect((await getJson(`${server.url}/api/datasets/00000000-0000-4000-8000-000000000000/diff?from=1&to=2`)).status).toBe(404);
      expect((await getJson(`${api}/diff?from=abc`)).body.detail).toMatch(/"from" is not valid \(No version "abc": versions are positive integers or "latest"/);
      expect((await getJson(`${api}/diff?form=1`)).body.detail).toMatch(/Unknown query parameter "form"/);
      expect((await getJson(`${api}/diff/rows?from=1&to=2&kind=edited`)).body.detail).toMatch(/"kind" must be one of added, removed, changed \(lower case\); got "edited"/);
      expect((await getJson(`${api}/diff/rows?from=1&to=2`)).body.detail).toMatch(/"kind" is required: one of added, removed, changed/);
      expect((await getJson(`${api}/diff/rows?cursor=zzz`)).status).toBe(400);
      expect((await getJson(`${api}/diff?from=1&to=1`)).body.rows).toEqual({ added: 0, removed: 0, changed: 0, unchanged: 240 });
    });

    it("ifChanged=true: the same bytes again answer 200 with the latest version and store nothing", async () => {
      const latestText = orders?.versions[2]?.text ?? "";
      const again = await upload(`${api}/versions`, { name: "coffee-orders.csv", content: latestText }, { ifChanged: "true" });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ unchanged: true, version: { version: 3 }, dataset: { latestVersion: 3, versionCount: 3 } });
      const sameName = await upload(`${server.url}/api/datasets/upload`, { name: "x.csv", content: latestText }, { name: "orders", ifChanged: "true" });
      expect(sameName.status).toBe(200);
      expect(sameName.body.version.version).toBe(3);
      // different bytes: a new version as usual; a new name: a new dataset
      const changed = await upload(`${api}/versions`, { name: "c.csv", content: `${latestText}9999,2025-03-01,X,Y,1,1.5,pending,0\n` }, { ifChanged: "true" });
      expect(changed.status).toBe(201);
      const fresh = await upload(`${server.url}/api/datasets/upload`, { name: "x.csv", content: "a\n1\n" }, { name: "brand-new", ifChanged: "true" });
      expect(fresh.status).toBe(201);
      expect((await upload(`${api}/versions`, { name: "c.csv", content: "a\n1\n" }, { ifChanged: "maybe" })).status).toBe(400);
      await fetch(`${api}/versions/4`, { method: "DELETE" });
    });

    it(`export → import into ${other(backend)}: every page, statistic, download and diff is identical`, async () => {
      const exported = await fetch(`${api}/export`);
      expect(exported.status).toBe(200);
      expect(exported.headers.get("content-type")).toBe("application/x-tar");
      expect(exported.headers.get("content-disposition")).toContain('filename="orders.tar"');
      const archive = new Uint8Array(await exported.arrayBuffer());
      const imported = await upload(`${target.url}/api/datasets/import`, { name: "orders.tar", content: archive });
      expect(imported.status).toBe(201);
      const newId = imported.body.dataset.id as string;
      const there = `${target.url}/api/datasets/${newId}`;
      const norm = (text: string, from: string) => text.split(from).join("ID");
      const source = await getJson(api);
      const copy = await getJson(there);
      expect(norm(JSON.stringify(copy.body), newId)).toBe(norm(JSON.stringify(source.body), id));
      for (const v of [1, 2, 3]) {
        for (const resource of ["", "/schema", "/stats", "/data?limit=10000", "/data?limit=7&sort=-quantity&filter=status:eq:pending", "/download?format=csv", "/download?format=parquet", "/download?format=ndjson"]) {
          const [a, b] = await Promise.all([fetch(`${api}/versions/${v}${resource}`), fetch(`${there}/versions/${v}${resource}`)]);
          expect(b.status).toBe(200);
          const [ta, tb] = [Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer())];
          if (resource.includes("parquet")) expect(tb.equals(ta) || tb.length > 0).toBe(true);
          else if (resource.startsWith("/data")) {
            // cursors embed the dataset id (opaque): compare them by whether there is one
            const [pa, pb] = [JSON.parse(ta.toString()) as { next: unknown }, JSON.parse(tb.toString()) as { next: unknown }];
            expect(pb.next === null).toBe(pa.next === null);
            expect(norm(JSON.stringify({ ...pb, next: null }), newId)).toBe(norm(JSON.stringify({ ...pa, next: null }), id));
          } else expect(norm(tb.toString("latin1"), newId)).toBe(norm(ta.toString("latin1"), id));
        }
      }
      const [da, db] = await Promise.all([getJson(`${api}/diff?from=1&to=3&key=order_id`), getJson(`${there}/diff?from=1&to=3&key=order_id`)]);
      expect(norm(JSON.stringify(db.body), newId)).toBe(norm(JSON.stringify(da.body), id));
      // the same archive again: the name is taken unless another is given
      const clash = await upload(`${target.url}/api/datasets/import`, { name: "orders.tar", content: archive });
      expect(clash.status).toBe(409);
      const renamed = await upload(`${target.url}/api/datasets/import`, { name: "orders.tar", content: archive }, { name: "orders (restored)" });
      expect(renamed.status).toBe(201);
      // numbering continues after the imported versions
      const next = await upload(`${target.url}/api/datasets/${renamed.body.dataset.id}/versions`, { name: "x.csv", content: "a\n1\n" });
      expect(next.body.version.version).toBe(5);
    });

    it("an export racing a version delete holds the versions that exist, not a 404 (QA Q33)", async () => {
      const made = await upload(`${server.url}/api/datasets/upload`, { name: "race.csv", content: "a\n1\n" }, { name: `race-${backend}` });
      const raceId = made.body.dataset.id as string;
      await upload(`${server.url}/api/datasets/${raceId}/versions`, { name: "race.csv", content: "a\n2\n" });
      // the version is deleted between the export's listing and its opening of the versions
      const storage = server.storage as { listVersions: typeof server.storage.listVersions };
      const original = storage.listVersions;
      let raced = false;
      storage.listVersions = async (datasetId, ...rest) => {
        const listed = await original.call(server.storage, datasetId, ...rest);
        if (!raced && datasetId === raceId) {
          raced = true;
          await server.storage.deleteVersion(raceId, 2);
        }
        return listed;
      };
      try {
        const res = await fetch(`${server.url}/api/datasets/${raceId}/export`);
        expect(res.status).toBe(200);
        const tarText = Buffer.from(await res.arrayBuffer()).toString("latin1");
        expect(raced).toBe(true);
        expect(tarText).toContain("versions/000001/");
        expect(tarText).not.toContain("versions/000002/");
      } finally {
        storage.listVersions = original;
      }
    });

    it("a truncated or edited archive is refused whole: 422, nothing stored", async () => {
      const archive = Buffer.from(await (await fetch(`${api}/export`)).arrayBuffer());
      const before = (await getJson(`${target.url}/api/health`)).body;
      const truncated = archive.subarray(0, Math.floor(archive.length * 0.8));
      const edited = Buffer.from(archive);
      const at = edited.length - 3000;
      edited[at] = (edited[at] as number) ^ 0xff;
      for (const bad of [truncated, edited, Buffer.from("not an archive")]) {
        const res = await upload(`${target.url}/api/datasets/import`, { name: "bad.tar", content: bad }, { name: "should-not-exist" });
        expect(res.status).toBe(422);
        expect(res.body.code).toBe("INVALID_ARCHIVE");
        expect(res.body.detail).toMatch(/truncated|ends early|incomplete|SHA-256|not a tar archive|bytes, but the manifest/);
      }
      const after = (await getJson(`${target.url}/api/health`)).body;
      expect([after.datasets, after.versions]).toEqual([before.datasets, before.versions]);
      expect((await getJson(`${target.url}/api/datasets?name=should-not-exist`)).body.total).toBe(0);
    });
  });
}

describe("versions over HTTP: damaged files, unusual types, cursors (local)", () => {
  let server: TestServer;
  let scratch: string;
  beforeAll(async () => {
    server = await startServer("local");
    scratch = await mkdtemp(path.join(os.tmpdir(), "versions-http-"));
  });
  afterAll(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function twoVersions(name: string, first: Uint8Array | string, second: Uint8Array | string, filename = "x.csv"): Promise<string> {
    const created = await upload(`${server.url}/api/datasets/upload`, { name: filename, content: first }, { name });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.dataset.id as string;
    expect((await upload(`${server.url}/api/datasets/${id}/versions`, { name: filename, content: second })).status).toBe(201);
    return id;
  }

  it("a damaged data file is a 410 for the diff and the export, never a 500, and the version is excluded", async () => {
    const id = await twoVersions("damaged", "id,x\n1,a\n2,b\n3,c\n", "id,x\n1,a\n2,B\n4,d\n");
    const file = pathsFor(server.dataDir, id, 2).data;
    const bytes = await readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(file, bytes);
    const diff = await getJson(`${server.url}/api/datasets/${id}/diff?from=1&to=2&key=id`);
    expect([diff.status, diff.body.code]).toEqual([410, "VERSION_DAMAGED"]);
    expect(diff.body.detail).toMatch(/Version 2 of dataset/);
    expect(diff.headers.get("cache-control")).toBe("no-store");
    const exported = await getJson(`${server.url}/api/datasets/${id}/export`);
    expect([exported.status, exported.body.code]).toEqual([410, "VERSION_DAMAGED"]);
    expect((await getJson(`${server.url}/api/health`)).body.excludedVersions).toBeGreaterThanOrEqual(1);
  });

  it("lists, structs and other nested columns: compared by key, and a whole-row diff answers, never a 500", async () => {
    const write = async (name: string, frame: pl.DataFrame) => {
      const file = path.join(scratch, name);
      frame.writeParquet(file);
      return readFile(file);
    };
    const a = await write("a.parquet", pl.DataFrame({ id: [1, 2, 3], tags: [["a"], ["b", "c"], []], point: [{ x: 1, y: 2 }, { x: 3, y: 4 }, { x: 5, y: 6 }] }));
    const b = await write("b.parquet", pl.DataFrame({ id: [1, 2, 4], tags: [["a"], ["b"], ["z"]], point: [{ x: 1, y: 2 }, { x: 3, y: 4 }, { x: 7, y: 8 }] }));
    const id = await twoVersions("nested", a, b, "n.parquet");
    const keyed = await getJson(`${server.url}/api/datasets/${id}/diff?from=1&to=2&key=id`);
    expect(keyed.status, JSON.stringify(keyed.body)).toBe(200);
    expect(keyed.body.rows).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    const changed = await getJson(`${server.url}/api/datasets/${id}/diff/rows?from=1&to=2&key=id&kind=changed`);
    expect(changed.body.rows).toEqual([{ key: { id: 2 }, from: { id: 2, tags: ["b", "c"], point: { x: 3, y: 4 } }, to: { id: 2, tags: ["b"], point: { x: 3, y: 4 } }, columns: ["tags"] }]);
    const whole = await getJson(`${server.url}/api/datasets/${id}/diff?from=1&to=2`);
    expect(whole.status, JSON.stringify(whole.body)).toBeLessThan(500);
    if (whole.status === 200) expect(whole.body.rows).toMatchObject({ added: 2, removed: 2, changed: 0 });
    else expect(whole.body.code).toBe("QUERY_LIMIT");
  });

  it("a diff-rows cursor is pinned: other parameters beside it must agree, and it pages the numbered pair", async () => {
    const id = await twoVersions("cursors", "id,x\n1,a\n2,b\n3,c\n4,d\n", "id,x\n1,A\n2,B\n3,C\n4,D\n");
    const first = await getJson(`${server.url}/api/datasets/${id}/diff/rows?key=id&kind=changed&limit=2`);
    expect(first.body).toMatchObject({ from: 1, to: 2, totalRows: 4 });
    const cursor = first.body.next as string;
    expect((await getJson(`${server.url}/api/datasets/${id}/diff/rows?cursor=${cursor}&kind=added`)).status).toBe(400);
    expect((await getJson(`${server.url}/api/datasets/${id}/diff/rows?cursor=${cursor}&offset=0`)).status).toBe(400);
    // a new version does not move a cursor made through `latest`
    expect((await upload(`${server.url}/api/datasets/${id}/versions`, { name: "x.csv", content: "id,x\n9,z\n" })).status).toBe(201);
    const second = await getJson(`${server.url}/api/datasets/${id}/diff/rows?cursor=${cursor}&kind=changed&limit=2`);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ from: 1, to: 2, offset: 2, next: null });
    expect(second.body.rows.map((r: { key: { id: number } }) => r.key.id)).toEqual([3, 4]);
  });
});
