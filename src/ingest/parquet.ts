/**
 * Parquet ingest with nodejs-polars (`scanParquet` + `collect`, off the event loop), after the
 * footer checks of parquet-footer.ts. Types are kept as written — including List, Struct, Map
 * (as Polars reads it: `List(Struct({key, value}))`), Decimal, Time and Duration — except where
 * the service hands the frame layer a servable form (each noted on the version):
 * - unannotated binary / fixed-size binary → String: the UTF-8 text when every value is valid
 *   UTF-8 (Impala and others store text that way), else base64 (read by parquet-js.ts);
 * - UUID → String, canonical text; JSON → String, the JSON text as written;
 * - Float16 → Float32 (exact widening; nodejs-polars cannot serve Float16);
 * - Categorical/Enum → String;
 * - Spark INT96 timestamps → Datetime(ns) as polars reads them, or Datetime(us) decoded from their
 *   bytes when a value lies outside the nanosecond range (polars would clamp it to 2262-04-11).
 * Columns of a type the service cannot serve are a 422 naming them and their type.
 */
import pl from "nodejs-polars";
import { ApiError, tooLarge, unparseable } from "../errors.ts";
import { dtypeName } from "../frame/dtype.ts";
import { frameHeight, frameSeries, lazyOf } from "../frame/safe.ts";
import type { SourceInfo } from "../types.ts";
import { placeholderNames } from "./names.ts";
import { quotedList } from "./notes.ts";
import { checkParquetFooter, type SpecialKind } from "./parquet-footer.ts";
import { checkNestedJs, readColumnJs } from "./parquet-js.ts";
import { DEFAULT_MEMORY_BYTES, type IngestLimits, type Parsed } from "./types.ts";

/** Polars dtype variants the rest of the service handles (nested ones checked element-wise). */
export const SUPPORTED_PARQUET_VARIANTS: ReadonlySet<string> = new Set([
  "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
  "Float32", "Float64", "Bool", "Utf8", "String", "Date", "Datetime", "Time", "Duration", "Decimal",
  "List", "FixedSizeList", "Struct",
]);

const TO_STRING = new Set(["Categorical", "Enum"]);

interface DtypeParts {
  variant: string;
  inner: unknown;
}

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as DtypeParts).variant;
}

/**
 * Null-typed columns (all null, Arrow's null type) and lists of them (only empty lists and nulls)
 * hold no values: String (or List(String)) serves them without changing any, so they are cast.
 */
function nullTypeCast(dt: pl.DataType): pl.DataType | null {
  const { variant, inner } = dt as unknown as DtypeParts;
  if (variant === "Null") return pl.String;
  if (variant === "List") {
    const el = (inner as unknown[] | null)?.[0] as pl.DataType | undefined;
    const cast = el ? nullTypeCast(el) : null;
    return cast ? pl.List(cast) : null;
  }
  return null;
}

/** The first element type of a nested dtype the service cannot serve, or null. */
function unservable(dt: pl.DataType): pl.DataType | null {
  const { variant, inner } = dt as unknown as DtypeParts;
  if (!SUPPORTED_PARQUET_VARIANTS.has(variant) && !TO_STRING.has(variant)) return dt;
  if (variant === "List" || variant === "FixedSizeList") {
    const el = (inner as unknown[] | null)?.[0] as pl.DataType | undefined;
    return el ? unservable(el) : null;
  }
  if (variant === "Struct") {
    for (const f of (inner as { dtype: pl.DataType }[] | null) ?? []) {
      const bad = unservable(f.dtype);
      if (bad) return bad;
    }
  }
  return null;
}

/**
 * The reader's own failure, in our words (its messages name its internals); the known cases
 * get their cause and the way out.
 */
export function parquetFailure(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const encoding = /Decoding (\w+(?:\(\d+\))?) "(\w+)"-encoded/.exec(message);
  if (encoding) {
    return unparseable(`The Parquet file stores ${encoding[1]} values with the ${encoding[2]} encoding, which this service's Parquet reader cannot decode yet. Rewrite the file with PLAIN or dictionary encoding (the defaults of pyarrow, DuckDB and Spark).`);
  }
  if (/underlying IO error|failed to fill whole buffer|unexpected end/i.test(message)) {
    return unparseable("The Parquet file could not be read: a data page ends early (the file is damaged, or its pages are compressed as several concatenated gzip members, which this service's reader does not support). Rewrite it with snappy or zstd compression.");
  }
  const spec = /File out of specification: ([^\n]{1,120})/.exec(message);
  if (spec) return unparseable(`The Parquet file's metadata does not follow the Parquet specification (${spec[1]!.trim()}). Rewrite it with an up-to-date writer such as pyarrow or DuckDB.`);
  if (/gzip|deflate|snappy|zstd|lz4|brotli|decompress/i.test(message)) {
    return unparseable("The Parquet file's compressed data could not be decompressed (damaged, or compressed in a way this service's reader does not support). Rewrite the file with snappy or zstd compression.");
  }
  return unparseable("The Parquet file could not be read: it is damaged or uses a feature this service's Parquet reader does not support. Rewrite it with pyarrow, DuckDB or Spark.");
}

