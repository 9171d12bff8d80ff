/**
 * A version's data file: the Parquet file the parser child writes once, which storage then moves
 * into place (local), uploads as is (postgres) or reads into its frame and keeps for the query
 * workers (memory). Everything storage needs to know about it comes with it, computed where the
 * frame is (the child), so the API process never describes a frame or hashes a file itself.
 */
import type pl from "nodejs-polars";
import { _Series } from "nodejs-polars/bin/series/index.js";
import { dtypeName, seriesDtypeName } from "../frame/dtype.ts";
import { estimatedBytes, frameHeight, nativeSeries, writeParquetFile, type NativeSeries } from "../frame/safe.ts";
import type { ColumnInfo } from "../types.ts";
import { cpuSince, type Stages } from "../timing.ts";
import { checksumFile, type Checksum } from "./checksum.ts";

/** Facts about a written data file (what `NewVersion` carries besides the path and the source). */
export interface DataFileFacts {
  columns: ColumnInfo[];
  rowCount: number;
  /** Polars' estimate of the frame's size in memory (budgets and caching decide on it). */
  frameBytes: number;
  checksum: Checksum;
}

/** Writes `frame` to `file` as zstd Parquet (off the event loop) and returns its facts (timed as "write" and "checksum"). */
export async function writeDataFile(frame: pl.DataFrame, file: string, stages?: Stages): Promise<DataFileFacts> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  await writeParquetFile(frame, file);
  const written = performance.now();
  const writtenCpu = process.cpuUsage();
  stages?.add("write", written - t, cpuSince(cpu));
  const checksum = await checksumFile(file);
  stages?.add("checksum", performance.now() - written, cpuSince(writtenCpu));
  return { columns: columnsOf(frame), rowCount: frameHeight(frame), frameBytes: estimatedBytes(frame), checksum };
}

/** Dtypes whose native description names them fully (no unit hidden, no nested types). */
const FLAT = new Set(["Bool", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64", "Utf8", "String", "Date", "Datetime", "Time", "Decimal", "Categorical", "Null", "Binary"]);

/**
 * What `describeColumns` (frame/dtype.ts) says, from the native series: nodejs-polars' JS Series
 * wrapper costs about a millisecond per column, seconds for a wide file. Only columns whose
 * native dtype hides something (a Duration's unit, nested types) are wrapped.
 */
export function columnsOf(frame: pl.DataFrame): ColumnInfo[] {
  return (nativeSeries(frame) as (NativeSeries & { nullCount(): number })[]).map((s) => {
    const variant = typeof s.dtype === "string" ? s.dtype : s.dtype.variant;
    const dtype = FLAT.has(variant) ? dtypeName((typeof s.dtype === "string" ? { variant, inner: null } : s.dtype) as unknown as pl.DataType) : seriesDtypeName(_Series(s));
    return { name: s.name, dtype, nullable: s.nullCount() > 0 };
  });
}
