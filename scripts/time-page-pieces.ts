/**
 * `node --import ./src/polars-fast.ts scripts/time-page-pieces.ts [rows]` — µs per call of the
 * pieces of a 100-row page outside HTTP (docs/performance.md, "Session 3: pages"): the bench's
 * CSV-derived frame (bench/data, 200,000 rows × 10 columns) read as the memory backend keeps it,
 * then readPage and its parts at seeded random offsets, the envelope, the ETag and Buffer copy.
 */
import { createHash } from "node:crypto";
import pl from "nodejs-polars";
import { ensureData, prng } from "../bench/generate.ts";
import { setRowCacheBudget } from "../src/frame/page-cache.ts";
import { readPage } from "../src/frame/page.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { etagOf } from "../src/http/caching.ts";
import type { Version } from "../src/types.ts";

const rows = Number(process.argv[2] ?? 200_000);
const data = await ensureData(rows, (m) => process.stderr.write(`${m}\n`));
const frame = await pl.scanParquet(data.parquetPath, { glob: false, hivePartitioning: false }).collect();
const version = { datasetId: "bench", version: 1, createdAt: "2026-12-01T00:00:00.000Z", rowCount: frame.height, columnCount: frame.width, columns: [] } as unknown as Version;
const N = 5000;

function time(name: string, fn: (i: number) => unknown): number {
  for (let i = 0; i < 500; i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t) / 1e3 / N;
  console.log(`${us.toFixed(1).padStart(8)} µs  ${name}`);
  return us;
}
async function timeAsync(name: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - t) / 1e3 / N;
  console.log(`${us.toFixed(1).padStart(8)} µs  ${name}`);
  return us;
}

const r = prng(7);
const offsets = Array.from({ length: N + 500 }, () => Math.floor(r() * (rows - 100)));
setRowCacheBudget(0);
await timeAsync("readPage (objects, in-memory frame, unfiltered, no row cache)", (i) => readPage(lazyOf(frame), version, { offset: offsets[i] as number, limit: 100 }, "objects", frame));
await timeAsync("readPage (arrays, no row cache)", (i) => readPage(lazyOf(frame), version, { offset: offsets[i] as number, limit: 100 }, "arrays", frame));
time("lazyOf(frame) (a _LazyDataFrame wrapper: was made per request)", () => lazyOf(frame));
const page = await readPage(lazyOf(frame), version, { offset: 1234, limit: 100 }, "objects", frame);
const envelope = () => `{"datasetId":${JSON.stringify(version.datasetId)},"version":1,"offset":1234,"limit":100,"totalRows":${page.totalRows},"columns":${JSON.stringify(page.columns)},"rows":${page.rowsJson},"next":${JSON.stringify("x".repeat(60))}}`;
const body = envelope();
console.log(`page body: ${Buffer.byteLength(body)} bytes`);
time("envelope string", envelope);
time("Buffer.from(body) (utf8 encode)", () => Buffer.from(body));
time("Buffer.byteLength(body)", () => Buffer.byteLength(body));
time("etagOf (sha256 of identity + query)", (i) => etagOf(version, "data", `limit=100&offset=${offsets[i]}`));
time("sha256 of the body", () => createHash("sha256").update(body).digest("base64url"));
time("JSON.parse(rowsJson)", () => JSON.parse(page.rowsJson));

