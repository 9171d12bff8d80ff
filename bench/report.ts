/**
 * Turns median figures into the issue's target table: one row per measure, with ours, the
 * baseline, the ratio (ours ÷ baseline), the target and whether it is met. Rows without a target
 * are context (marked "info").
 */
import type { Metrics } from "./metrics.ts";

/** One row of the results table. */
export interface Row {
  measure: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  /** "met", "not met", "info" or "n/a" (not measured). */
  status: string;
}

/** Sizes shown in row labels. */
export interface ReportContext {
  rows: number;
  csvBytes: number;
  parquetBytes: number;
  connections: number;
}

function ms(v: number | null): string {
  if (v === null) return "n/a";
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  return `${v.toFixed(1)} ms`;
}

function mb(v: number | null): string {
  return v === null ? "n/a" : `${(v / 1e6).toFixed(0)} MB`;
}

function rps(v: number | null): string {
  return v === null ? "n/a" : `${Math.round(v)} req/s`;
}

function ratioOf(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

function x(r: number | null): string {
  if (r === null) return "n/a";
  // Small ratios keep two significant digits, so 0.004× does not print as 0.00×.
  return r < 0.1 ? `${r.toPrecision(2)}×` : `${r.toFixed(2)}×`;
}

function verdict(ok: boolean | null): string {
  return ok === null ? "n/a" : ok ? "met" : "not met";
}

/** Builds the table rows from the medians. */
export function buildRows(m: Metrics, c: ReportContext): Row[] {
  const g = (k: string): number | null => m[k] ?? null;
  const csvMb = `${(c.csvBytes / 1e6).toFixed(0)} MB`;
  const pqMb = `${(c.parquetBytes / 1e6).toFixed(0)} MB`;
  const rows: Row[] = [];
  const add = (measure: string, ours: string, baseline: string, ratio: number | null, target: string, ok: boolean | null | "info") =>
    rows.push({ measure, ours, baseline, ratio: x(ratio), target, status: ok === "info" ? "info" : verdict(ok) });
  const le = (v: number | null, limit: number) => (v === null ? null : v <= limit);

  const upCsv = ratioOf(g("uploadCsvMs"), g("duckdbCsvLoadMs"));
  add(`Ingest: upload CSV (${csvMb}) to 201`, ms(g("uploadCsvMs")), `DuckDB read_csv ${ms(g("duckdbCsvLoadMs"))}`, upCsv, "≤ 1.0× DuckDB", le(upCsv, 1.0));
  add(`Ingest: upload Parquet (${pqMb}) to 201`, ms(g("uploadParquetMs")), `DuckDB read_parquet ${ms(g("duckdbParquetLoadMs"))}`, ratioOf(g("uploadParquetMs"), g("duckdbParquetLoadMs")), "—", "info");
  add("Ingest: raw nodejs-polars CSV scan+collect", ms(g("polarsCsvLoadMs")), `DuckDB read_csv ${ms(g("duckdbCsvLoadMs"))}`, ratioOf(g("polarsCsvLoadMs"), g("duckdbCsvLoadMs")), "—", "info");
  add("Ingest: raw nodejs-polars CSV scan+collect, parseDates", ms(g("polarsCsvTypedLoadMs")), `DuckDB read_csv ${ms(g("duckdbCsvLoadMs"))}`, ratioOf(g("polarsCsvTypedLoadMs"), g("duckdbCsvLoadMs")), "—", "info");
  add("Ingest: raw nodejs-polars Parquet scan+collect", ms(g("polarsParquetLoadMs")), `DuckDB read_parquet ${ms(g("duckdbParquetLoadMs"))}`, ratioOf(g("polarsParquetLoadMs"), g("duckdbParquetLoadMs")), "—", "info");

  const cold = ratioOf(g("statsColdMs"), g("duckdbSummarizeMs"));
  add("Stats: first GET …/stats (cold)", ms(g("statsColdMs")), `DuckDB SUMMARIZE ${ms(g("duckdbSummarizeMs"))}`, cold, "≤ 0.3× SUMMARIZE", le(cold, 0.3));
  add("Stats: second GET …/stats (cached)", ms(g("statsCachedMs")), "—", null, "< 5 ms", g("statsCachedMs") === null ? null : (g("statsCachedMs") as number) < 5);
  add("Stats: raw nodejs-polars describe + nUnique + nullCount", ms(g("polarsStatsMs")), `DuckDB SUMMARIZE ${ms(g("duckdbSummarizeMs"))}`, ratioOf(g("polarsStatsMs"), g("duckdbSummarizeMs")), "—", "info");

  const thr = ratioOf(g("pageReqPerSec"), g("helloReqPerSec"));
  add(`Pages: 100-row GET …/data, ${c.connections} connections`, rps(g("pageReqPerSec")), `hello-world ${rps(g("helloReqPerSec"))}`, thr, "≥ 0.8× hello-world", thr === null ? null : thr >= 0.8);
  add("Pages: p99 latency", ms(g("pageP99Ms")), `hello-world p99 ${ms(g("helloP99Ms"))}`, ratioOf(g("pageP99Ms"), g("helloP99Ms")), "≤ 10 ms", le(g("pageP99Ms"), 10));
  add("Pages: p50 latency", ms(g("pageP50Ms")), `hello-world p50 ${ms(g("helloP50Ms"))}`, ratioOf(g("pageP50Ms"), g("helloP50Ms")), "—", "info");
  add("Pages with filter + sort: throughput", rps(g("filterSortReqPerSec")), `hello-world ${rps(g("helloReqPerSec"))}`, ratioOf(g("filterSortReqPerSec"), g("helloReqPerSec")), "—", "info");
  add("Pages with filter + sort: p99 latency", ms(g("filterSortP99Ms")), `first request ${ms(g("filterSortFirstMs"))}`, null, "—", "info");

  add("Pages after two more uploads were made and deleted", rps(g("afterReqPerSec")), `fresh ${rps(g("pageReqPerSec"))}`, ratioOf(g("afterReqPerSec"), g("pageReqPerSec")), "≈ 1.0× fresh", g("afterReqPerSec") === null || g("pageReqPerSec") === null ? null : (g("afterReqPerSec") as number) >= 0.9 * (g("pageReqPerSec") as number));
  add("Pages after them: p99 latency", ms(g("afterP99Ms")), `fresh p99 ${ms(g("pageP99Ms"))}`, ratioOf(g("afterP99Ms"), g("pageP99Ms")), "—", "info");
  add(`Responsiveness: page p99 during a ${csvMb} upload`, ms(g("busyP99Ms")), `idle p99 ${ms(g("pageP99Ms"))}`, ratioOf(g("busyP99Ms"), g("pageP99Ms")), "≤ 50 ms", le(g("busyP99Ms"), 50));
  add("Responsiveness: that upload's time to 201 under page load", ms(g("busyUploadMs")), `unloaded ${ms(g("uploadCsvMs"))}`, ratioOf(g("busyUploadMs"), g("uploadCsvMs")), "—", "info");

  // Target: RSS after ≤ idle + 1.5 × frame size, i.e. (RSS after − idle) ÷ frame ≤ 1.5.
  const idle = g("idleRssBytes");
  const frame = g("dataBytesCsv");
  const after = g("rssAfterCsvBytes");
  const growth = after === null || idle === null ? null : after - idle;
  const memRatio = ratioOf(growth, frame);
  add("Memory: server RSS after CSV ingest", mb(after), `idle ${mb(idle)} + frame ${mb(frame)}`, memRatio, "(RSS − idle) ≤ 1.5× frame", le(memRatio, 1.5));
  add("Memory: server peak RSS during CSV ingest", mb(g("peakRssAfterCsvBytes")), `idle ${mb(idle)} + frame ${mb(frame)}`, ratioOf(g("peakRssAfterCsvBytes") === null || idle === null ? null : (g("peakRssAfterCsvBytes") as number) - idle, frame), "—", "info");
  return rows;
}

/** Upload stage times (Server-Timing medians, src/timing.ts) of the CSV and the Parquet upload, as a markdown table. */
export function stageTable(m: Metrics): string {
  const stages: string[] = [];
  for (const k of Object.keys(m)) {
    const stage = /^stage:(?:csv|parquet):(.+)$/.exec(k)?.[1];
    if (stage && !stages.includes(stage)) stages.push(stage);
  }
  if (stages.length === 0) return "";
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? "—" : ms(v));
  const rows = stages.map((s) => `| ${s} | ${cell(m[`stage:csv:${s}`])} | ${cell(m[`stage:parquet:${s}`])} |`);
  const total = (kind: string) => ms(stages.reduce((a, s) => a + (m[`stage:${kind}:${s}`] ?? 0), 0));
  return ["| Upload stage | CSV | Parquet |", "| --- | --- | --- |", ...rows, `| (sum) | ${total("csv")} | ${total("parquet")} |`, `| upload to 201 (client) | ${cell(m.uploadCsvMs)} | ${cell(m.uploadParquetMs)} |`].join("\n");
}

/** The rows as a markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const head = "| Measure | Ours | Baseline | Ratio (ours ÷ baseline) | Target | Status |\n| --- | --- | --- | --- | --- | --- |";
  const body = rows.map((r) => `| ${r.measure} | ${r.ours} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.status} |`);
  return [head, ...body].join("\n");
}
