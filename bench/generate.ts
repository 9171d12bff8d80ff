/**
 * Deterministic benchmark data: N rows × 10 columns written as CSV (streamed) and Parquet
 * (converted from the CSV by Polars with an explicit schema). Files are cached under
 * bench/data/ keyed by row count and generator version, and written to a temporary name then
 * renamed, so an interrupted run never leaves a half file that a later run would trust.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";
import pl from "nodejs-polars";

/** Bump when the generated content changes, so cached files are not reused. */
export const GENERATOR_VERSION = 1;

export const DATA_DIR = path.join(import.meta.dirname, "data");

/** The generated files of one size. */
export interface BenchData {
  rows: number;
  csvPath: string;
  parquetPath: string;
  csvBytes: number;
  parquetBytes: number;
  /** An Int64 column and a threshold that keeps about half of the rows (for filter benchmarks). */
  filterColumn: string;
  filterValue: number;
  sortColumn: string;
}

import { prng } from "../scripts/prng.ts";

export { prng };

const CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"];
const CITIES = ["Paris", "Oslo", "Lima", "Austin", "Kyoto", "Porto", "Washington, D.C.", "Cairo", "Perth", "St. Louis, MO"];
const WORDS = ["data", "quick", "brown", "fox", "lazy", "dog", "value", "sample", "order", "ship", "late", "\"quoted\"", "ok", "review", "note", "item", "x", "stock", "return", "refund"];
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEADER = "id,qty,price,score,code,comment,category,active,created_at,city";
// 2020-01-01T00:00:00Z and a span of four years, in seconds.
const T0 = Date.UTC(2020, 0, 1) / 1000;
const SPAN = 4 * 365 * 86400;

/** CSV-quotes a field when it holds a comma, quote or newline (RFC 4180). */
function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function isoSeconds(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** One CSV line (without newline) for row `i`, drawing from `r`. */
function row(i: number, r: () => number): string {
  const qty = Math.floor(r() * 10_000);
  const price = r() < 0.05 ? "" : (r() * 1000).toFixed(2);
  const score = ((r() - 0.5) * 200).toFixed(3);
  let code = "";
  for (let k = 0; k < 6; k++) code += ALNUM[Math.floor(r() * 36)];
  // Mostly short comments, one in ten long: long strings with commas and quotes, at ~190 MB for 2M rows.
  const words = r() < 0.1 ? 10 + Math.floor(r() * 12) : 1 + Math.floor(r() * 3);
  let comment = "";
  for (let k = 0; k < words; k++) {
    comment += (k === 0 ? "" : r() < 0.15 ? ", " : " ") + WORDS[Math.floor(r() * WORDS.length)];
  }
  const category = CATEGORIES[Math.floor(r() * CATEGORIES.length)];
  const active = r() < 0.5 ? "true" : "false";
  const created = isoSeconds(T0 + Math.floor(r() * SPAN));
  const city = CITIES[Math.floor(r() * CITIES.length)] ?? "";
  return `${i + 1},${qty},${price},${score},${code},${csvField(comment)},${category},${active},${created},${csvField(city)}`;
}

/** Streams `rows` rows of CSV to `file`, honouring back-pressure. */
export async function writeCsv(file: string, rows: number, seed = 42): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const r = prng(seed);
  out.write(`${HEADER}\n`);
  const batch = 10_000;
  for (let start = 0; start < rows; start += batch) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + batch); i++) lines.push(row(i, r));
    if (!out.write(`${lines.join("\n")}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/** The schema the CSV is read with when converting to Parquet (no inference guesses). */
function csvSchema(): Record<string, pl.DataType> {
  return {
    id: pl.Int64, qty: pl.Int64, price: pl.Float64, score: pl.Float64, code: pl.Utf8,
    comment: pl.Utf8, category: pl.Utf8, active: pl.Bool, created_at: pl.Utf8, city: pl.Utf8,
  };
}

/** Converts the CSV to Parquet with Polars' streaming sink; `created_at` becomes Datetime(us). */
export async function writeParquet(csvFile: string, file: string): Promise<void> {
  const lf = pl
    .scanCSV(csvFile, { schema: csvSchema(), hasHeader: true })
    // nodejs-polars' strptime only accepts Datetime("ms") as the marker; the cast pins the unit.
    .withColumns(pl.col("created_at").str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S").cast(pl.Datetime("us")));
  await lf.sinkParquet(file, { compression: "snappy" }).collect();
}

/** Returns the cached files for `rows`, generating whatever is missing. */
export async function ensureData(rows: number, log: (msg: string) => void = () => {}): Promise<BenchData> {
  mkdirSync(DATA_DIR, { recursive: true });
  const base = path.join(DATA_DIR, `bench-v${GENERATOR_VERSION}-${rows}`);
  const csvPath = `${base}.csv`;
  const parquetPath = `${base}.parquet`;
  if (!existsSync(csvPath)) {
    const t = performance.now();
    const tmp = `${csvPath}.tmp-${process.pid}`;
    try {
      await writeCsv(tmp, rows);
      renameSync(tmp, csvPath);
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`generated ${csvPath} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  if (!existsSync(parquetPath)) {
    const t = performance.now();
    // Polars picks the format from the extension, so the temporary name keeps `.parquet`.
    const tmp = `${base}.tmp-${process.pid}.parquet`;
    try {
      await writeParquet(csvPath, tmp);
      renameSync(tmp, parquetPath);
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`generated ${parquetPath} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return {
    rows,
    csvPath,
    parquetPath,
    csvBytes: statSync(csvPath).size,
    parquetBytes: statSync(parquetPath).size,
    filterColumn: "qty",
    filterValue: 5_000,
    sortColumn: "score",
  };
}

// `node bench/generate.ts [rows]` generates (or finds) the files and prints their sizes.
if (import.meta.main) {
  const rows = Number(process.argv[2] ?? 2_000_000);
  const data = await ensureData(rows, console.log);
  console.log(JSON.stringify(data, null, 2));
}