// The parts of readPage's eager path, on nodejs-polars' native frame (as page.ts does).
{
  const { Writable } = await import("node:stream");
  const nativeBinding = (await import("nodejs-polars/bin/native-polars.js")).default as unknown as { JsDataFrame: new (c: unknown[]) => NF };
  interface NF { height: number; slice(o: number, n: number): NF; column(n: string): NC; withColumn(c: NC): NF; writeJson(d: unknown, o: { format: "json" }): void; getColumns(): NC[] }
  interface NC { strftime(f: string): NC; dtype: unknown }
  const { nativeSeries } = await import("../src/frame/safe.ts");
  const all = new nativeBinding.JsDataFrame(nativeSeries(frame));
  console.log(`frame chunks: ${(frame as unknown as { nChunks(): number }).nChunks?.()}`);
  time("native slice(offset, 100)", (i) => all.slice(offsets[i] as number, 100));
  const sl = all.slice(1234, 100);
  time("column('created_at').strftime", () => sl.column("created_at").strftime("%Y-%m-%dT%H:%M:%S%.f"));
  const conv = sl.column("created_at").strftime("%Y-%m-%dT%H:%M:%S%.f");
  time("withColumn(converted)", () => sl.withColumn(conv));
  const ready = sl.withColumn(conv);
  const sinkJson = (f: NF) => {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write(c: Buffer, _e, d) { chunks.push(c); d(null); } });
    f.writeJson(sink, { format: "json" });
    sink.end();
    return Buffer.concat(chunks);
  };
  time("writeJson into a Writable + Buffer.concat", () => sinkJson(ready));
  const buf = sinkJson(ready);
  time("rows Buffer → utf8 string", () => buf.toString("utf8"));
  let calls = 0;
  const counting = { write(c: Buffer) { calls++; void c; return true; } };
  ready.writeJson(counting, { format: "json" });
  console.log(`writeJson calls write() ${calls} times for ${buf.length} bytes`);
  time("writeJson into a plain {write} object", () => { const chunks: Buffer[] = []; ready.writeJson({ write: (c: Buffer) => { chunks.push(c); return true; }, end() {} }, { format: "json" }); return Buffer.concat(chunks); });
  time("getColumns() (for hasInexactIntegers)", () => ready.getColumns());
}

// The request path's pieces that are not Polars (same process, no HTTP): the headers helmet sets,
// the ETag variant, the request log's line, Buffer vs string bodies.
{
  const http = await import("node:http");
  const { Socket } = await import("node:net");
  const helmet = (await import("helmet")).default;
  const { canonicalQuery } = await import("../src/http/caching.ts");
  const { clearRowCache } = await import("../src/frame/page-cache.ts");
  const opts = { crossOriginResourcePolicy: { policy: "same-origin" as const }, strictTransportSecurity: false, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };
  const newRes = () => new http.ServerResponse(new http.IncomingMessage(new Socket()));
  const h = helmet(opts);
  const noop = () => undefined;
  time("helmet(): 11 middlewares on a ServerResponse", () => h({} as never, newRes() as never, noop));
  time("a bare ServerResponse (subtract from the one above)", () => newRes());
  const req = { originalUrl: "/api/datasets/0b7c3c2e-1111-4a4b-b38b-73bbb27567fe/versions/1/data?offset=123456&limit=100" };
  time("canonicalQuery(req) (URL parse, sort, serialise)", () => canonicalQuery(req as never));
  time("page ETag variant: JSON.stringify of the normalised request", (i) => JSON.stringify([offsets[i], 100, null, null, [], null, "objects"]));
  setRowCacheBudget(0);
  await timeAsync("readPage, no row cache (PAGE_CACHE_BYTES=0: render every page)", (i) => readPage(() => lazyOf(frame), version, { offset: offsets[i] as number, limit: 100 }, "objects", frame));
  setRowCacheBudget(256 * 1024 * 1024);
  clearRowCache();
  await timeAsync("readPage, row cache cold (first 5,000 random pages of 200,000 rows)", (i) => readPage(() => lazyOf(frame), version, { offset: offsets[i] as number, limit: 100 }, "objects", frame));
  for (let o = 0; o < rows; o += 10_000) await readPage(() => lazyOf(frame), version, { offset: o, limit: 10_000 }, "objects", frame);
  await timeAsync("readPage, row cache warm (every row rendered before)", (i) => readPage(() => lazyOf(frame), version, { offset: offsets[i] as number, limit: 100 }, "objects", frame));
  const p = await readPage(() => lazyOf(frame), version, { offset: 1234, limit: 100 }, "objects", frame);
  const bytes = p.rowsBytes as Buffer;
  time("body as one Buffer (head + rows bytes + tail)", () => Buffer.concat([Buffer.from('{"datasetId":"x","version":1,"offset":1234,"limit":100,"totalRows":200000,"columns":[],"rows":'), bytes, Buffer.from(',"next":null}')]));
  time("body as a string, then UTF-8 encoded by res.send", () => Buffer.from(`{"datasetId":"x","version":1,"offset":1234,"limit":100,"totalRows":200000,"columns":[],"rows":${p.rowsJson},"next":null}`));
}
