/**
 * Whole-version downloads (with the same columns/sort/filter as pages), written by Polars' lazy
 * sinks to a temporary file on its thread pool: the event loop never waits, and memory stays
 * flat for scanned (Parquet-backed) versions because the sinks stream batch by batch. The route
 * streams the file to the client and then calls `cleanup()`.
 *
 * Formats:
 * - `parquet`: the version's exact dtypes and values (Categorical, Decimal, zoned Datetime, …).
 * - `csv`: header row, `,`, every non-numeric field `"`-quoted, null = empty field, empty string = `""`.
 *   Dates `YYYY-MM-DD`; naive datetimes exactly as in pages (`2024-01-02T03:04:05[.fff…]`) so a
 *   re-upload infers the same Datetime column; zoned datetimes in their zone with a `±HH:MM`
 *   offset (UTC as `+00:00`; pages write `Z`); times and durations as in pages (`01:02:03.5`,
 *   `PT1.5S`); decimals with every scale digit; floats in shortest round-trip form (NaN/±inf as
 *   `NaN`/`inf`/`-inf`, `-0.0` kept); List/Struct cells as their JSON text; Binary as base64.
 * - `ndjson` (one object per line) and `json` (one array): Polars' JSON writer, which keeps
 *   memory flat but has its own conventions: integers as exact JSON numbers even beyond 2^53,
 *   naive datetimes as `YYYY-MM-DD HH:MM:SS[.fff]` (space, not `T`), zoned ones with `±HH:MM`,
 *   NaN/±Infinity as null; durations (ISO 8601, as pages) and binary (base64) are converted first.
 * - `arrow`: an Arrow IPC *file* (Feather v2). Polars streams only the file variant to disk;
 *   `pyarrow.ipc.open_file`, `pl.readIPC`, DuckDB and Arrow JS read it.
 *
 * Memory stays flat (streaming sinks) except: a sort (Polars must see every row), column names
 * that are patterns (`*`, `^…$`, see plan.ts), nested columns in CSV, and CSVs mixing naive and
 * zoned datetime columns — those plans carry expressions that nodejs-polars 0.26 does not stream.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import type { Version } from "../types.ts";
import { datetimeParts } from "./dtype.ts";
import { base64TextN, datetimeFormat, durationTextN, jsonValueN, TEMPORAL_FORMATS, TIME_FORMAT } from "./json.ts";
import { col, lit, NExpr, selectNative, when } from "./native-expr.ts";
import { filtered, projection, schemaOf, sorted } from "./plan.ts";
import type { Filter, SortKey } from "./query.ts";

export const DOWNLOAD_FORMATS = ["csv", "parquet", "ndjson", "json", "arrow"] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export interface DownloadQuery {
  format: DownloadFormat;
  columns?: string[];
  sort?: SortKey[];
  filters?: Filter[];
  /** Write the file exactly here (a path the spool handed out; `${into}.part` is used as a temporary). Default: a new folder in os.tmpdir(). */
  into?: string;
}

