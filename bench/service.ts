/**
 * One repetition against the real server (a fresh `node src/server.ts` child): ingest, stats,
 * pages, pages with filter + sort, pages during a concurrent upload, and memory. Each part records
 * what it could; a part that fails leaves its figures null and says why in `notes`.
 */
import type { BenchData } from "./generate.ts";
import { prng } from "./generate.ts";
import { load, timedGet, upload, type LoadResult } from "./http.ts";
import type { Metrics } from "./metrics.ts";
import { childrenSettled, memoryOf, startServer, type ServerProc } from "./proc.ts";
import { HELLO_SCRIPT } from "./baselines.ts";

/** Load-test settings shared by the server and hello-world runs. */
export interface LoadSettings {
  connections: number;
  durationSec: number;
  warmupSec: number;
}

/** Options of one repetition against the server. */
export interface ServiceOptions extends LoadSettings {
  /** Entry point of the server (src/server.ts). */
  serverScript: string;
  data: BenchData;
  rep: number;
  logFile: string;
  /** Extra environment for the server (rate limits off, log level, …). */
  env: Record<string, string>;
  /** Extra node flags for the server (e.g. --cpu-prof). */
  nodeFlags: string[];
}

const PAGE = 100;

function loadMetrics(prefix: string, r: LoadResult): Metrics {
  return { [`${prefix}ReqPerSec`]: r.reqPerSec, [`${prefix}P50Ms`]: r.p50Ms, [`${prefix}P99Ms`]: r.p99Ms, [`${prefix}Non2xx`]: r.non2xx + r.errors };
}

/** Page paths at offsets drawn from a seeded PRNG over `[0, rows - PAGE]`. */
function pagePaths(base: string, rows: number, seed: number, extra = ""): () => string {
  const r = prng(seed);
  const span = Math.max(1, rows - PAGE);
  return () => `${base}?offset=${Math.floor(r() * span)}&limit=${PAGE}${extra}`;
}

async function health(server: ServerProc): Promise<{ dataBytes: number | null; rssBytes: number | null }> {
  const h = await timedGet(`${server.url}/api/health`);
  const mem = (h.body as { memory?: { dataBytes?: number; rssBytes?: number } }).memory;
  return { dataBytes: mem?.dataBytes ?? null, rssBytes: mem?.rssBytes ?? null };
}

function datasetIdOf(body: unknown): string {
  const id = (body as { dataset?: { id?: string } }).dataset?.id;
  if (!id) throw new Error(`no dataset.id in ${JSON.stringify(body).slice(0, 300)}`);
  return id;
}

function expect(status: number, wanted: number, what: string, body: unknown): void {
  if (status !== wanted) throw new Error(`${what}: HTTP ${status} (wanted ${wanted}): ${JSON.stringify(body).slice(0, 300)}`);
}

/** Warm-up then measured load run. */
async function measured(server: ServerProc, s: LoadSettings, nextPath: () => string): Promise<LoadResult> {
  await load({ origin: server.url, nextPath, connections: s.connections, durationSec: s.warmupSec });
  return load({ origin: server.url, nextPath, connections: s.connections, durationSec: s.durationSec });
}