/** Nested columns up to this many uncompressed bytes are decoded a second time, strictly (parquet-js.ts). */
const NESTED_CHECK_BYTES = 32 * 1024 * 1024;

const I64_MAX = "9223372036854775807";
const I64_MIN = "-9223372036854775808";

/**
 * Parses a Parquet file.
 * @throws ApiError 413 (limits), 422 (unreadable file or unsupported column types).
 */
export async function parseParquet(filePath: string, sizeBytes: number, limits: IngestLimits): Promise<Parsed> {
  const facts = await checkParquetFooter(filePath, sizeBytes, { ...limits, memoryBytes: limits.memoryBytes ?? DEFAULT_MEMORY_BYTES });
  const notes: string[] = [];
  let realNames: string[];
  try {
    // An empty slice reads only the footer. Names stay an array in file order (an object keyed
    // by them would put integer-like names such as `2019` first).
    realNames = frameSeries(await pl.scanParquet(filePath, { glob: false, hivePartitioning: false }).head(0).collect()).map((s) => s.name);
  } catch (err) {
    throw parquetFailure(err);
  }
  if (realNames.length > limits.maxColumns) throw tooLarge(`The file has ${realNames.length} columns; the limit of this service is ${limits.maxColumns}.`);
  if (realNames.length === 0) throw unparseable("The Parquet file has no columns.");
  // Polars works on positional placeholders (a name such as `*` or `^a$` would be a pattern in
  // pl.col); the finished frame is renamed back, literally.
  const cols = placeholderNames(realNames.length, realNames);
  const toCols: Record<string, string> = Object.create(null) as Record<string, string>;
  const toReal: Record<string, string> = Object.create(null) as Record<string, string>;
  realNames.forEach((n, i) => {
    toCols[n] = cols[i]!;
    toReal[cols[i]!] = n;
  });
  const colOf = (name: string) => cols[realNames.indexOf(name)]!;
  const base = () => pl.scanParquet(filePath, { glob: false, hivePartitioning: false }).rename(toCols);

  // Binary columns that are valid UTF-8 become text; the others are read as bytes (base64) in JS.
  const asText = new Set<string>();
  const viaJs = new Map<string, "base64" | "uuid" | "float16">();
  for (const { name, kind } of facts.special) {
    if (kind === "uuid" || kind === "float16") viaJs.set(name, kind);
    if (kind === "binary") {
      try {
        await base().select(pl.col(colOf(name)).cast(pl.String)).collect();
        asText.add(name);
      } catch {
        viaJs.set(name, "base64");
      }
    }
  }

  let lf: pl.LazyDataFrame;
  const nullTyped: string[] = [];
  let dtypes: pl.DataType[];
  try {
    lf = base();
    // nodejs-polars cannot even describe Binary and Float16 columns to JavaScript: cast (or, for
    // the ones read in JS, stand in for) them first.
    const casts = facts.special.flatMap(({ name, kind }) => {
      const c = colOf(name);
      if (viaJs.has(name)) return [pl.lit(null).cast(kind === "float16" ? pl.Float32 : pl.String).alias(c)];
      if (kind === "binary" || kind === "json") return [pl.col(c).cast(pl.String)];
      return [];
    });
    if (casts.length > 0) lf = lf.withColumns(...casts);
    let empty = frameSeries(await lf.head(0).collect());
    const nullCasts = empty.flatMap((s) => {
      const to = nullTypeCast(s.dtype);
      return to ? [pl.col(s.name).cast(to)] : [];
    });
    if (nullCasts.length > 0) {
      nullTyped.push(...empty.filter((s) => nullTypeCast(s.dtype) !== null).map((s) => toReal[s.name]!));
      lf = lf.withColumns(...nullCasts);
      empty = frameSeries(await lf.head(0).collect());
    }
    dtypes = empty.map((s) => s.dtype);
  } catch (err) {
    throw parquetFailure(err);
  }
  const bad = realNames.map((n, i) => [n, dtypes[i]!, unservable(dtypes[i]!)] as const).filter(([, , b]) => b !== null);
  if (bad.length > 0) {
    const list = bad.slice(0, 5).map(([n, dt, b]) => `${JSON.stringify(n)} (${dtypeName(dt)}${b !== dt ? `, holding ${dtypeName(b!)}` : ""})`).join(", ");
    throw unparseable(`The Parquet file has column(s) of a type this service does not support: ${list}${bad.length > 5 ? ", …" : ""}.`, { columns: bad.map(([n]) => n) });
  }
  let rows: number;
  try {
    // Answered from the footer metadata, before any data page is read.
    const counted = (await lf.select(pl.len().alias("n")).collect()).toRecords()[0] as { n: number | bigint };
    rows = Number(counted.n);
  } catch (err) {
    throw parquetFailure(err);
  }
  if (rows > limits.maxRows) throw tooLarge(`The file has ${rows} rows; the limit of this service is ${limits.maxRows}.`);

  let frame: pl.DataFrame;
  try {
    frame = await lf.select(cols.map((c, i) => (TO_STRING.has(variantOf(dtypes[i]!)) ? pl.col(c).cast(pl.String) : pl.col(c)))).collect();
  } catch (err) {
    throw parquetFailure(err);
  }
  if (frameHeight(frame) !== facts.numRows) {
    throw unparseable(`The Parquet file declares ${facts.numRows} rows but ${frameHeight(frame)} were read.`);
  }

  await checkNoValueLost(frame, facts.storedNulls, realNames, cols, new Set(facts.special.map((c) => c.name)));

  // Columns polars could not hand over as they are (keyed by placeholder).
  const replaced = new Map<string, pl.Series>();
  for (const [name, mode] of viaJs) {
    const c = colOf(name);
    if (mode === "float16") {
      const values = await readJs(filePath, name, mode, facts.numRows);
      replaced.set(c, pl.Series(c, values, pl.Float64).cast(pl.Float32));
    } else {
      replaced.set(c, pl.Series(c, await readJs(filePath, name, mode, facts.numRows), pl.String));
    }
  }
  if (facts.nestedColumns.length > 0 && facts.nestedBytes <= NESTED_CHECK_BYTES) {
    try {
      await checkNestedJs(filePath, facts.nestedColumns, facts.numRows);
    } catch {
      throw unparseable(`The Parquet file's nested column(s) ${quotedList(facts.nestedColumns)} are malformed (their repetition or definition levels do not add up); the file is damaged. Rewrite it with pyarrow, DuckDB or Spark.`, { columns: facts.nestedColumns });
    }
  }
  for (const { name, kind } of facts.special) {
    if (kind !== "int96") continue;
    const int96 = await int96Column(filePath, frame, name, colOf(name), facts.numRows);
    if (int96.series) replaced.set(colOf(name), int96.series);
    notes.push(...int96.notes);
  }
  const series = frameSeries(frame).map((s) => replaced.get(s.name) ?? s);
  // The only place the real names meet Polars: a rename takes them literally.
  frame = await lazyOf(pl.DataFrame(series)).rename(toReal).collect();

  const byKind = (kind: SpecialKind) => facts.special.filter((c) => c.kind === kind).map((c) => c.name);
  const text = [...asText];
  const base64 = [...viaJs].filter(([, m]) => m === "base64").map(([n]) => n);
  if (text.length > 0) notes.push(`Binary column(s) without a text annotation ${quotedList(text)} hold UTF-8 text and were read as String.`);
  if (base64.length > 0) notes.push(`Binary column(s) ${quotedList(base64)} were read as String holding each value's bytes in base64.`);
  if (byKind("uuid").length > 0) notes.push(`UUID column(s) ${quotedList(byKind("uuid"))} were read as String in canonical form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).`);
  if (byKind("json").length > 0) notes.push(`JSON column(s) ${quotedList(byKind("json"))} were read as String holding the JSON text as written.`);
  if (facts.float16Columns.length > 0) notes.push(`Float16 column(s) ${quotedList(facts.float16Columns)} were read as Float32 (every value exact).`);
  if (nullTyped.length > 0) notes.push(`Column(s) ${quotedList(nullTyped)} of the Null type (no values, or lists of none) were read as String (List(String) for lists).`);
  const converted = realNames.filter((_, i) => TO_STRING.has(variantOf(dtypes[i]!)));
  if (converted.length > 0) notes.push(`Categorical column(s) ${quotedList(converted)} were read as String.`);
  // Polars has no Map type: a MAP is read (and written back) as a list of key/value structs (QA finding Q6)
  if (facts.mapColumns.length > 0) {
    notes.push(
      `Column(s) ${quotedList(facts.mapColumns)} hold a Parquet MAP, kept as List(Struct({"key", "value"})) with every entry in order: pages show arrays of {"key", "value"}, and Parquet and Arrow downloads write lists of key/value structs, not the MAP type.`,
    );
  }
  const source: Partial<SourceInfo> = { sheet: null, notes };
  return { frame, source };
}

