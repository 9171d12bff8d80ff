/**
 * Parquet ingest with nodejs-polars (`scanParquet` + `collect`, off the event loop), after the
 * footer checks of parquet-footer.ts. Types are kept as written, except:
 * - unannotated binary columns become String when every value is valid UTF-8 (writers such as
 *   Impala store text that way), else a 422 naming the column (noted either way);
 * - Float16 becomes Float32 (exact widening; nodejs-polars cannot serve Float16) (noted);
 * - categoricals become String (noted).
 * Columns whose type the service cannot serve (nested, object, null, VARIANT, geospatial…) are a
 * 422 naming them.
 */
import pl from "nodejs-polars";
import { tooLarge, unparseable } from "../errors.ts";
import { dtypeName } from "../frame/dtype.ts";
import { frameHeight, frameSeries } from "../frame/safe.ts";
import type { SourceInfo } from "../types.ts";
import { polarsFailure } from "./csv.ts";
import { checkParquetFooter } from "./parquet-footer.ts";
import { DEFAULT_MEMORY_BYTES, type IngestLimits, type Parsed } from "./types.ts";

/** Polars dtype variants the rest of the service handles. */
export const SUPPORTED_PARQUET_VARIANTS: ReadonlySet<string> = new Set([
  "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
  "Float32", "Float64", "Bool", "Utf8", "String", "Date", "Datetime", "Time", "Duration", "Decimal",
]);

const TO_STRING = new Set(["Categorical", "Enum"]);

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

/**
 * Parses a Parquet file.
 * @throws ApiError 413 (limits), 422 (unreadable file or unsupported column types).
 */
export async function parseParquet(filePath: string, sizeBytes: number, limits: IngestLimits): Promise<Parsed> {
  const facts = await checkParquetFooter(filePath, sizeBytes, { ...limits, memoryBytes: limits.memoryBytes ?? DEFAULT_MEMORY_BYTES });
  const notes: string[] = [];
  let lf: pl.LazyDataFrame;
  let names: string[];
  let dtypes: pl.DataType[];
  try {
    lf = pl.scanParquet(filePath, { glob: false, hivePartitioning: false });
    // nodejs-polars cannot even describe Binary and Float16 columns to JavaScript: cast them first.
    const casts = [
      ...facts.binaryColumns.map((n) => pl.col(n).cast(pl.String)),
      ...facts.float16Columns.map((n) => pl.col(n).cast(pl.Float32)),
    ];
    if (casts.length > 0) lf = lf.withColumns(...casts);
    // An empty slice reads only the footer; its Series carry the file's dtypes. Kept as arrays:
    // an object keyed by column name would put integer-like names (`2019`) first.
    const empty = frameSeries(await lf.head(0).collect());
    names = empty.map((s) => s.name);
    dtypes = empty.map((s) => s.dtype);
  } catch (err) {
    throw polarsFailure(err, "The Parquet file could not be read");
  }
  if (names.length > limits.maxColumns) throw tooLarge(`The file has ${names.length} columns; the limit of this service is ${limits.maxColumns}.`);
  if (names.length === 0) throw unparseable("The Parquet file has no columns.");
  const bad = names.map((n, i) => [n, dtypes[i]!] as const).filter(([, dt]) => {
    const v = variantOf(dt);
    return !SUPPORTED_PARQUET_VARIANTS.has(v) && !TO_STRING.has(v);
  });
  if (bad.length > 0) {
    const list = bad.slice(0, 5).map(([n, dt]) => `${JSON.stringify(n)} (${dtypeName(dt)})`).join(", ");
    throw unparseable(`The Parquet file has column(s) of a type this service does not support: ${list}${bad.length > 5 ? ", …" : ""}.`, { columns: bad.map(([n]) => n) });
  }
  let rows: number;
  try {
    // Answered from the footer metadata, before any data page is read.
    const counted = (await lf.select(pl.len().alias("n")).collect()).toRecords()[0] as { n: number | bigint };
    rows = Number(counted.n);
  } catch (err) {
    throw polarsFailure(err, "The Parquet file could not be read");
  }
  if (rows > limits.maxRows) throw tooLarge(`The file has ${rows} rows; the limit of this service is ${limits.maxRows}.`);

  if (facts.binaryColumns.length > 0) notes.push(`Binary column(s) without a text annotation ${facts.binaryColumns.map((n) => JSON.stringify(n)).join(", ")} were read as UTF-8 text (String).`);
  if (facts.float16Columns.length > 0) notes.push(`Float16 column(s) ${facts.float16Columns.map((n) => JSON.stringify(n)).join(", ")} were read as Float32.`);
  const converted = names.filter((_, i) => TO_STRING.has(variantOf(dtypes[i]!)));
  if (converted.length > 0) notes.push(`Categorical column(s) ${converted.map((n) => JSON.stringify(n)).join(", ")} were read as String.`);
  let frame: pl.DataFrame;
  try {
    frame = await lf.select(names.map((n, i) => (TO_STRING.has(variantOf(dtypes[i]!)) ? pl.col(n).cast(pl.String) : pl.col(n)))).collect();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (facts.binaryColumns.length > 0 && /utf-?8/i.test(message)) {
      throw unparseable(`The Parquet file has binary column(s) that are not UTF-8 text, which this service does not support: ${facts.binaryColumns.map((n) => JSON.stringify(n)).join(", ")}.`, { columns: facts.binaryColumns });
    }
    throw polarsFailure(err, "The Parquet file could not be read");
  }
  if (frameHeight(frame) !== facts.numRows) {
    throw unparseable(`The Parquet file declares ${facts.numRows} rows but ${frameHeight(frame)} were read.`);
  }
  const source: Partial<SourceInfo> = { sheet: null, notes };
  return { frame, source };
}
