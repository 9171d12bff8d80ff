/**
 * The Parquet columns nodejs-polars cannot hand over faithfully, read in JavaScript with hyparquet
 * (a pure-JS reader, run inside the parser child like everything in ingest):
 * - binary values that are not UTF-8 text → base64 text (standard alphabet, padded);
 * - UUID → canonical lower-case text;
 * - Float16 → numbers (polars reads some Float16 columns only as raw bytes);
 * - Spark INT96 timestamps, which polars clamps to 2262-04-11 when they lie outside the
 *   nanosecond range → decoded exactly here from their 12 bytes (Julian day + nanoseconds of the
 *   day), as microseconds since the epoch.
 * Values come back in file order, one per row.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";

type Mode = "base64" | "uuid" | "int96" | "float16";

/** Days from the Julian day number origin to 1970-01-01. */
const JULIAN_EPOCH_DAY = 2440588n;
const NS_PER_DAY = 86_400_000_000_000n;

/** An INT96 timestamp's 12 bytes: nanoseconds of the day (int64 LE), then the Julian day (int32 LE). */
export interface Int96 {
  /** Microseconds since 1970-01-01T00:00:00, or null when the bytes are not a valid timestamp. */
  micros: bigint | null;
  /** Nanoseconds below the microsecond (lost in a microsecond column). */
  subMicro: number;
}

export function decodeInt96(bytes: Uint8Array): Int96 {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nanos = view.getBigInt64(0, true);
  const day = BigInt(view.getInt32(8, true));
  // A time of day outside 0–24 h is what an overflowing writer leaves (Spark past year 292278).
  if (nanos < 0n || nanos >= NS_PER_DAY) return { micros: null, subMicro: 0 };
  return { micros: (day - JULIAN_EPOCH_DAY) * 86_400_000_000n + nanos / 1000n, subMicro: Number(nanos % 1000n) };
}

/**
 * Reads one top-level column. INT96 columns are read as raw 12-byte values (their physical type
 * relabelled FIXED_LEN_BYTE_ARRAY(12) in the metadata handed to the reader, which keeps the
 * page layout) and decoded by `decodeInt96`.
 */
export async function readColumnJs(filePath: string, name: string, mode: "int96"): Promise<(Int96 | null)[]>;
export async function readColumnJs(filePath: string, name: string, mode: "base64" | "uuid"): Promise<(string | null)[]>;
export async function readColumnJs(filePath: string, name: string, mode: "float16"): Promise<(number | null)[]>;
export async function readColumnJs(filePath: string, name: string, mode: Mode): Promise<(string | number | Int96 | null)[]> {
  const file = await asyncBufferFromFile(filePath);
  const metadata = await parquetMetadataAsync(file);
  if (mode === "int96") {
    for (const element of metadata.schema) {
      if (element.name === name && element.type === "INT96") {
        element.type = "FIXED_LEN_BYTE_ARRAY";
        element.type_length = 12;
      }
    }
    for (const rg of metadata.row_groups) {
      for (const chunk of rg.columns) {
        const meta = chunk.meta_data;
        if (meta && meta.path_in_schema.length === 1 && meta.path_in_schema[0] === name && meta.type === "INT96") meta.type = "FIXED_LEN_BYTE_ARRAY";
      }
    }
  }
  let rows: unknown[][] = [];
  await parquetRead({ file, metadata, columns: [name], compressors, utf8: false, rowFormat: "array", onComplete: (r: unknown[][]) => (rows = r) });
  return rows.map((r) => {
    const v = r[0];
    if (v === null || v === undefined) return null;
    if (mode === "uuid") return String(v);
    if (mode === "float16") return Number(v);
    const bytes = v instanceof Uint8Array ? v : new Uint8Array(0);
    return mode === "int96" ? decodeInt96(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  });
}

/**
 * A second, independent decoding of nested columns: hyparquet checks repetition and definition
 * levels strictly, where polars reads some malformed level streams (parquet-testing's bad_data
 * files) leniently into plausible-looking lists. Throws when the columns cannot be decoded.
 */
export async function checkNestedJs(filePath: string, columns: string[], rows: number): Promise<void> {
  const file = await asyncBufferFromFile(filePath);
  let count = -1;
  await parquetRead({ file, columns, compressors, utf8: false, rowFormat: "array", onComplete: (r: unknown[][]) => (count = r.length) });
  if (count !== rows) throw new Error(`decoded ${count} rows of ${rows}`);
}