export interface DownloadFile {
  /** The finished file; stream it, then call `cleanup`. */
  path: string;
  contentType: string;
  /** File name extension without the dot (`csv`, `parquet`, `ndjson`, `json`, `arrow`). */
  extension: string;
  /** Removes the temporary file and its folder. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** What each download is sent as (the OpenAPI document declares the same, from here). */
export const CONTENT_TYPES: Record<DownloadFormat, string> = {
  csv: "text/csv; charset=utf-8",
  parquet: "application/vnd.apache.parquet",
  ndjson: "application/x-ndjson",
  json: "application/json",
  arrow: "application/vnd.apache.arrow.file",
};

/** Parses the `format` query parameter; 400 for anything else. */
export function parseDownloadFormat(raw: string): DownloadFormat {
  if ((DOWNLOAD_FORMATS as readonly string[]).includes(raw)) return raw as DownloadFormat;
  throw badRequest(`Unknown download format "${raw}"; use one of ${DOWNLOAD_FORMATS.join(", ")}.`, { parameter: "format" });
}

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

const NESTED = new Set(["List", "FixedSizeList", "Struct"]);

/**
 * The CSV writer's datetime format for these columns, or null when they need per-column
 * formatting (naive and zoned columns together). The writer formats zoned values in their zone.
 */
function csvDatetimeFormat(dtypes: pl.DataType[]): string | null {
  const zones = dtypes.filter((dt) => variantOf(dt) === "Datetime").map((dt) => datetimeParts(dt).timeZone);
  if (zones.every((z) => z === null)) return TEMPORAL_FORMATS.datetime;
  if (zones.every((z) => z !== null)) return TEMPORAL_FORMATS.datetimeZoned;
  return null;
}

/**
 * Column `ref` as it goes into the file, named `name`. Only what the writers cannot do is done
 * with expressions (per-column datetime formats, nested values in CSV), and aliases only when a
 * name differs: nodejs-polars 0.26 sinks stop streaming once a plan transforms, renames or
 * aliases a column (memory then grows with the data), so the usual plan has none of them.
 */
function outputColumn(ref: string, name: string, dt: pl.DataType, format: DownloadFormat, formatDatetimes: boolean): NExpr {
  const v = variantOf(dt);
  // native expressions (native-expr.ts): a wide frame would otherwise make JS wrappers per column
  const c = col(ref);
  let out = c;
  const text = format === "csv" || format === "ndjson" || format === "json";
  if (format === "csv" && NESTED.has(v)) {
    // the CSV writer has no nested types: their JSON text (a null stays an empty field)
    out = when(c.isNull(), lit(null).cast(pl.Utf8), jsonValueN(c, dt)).alias(ref);
  } else if (text && v === "Duration") {
    // the CSV writer refuses durations; JSON gets the same ISO 8601 text as pages (`PT0S`, not `P0D`)
    out = durationTextN(c, dt).alias(ref);
  } else if (text && v === "Binary") {
    // Polars' JSON writer aborts the process on binary values: base64 text, as in pages
    out = base64TextN(c).alias(ref);
  } else if (format === "csv" && formatDatetimes && v === "Datetime") {
    out = c.strftime(datetimeFormat(dt));
  }
  return ref === name ? out : out.alias(name);
}

/** Rewrites NDJSON lines as one JSON array, streaming. */
function ndjsonToArray(): Transform {
  let first = true;
  let rest = "";
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const text = rest + chunk.toString("utf8");
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      let out = "";
      for (const line of lines) {
        if (line === "") continue;
        out += (first ? "[" : ",\n") + line;
        first = false;
      }
      done(null, out);
    },
    flush(done) {
      const tail = rest.trim() === "" ? "" : (first ? "[" : ",\n") + rest;
      done(null, `${first && tail === "" ? "[" : ""}${tail}]\n`);
    },
  });
}

/**
 * Writes the (filtered, sorted, projected) version to a temporary file in `q.format`.
 * Throws 400 for unknown columns; the caller owns the returned file until `cleanup()`.
 */
export async function writeDownload(lf: pl.LazyDataFrame, version: Version, q: DownloadQuery, options: { dir?: string } = {}): Promise<DownloadFile> {
  const schema = await schemaOf(lf, version);
  const names = projection(schema, q.columns);
  const indexes = names.map((n) => schema.indexOf.get(n) as number);
  const dtypes = indexes.map((i) => schema.dtypes[i] as pl.DataType);
  const writerDatetimes = csvDatetimeFormat(dtypes);
  const select = indexes.map((i, k) => outputColumn(schema.refs[i] as string, names[k] as string, dtypes[k] as pl.DataType, q.format, writerDatetimes === null));
  const plan = selectNative(sorted(filtered(lf, schema, q.filters), schema, q.sort), select);

  // `q.into`: the exact path to write (a spool file its caller releases); without it, a fresh
  // folder under `options.dir` (a folder the caller owns and cleans) or the OS temp folder.
  const dir = q.into === undefined ? await mkdtemp(join(options.dir ?? tmpdir(), "dataset-download-")) : null;
  const path = q.into ?? join(dir as string, `data.${q.format}`);
  const cleanup = async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    else await Promise.all([rm(path, { force: true }), rm(`${path}.part`, { force: true })]);
  };
  try {
    switch (q.format) {
      case "csv":
        await plan
          .sinkCSV(path, {
            includeHeader: true,
            // quote every non-number: an empty string is then `""`, unlike a null (empty field)
            quoteStyle: "non_numeric",
            nullValue: "",
            dateFormat: TEMPORAL_FORMATS.date,
            datetimeFormat: writerDatetimes ?? TEMPORAL_FORMATS.datetime,
            timeFormat: TIME_FORMAT,
            maintainOrder: true,
          })
          .collect();
        break;
      case "parquet":
        await plan.sinkParquet(path, { compression: "zstd", maintainOrder: true }).collect();
        break;
      case "ndjson":
        await plan.sinkNdJson(path, { maintainOrder: true }).collect();
        break;
      case "json": {
        const lines = `${path}.part`;
        await plan.sinkNdJson(lines, { maintainOrder: true }).collect();
        await pipeline(createReadStream(lines), ndjsonToArray(), createWriteStream(path));
        await rm(lines, { force: true });
        break;
      }
      case "arrow":
        await plan.sinkIpc(path, { compression: "uncompressed", maintainOrder: true }).collect();
        break;
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { path, contentType: CONTENT_TYPES[q.format], extension: q.format, cleanup };
}