/**
 * A column that holds more nulls after reading than its writer counted lost stored values to the
 * reader: Polars reads a TIME of 24:00:00 (which DuckDB and others write) as null, silently.
 * That is a 422 naming the column, as other values outside what the service can serve are
 * (renderable.ts). Columns read in JS (`special`) are checked by their own readers.
 */
async function checkNoValueLost(frame: pl.DataFrame, storedNulls: Map<string, number>, realNames: string[], cols: string[], special: Set<string>): Promise<void> {
  const checked = realNames.flatMap((name, i) => (storedNulls.has(name) && !special.has(name) ? [i] : []));
  if (checked.length === 0) return;
  const counts = (await lazyOf(frame).select(checked.map((i) => pl.col(cols[i]!).nullCount().cast(pl.Float64).alias(cols[i]!))).collect()).toRecords()[0] as Record<string, number>;
  for (const i of checked) {
    const name = realNames[i]!;
    const lost = Number(counts[cols[i]!]) - storedNulls.get(name)!;
    if (lost <= 0) continue;
    const timeHint = variantOf(frame.getColumn(cols[i]!).dtype) === "Time" ? " (a time of day of 24:00:00 or more: times of day must lie within 00:00:00–23:59:59.999999999)" : "";
    throw unparseable(
      `Column ${JSON.stringify(name)} holds ${lost} value${lost === 1 ? "" : "s"} that this service reads as missing although the file stores ${lost === 1 ? "one" : "them"}${timeHint}; a value outside what its type holds here. Nothing was stored. Rewrite the column with values in range, or as text.`,
      { column: name },
    );
  }
}