/** Runs every server part of one repetition. The server child is always stopped. */
export async function runService(o: ServiceOptions): Promise<{ metrics: Metrics; notes: string[] }> {
  const m: Metrics = {};
  const notes: string[] = [];
  const server = await startServer([...o.nodeFlags, o.serverScript], o.env, o.logFile);
  const api = `${server.url}/api`;
  const d = o.data;
  try {
    // Let the children kept warm load and start-up garbage settle before the idle reading.
    await childrenSettled(server.pid);
    await new Promise((r) => setTimeout(r, 500));
    m.idleRssBytes = memoryOf(server.pid).rssBytes;

    const csv = await upload(`${api}/datasets/upload`, d.csvPath, { name: `bench-csv-${o.rep}` });
    expect(csv.status, 201, "CSV upload", csv.body);
    m.uploadCsvMs = csv.ms;
    for (const [stage, v] of Object.entries(csv.stages)) m[`stage:csv:${stage}`] = v;
    const memAfter = memoryOf(server.pid);
    m.rssAfterCsvBytes = memAfter.rssBytes;
    m.peakRssAfterCsvBytes = memAfter.peakRssBytes;
    m.dataBytesCsv = (await health(server)).dataBytes;
    const csvId = datasetIdOf(csv.body);
    const v1 = `${api}/datasets/${csvId}/versions/1`;

    try {
      const pq = await upload(`${api}/datasets/upload`, d.parquetPath, { name: `bench-parquet-${o.rep}` });
      expect(pq.status, 201, "Parquet upload", pq.body);
      m.uploadParquetMs = pq.ms;
      for (const [stage, v] of Object.entries(pq.stages)) m[`stage:parquet:${stage}`] = v;
    } catch (err) {
      notes.push(String(err));
    }

    try {
      const cold = await timedGet(`${v1}/stats`);
      expect(cold.status, 200, "stats", cold.body);
      const cached = await timedGet(`${v1}/stats`);
      m.statsColdMs = cold.ms;
      m.statsCachedMs = cached.ms;
    } catch (err) {
      notes.push(String(err));
    }

    const pages = pagePaths(`/api/datasets/${csvId}/versions/1/data`, d.rows, 1000 + o.rep);
    try {
      const probe = await timedGet(`${server.url}${pages()}`);
      expect(probe.status, 200, "page", probe.body);
      Object.assign(m, loadMetrics("page", await measured(server, o, pages)));
    } catch (err) {
      notes.push(String(err));
    }

    // Offsets within the filtered rows (the filter keeps about half of them).
    const filter = `&filter=${d.filterColumn}:gt:${d.filterValue}&sort=-${d.sortColumn}`;
    const filtered = pagePaths(`/api/datasets/${csvId}/versions/1/data`, Math.floor(d.rows / 2), 2000 + o.rep, filter);
    try {
      const probe = await timedGet(`${server.url}${filtered()}`);
      if (probe.status === 400) notes.push(`filter+sort skipped: server answered 400 ${JSON.stringify(probe.body).slice(0, 200)}`);
      else {
        expect(probe.status, 200, "filter+sort page", probe.body);
        m.filterSortFirstMs = probe.ms;
        Object.assign(m, loadMetrics("filterSort", await measured(server, o, filtered)));
      }
    } catch (err) {
      notes.push(String(err));
    }

    try {
      // A second big upload (a new version of the CSV dataset) while pages are being served.
      const busyUpload = upload(`${api}/datasets/${csvId}/versions`, d.csvPath, {});
      const during = await load({ origin: server.url, nextPath: pages, connections: o.connections, durationSec: 120, until: busyUpload });
      const up = await busyUpload;
      expect(up.status, 201, "upload during load", up.body);
      m.busyUploadMs = up.ms;
      Object.assign(m, loadMetrics("busy", during));
    } catch (err) {
      notes.push(String(err));
    }

    try {
      // Ordinary work done meanwhile: two more uploads of the CSV, deleted again; then the same page load.
      for (let i = 0; i < 2; i++) {
        const extra = await upload(`${api}/datasets/upload`, d.csvPath, { name: `bench-extra-${o.rep}-${i}` });
        expect(extra.status, 201, "extra upload", extra.body);
        const del = await fetch(`${api}/datasets/${datasetIdOf(extra.body)}`, { method: "DELETE" });
        expect(del.status, 204, "delete", await del.text());
      }
      // the statistics of those uploads run in the background; let them finish first
      await new Promise((r) => setTimeout(r, 1000));
      Object.assign(m, loadMetrics("after", await measured(server, o, pages)));
      m.rssAfterDeletesBytes = memoryOf(server.pid).rssBytes;
    } catch (err) {
      notes.push(String(err));
    }
  } finally {
    await server.stop();
  }
  return { metrics: m, notes };
}

/** The hello-world baseline: same load settings against a bare Express route in its own process. */
export async function runHello(s: LoadSettings, logFile: string): Promise<Metrics> {
  const hello = await startServer([HELLO_SCRIPT], {}, logFile);
  try {
    // right after the service stopped, the first load measured here came out 0.4–0.8× of the same
    // load a few seconds later (bench/pages.ts): a pause keeps that out of the baseline
    await new Promise((r) => setTimeout(r, 2000));
    return loadMetrics("hello", await measured(hello, s, () => "/hello"));
  } finally {
    await hello.stop();
  }
}