async function readJs<M extends "base64" | "uuid" | "float16">(filePath: string, name: string, mode: M, rows: number): Promise<(M extends "float16" ? number : string)[]> {
  let values: (string | number | null)[];
  try {
    values = await (readColumnJs as (f: string, n: string, m: string) => Promise<(string | number | null)[]>)(filePath, name, mode);
  } catch {
    throw unparseable(`Column ${JSON.stringify(name)} (${mode === "uuid" ? "UUID" : mode === "float16" ? "FLOAT16" : "binary"}) could not be read. Rewrite the file with pyarrow or DuckDB.`, { column: name });
  }
  if (values.length !== rows) throw unparseable(`Column ${JSON.stringify(name)} holds ${values.length} values for ${rows} rows; the file is damaged.`, { column: name });
  return values as (M extends "float16" ? number : string)[];
}

/**
 * INT96 timestamps as polars reads them (nanoseconds, clamped at the ends of that range), or, when
 * some value is clamped, decoded from the bytes at microsecond precision (Spark's own precision):
 * a value with nanoseconds would then lose them, so such a file is a 422 naming the column.
 */
async function int96Column(filePath: string, frame: pl.DataFrame, name: string, col: string, rows: number): Promise<{ series: pl.Series | null; notes: string[] }> {
  const ns = pl.col(col).cast(pl.Int64);
  const clampedCount = (await lazyOf(frame).select(ns.eq(pl.lit(I64_MAX).cast(pl.Int64)).or(ns.eq(pl.lit(I64_MIN).cast(pl.Int64))).fillNull(false).sum().alias("n")).collect()).toRecords()[0] as { n: number };
  if (Number(clampedCount.n) === 0) return { series: null, notes: [] };
  let decoded;
  try {
    decoded = await readColumnJs(filePath, name, "int96");
  } catch {
    throw unparseable(`Column ${JSON.stringify(name)} holds INT96 timestamps beyond the years 1677–2262 that could not be read exactly. Rewrite the file with TIMESTAMP(MICROS) columns.`, { column: name });
  }
  if (decoded.length !== rows) throw unparseable(`Column ${JSON.stringify(name)} holds ${decoded.length} values for ${rows} rows; the file is damaged.`, { column: name });
  if (decoded.some((v) => v !== null && v.micros !== null && v.subMicro !== 0)) {
    throw unparseable(`Column ${JSON.stringify(name)} holds INT96 timestamps both beyond the years 1677–2262 and with nanoseconds, which no single precision keeps. Rewrite the file with TIMESTAMP(MICROS) (or NANOS within 1677–2262).`, { column: name });
  }
  const invalid = decoded.filter((v) => v !== null && v.micros === null).length;
  // Through text: a Series built from BigInt values would not keep them.
  const series = pl.Series(col, decoded.map((v) => (v?.micros === null || v?.micros === undefined ? null : String(v.micros))), pl.String).cast(pl.Int64).cast(pl.Datetime("us"));
  const notes = [`Column ${JSON.stringify(name)}: INT96 timestamps reach beyond the years 1677–2262 (a "valid until 9999-12-31" sentinel, say); the column was read as Datetime(us), microsecond precision as Spark writes them.`];
  if (invalid > 0) notes.push(`Column ${JSON.stringify(name)}: ${invalid} INT96 value${invalid === 1 ? " is" : "s are"} not a valid timestamp (a time of day outside 0–24 h, as an overflowing writer leaves it); read as null.`);
  return { series, notes };
}
