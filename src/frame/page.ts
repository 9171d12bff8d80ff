/**
 * One page of a version's rows as JSON text.
 *
 * Serialisation (measured on 2M rows × 10 columns, 100-row pages, 20 concurrent requests on a
 * 2-core machine — see the frame helper's report):
 * - `toRecords()` + `JSON.stringify`: ~1,700 pages/s, and not exact (Int64, datetimes);
 * - Polars-side JSON fragments per cell (json.ts): exact for every dtype but ~900 pages/s;
 * - Polars' JSON writer after converting temporal/decimal columns to text:
 *   exact whenever Polars' conventions match the contract.
 * So the writer is the fast path, and the fragments are the fallback for what it cannot do
 * exactly: an Int64/UInt64 value beyond ±2^53 on the page, nested values holding such types,
 * and types without a JSON form of their own (Binary, Object, …).
 *
 * Two ways to the page's rows, with the same output byte for byte:
 * - eager, when the caller has the version's in-memory DataFrame: a slice (or, with filters or a
 *   sort, a gather through the cached row order of that query) on nodejs-polars' native frame.
 *   nodejs-polars' JS wrappers cost ~0.5 ms per call (lazy plans, `collect`, Series/Expr objects),
 *   more than a 100-row page costs to compute, so this path makes no wrapper at all (~0.2 ms);
 * - lazy (cold versions on disk): filter → sort → slice → select in one Polars plan.
 * Facts about a whole version (does any Int64/UInt64 value reach 2^53?) are computed once and
 * cached, so pages of ordinary versions skip the per-page check.
 */
import { Writable } from "node:stream";
import pl from "nodejs-polars";
import { _DataFrame } from "nodejs-polars/bin/dataframe.js";
import nativeBinding from "nodejs-polars/bin/native-polars.js";
import { badRequest } from "../errors.ts";
import type { Version } from "../types.ts";
import { dtypeName, listInner, nativeDtype, structFields } from "./dtype.ts";
import { cachedNative, colExpr } from "./exprcache.ts";
import { datetimeFormat, jsonMemberN, jsonRowN, jsonValueN, TEMPORAL_FORMATS, TIME_FORMAT } from "./json.ts";
import { col, NExpr, selectNative } from "./native-expr.ts";
import { cachedRows, forgetRows, rowCacheFits, runFromFlatJson, runFromLines } from "./page-cache.ts";
import { aliased, filtered, forgetSchema, projection, schemaOf, sorted } from "./plan.ts";
import type { FrameSchema } from "./plan.ts";
import type { Filter, SortKey } from "./query.ts";
import { frameHeight, frameJsonRows, frameSeries, lazyOf, nativeSeries } from "./safe.ts";
import type { NativeSeries } from "./safe.ts";

export const MAX_PAGE_LIMIT = 10_000;

export interface PageQuery {
  offset: number;
  limit: number;
  /** Projection, in this order; all columns in frame order when absent. */
  columns?: string[];
  sort?: SortKey[];
  filters?: Filter[];
}

export interface Page {
  columns: { name: string; dtype: string }[];
  /** JSON text of the `rows` array, ready to embed in the response envelope. */
  readonly rowsJson: string;
  /** The same as UTF-8 bytes, when the page was assembled from rendered rows (page-cache.ts). */
  rowsBytes?: Buffer;
  /** Rows after filtering (the version's row count when unfiltered). */
  totalRows: number;
  /** Rows on this page. */
  rowCount: number;
}

export type RowShape = "objects" | "arrays";

const EXACT_LIMIT = 2 ** 53;
const NATIVE_LEAVES = new Set(["Null", "Bool", "Int8", "Int16", "Int32", "UInt8", "UInt16", "UInt32", "Float32", "Float64", "Utf8", "String"]);

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

/** Whether Polars' JSON writer gives the contract's JSON for values nested inside List/Struct. */
function nativeNested(dt: pl.DataType): boolean {
  const v = variantOf(dt);
  if (v === "List" || v === "FixedSizeList") {
    const inner = listInner(dt);
    return inner !== null && nativeNested(inner);
  }
  if (v === "Struct") return structFields(dt).every((f) => nativeNested(f.dtype));
  return NATIVE_LEAVES.has(v);
}

/**
 * Whether a column can go through the writer path (after `writerReady`), judged by dtype alone.
 * Int64/UInt64 qualify here and are checked per page for values beyond ±2^53.
 */
function writerOk(dt: pl.DataType): boolean {
  const v = variantOf(dt);
  switch (v) {
    case "Int64":
    case "UInt64":
    case "Categorical":
    case "Date":
    case "Datetime":
    case "Decimal":
    case "Time":
      return true;
    case "List":
    case "FixedSizeList":
    case "Struct":
      return nativeNested(dt);
    default:
      // Duration and Binary take the fragments (Polars' writer panics on Binary)
      return NATIVE_LEAVES.has(v);
  }
}

/**
 * The column converted to what the JSON writer renders exactly (temporal → ISO text, …). The
 * conversions keep the column's name, so no alias is needed. Native (native-expr.ts): a wide
 * projection of new column names would otherwise make a JS wrapper per column.
 */
function writerReady(ref: string, dt: pl.DataType): NExpr {
  return cachedNative(`w\u0000${ref}\u0000${dtypeName(dt)}`, () => {
    const c = col(ref);
    switch (variantOf(dt)) {
      case "Date":
        return c.strftime(TEMPORAL_FORMATS.date);
      case "Datetime":
        return c.strftime(datetimeFormat(dt));
      case "Time":
        return c.strftime(TIME_FORMAT);
      case "Decimal":
      case "Categorical":
        return c.cast(pl.Utf8);
      default:
        return c;
    }
  });
}

/** Whether an Int64/UInt64 column holds a value the writer would print inexactly. */
function hasInexactIntegers(columns: NativeSeries[]): boolean {
  return columns.some((s) => {
    if (s.dtype !== "Int64" && s.dtype !== "UInt64") return false;
    const [max, min] = [s.max(), s.min()];
    // a UInt64 max ≥ 2^63 does not convert and comes back null: null with values present is inexact
    if ((max === null || min === null) && s.len() > s.nullCount()) return true;
    // min/max come back as doubles, rounded monotonically: >= 2^53 catches every value beyond
    return Math.abs(Number(max ?? 0)) >= EXACT_LIMIT || Math.abs(Number(min ?? 0)) >= EXACT_LIMIT;
  });
}

/**
 * Exact JSON for any dtype, built cell by cell in Polars (json.ts). The expressions are native
 * (native-expr.ts): a few microseconds per node, where nodejs-polars' JS wrappers cost half a
 * millisecond each (150 struct columns made ~12,000 of them, seconds of a blocked event loop for
 * every new struct schema); they are still kept per column for the next page.
 */
async function fragmentsJson(page: pl.DataFrame, names: string[], shape: RowShape): Promise<string> {
  if (frameHeight(page) === 0) return "[]";
  // native series: their dtypes are readable even where a JS Series' are not (Binary)
  const series = nativeSeries(page) as unknown as Parameters<typeof nativeDtype>[0][];
  // positional names again, whatever the page's columns are called
  const positional = lazyOf(page).rename(Object.fromEntries(series.map((s, k) => [s.name, `p${k}`])));
  const parts = series.map((s, k) => {
    const { dtype, name: dtypeName } = nativeDtype(s);
    const name = names[k] ?? s.name;
    return cachedNative(`f\u0000p${k}\u0000${dtypeName}\u0000${shape === "objects" ? name : ""}`, () => {
      const value = jsonValueN(col(`p${k}`), dtype);
      return shape === "objects" ? jsonMemberN(name, value) : value;
    });
  });
  const out = await positional.select(jsonRowN(parts, shape).strConcat(",").alias("rows").expr()).collect();
  return `[${String(frameSeries(out)[0]?.toArray()[0] ?? "")}]`;
}

/** The writer's row objects (`text`, from a page whose columns carry the real names) in `shape`. */
function writerJson(text: string, shape: RowShape): string {
  return shape === "objects" ? text : objectRowsToArrays(text);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * `[{"a":1,"b":[2]},…]` → `[[1,[2]],…]`: drops the keys of each row object and keeps every value's
 * text exactly as written (a JSON round trip in JS would turn `-0.0` into `0` and move
 * integer-like struct keys first). Input is Polars' JSON writer output: no whitespace, keys in
 * column order.
 */
export function objectRowsToArrays(text: string): string {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      let j = i + 1;
      while (text.charCodeAt(j) !== QUOTE) j += text.charCodeAt(j) === BACKSLASH ? 2 : 1;
      if (keyNext) {
        // drop `"key":`
        out.push(text.slice(from, i));
        from = j + 2;
        keyNext = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */) {
      depth++;
      if (depth === 2) {
        out.push(text.slice(from, i), "[");
        from = i + 1;
        keyNext = true;
      }
    } else if (ch === 0x7d /* } */) {
      if (depth === 2) {
        out.push(text.slice(from, i), "]");
        from = i + 1;
      }
      depth--;
    } else if (ch === 0x5b /* [ */) {
      depth++;
    } else if (ch === 0x5d /* ] */) {
      depth--;
    } else if (ch === 0x2c /* , */ && depth === 2) {
      keyNext = true;
    }
  }
  out.push(text.slice(from));
  return out.join("");
}

// ---------------------------------------------------------------------------------------------
// nodejs-polars' native (napi) objects. The JS wrappers (`pl.DataFrame`, `pl.Series`) are built
// from a few hundred closures each and the DataFrame is a Proxy keyed by column names; the
// native objects behind them are neither, and each call here costs microseconds. This section is
// the only place that touches them.

/** The members of nodejs-polars' native DataFrame used here. */
interface NativeFrame {
  readonly height: number;
  slice(offset: number, length: number): NativeFrame;
  take(indices: number[]): NativeFrame;
  /** Columns by literal name (no wildcards or regexes), in the given order. */
  select(names: string[]): NativeFrame;
  column(name: string): NativeColumn;
  getColumns(): NativeColumn[];
  /** A new frame with the same-named column replaced. */
  withColumn(column: NativeColumn): NativeFrame;
  writeJson(dest: Writable, options: { format: "json" | "lines" }): void;
}

/** The members of a native Series used here (see also `NativeSeries` in safe.ts). */
interface NativeColumn extends NativeSeries {
  strftime(format: string): NativeColumn;
  cast(dtype: pl.DataType, strict: boolean): NativeColumn;
  toTypedArray(): unknown;
}

const JsDataFrame = (nativeBinding as unknown as { JsDataFrame: new (columns: NativeSeries[]) => NativeFrame }).JsDataFrame;

/** Wraps a native frame as a `pl.DataFrame` (for the rare fragments fallback). */
function wrapFrame(frame: NativeFrame): pl.DataFrame {
  return _DataFrame(frame) as pl.DataFrame;
}

/**
 * The native frame over a version's DataFrame: a second handle on the same column buffers (no
 * copy), kept as long as the DataFrame itself lives.
 */
const nativeFrames = new WeakMap<pl.DataFrame, NativeFrame>();
function nativeFrameOf(df: pl.DataFrame): NativeFrame {
  let n = nativeFrames.get(df);
  if (!n) {
    n = new JsDataFrame(nativeSeries(df));
    nativeFrames.set(df, n);
  }
  return n;
}

/** Polars' JSON writer output for a native frame (what `frameJsonRows` in safe.ts gives). */
function nativeJsonRows(frame: NativeFrame): string {
  return nativeJson(frame, "json").toString("utf8");
}

/** Polars' JSON writer output for a native frame: one array (`json`) or one row per line (`lines`). */
function nativeJson(frame: NativeFrame, format: "json" | "lines"): Buffer {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done(null);
    },
  });
  // the native writer writes synchronously, as pl.DataFrame.writeJSON relies on too
  frame.writeJson(sink, { format });
  sink.end();
  return Buffer.concat(chunks);
}

/** Variants whose values hold other values (their JSON can contain a row's own punctuation). */
const NESTED = new Set(["List", "FixedSizeList", "Struct", "Array"]);

/** Variants `writerReadyColumn` converts. */
const CONVERTED = new Set(["Date", "Datetime", "Time", "Decimal", "Categorical"]);

/** The eager counterpart of `writerReady`: the same conversions, on one page's column. */
function writerReadyColumn(c: NativeColumn, dt: pl.DataType): NativeColumn | null {
  switch (variantOf(dt)) {
    case "Date":
      return c.strftime(TEMPORAL_FORMATS.date);
    case "Datetime":
      return c.strftime(datetimeFormat(dt));
    case "Time":
      return c.strftime(TIME_FORMAT);
    case "Decimal":
    case "Categorical":
      return c.cast(pl.Utf8, false);
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Per-version caches. Versions are immutable, so anything derived from a version's rows stays
// true; entries are keyed by the version's identity (dataset, number, creation time).

function versionKey(version: Version): string {
  return `${version.datasetId}\u0000${version.version}\u0000${version.createdAt}`;
}

/** Small LRU touch: re-insert to mark as most recently used. */
function touch<K, V>(map: Map<K, V>, key: K): V | undefined {
  const hit = map.get(key);
  if (hit !== undefined) {
    map.delete(key);
    map.set(key, hit);
  }
  return hit;
}

const FACTS_CACHE_SIZE = 512;
/** Version → whether any Int64/UInt64 value anywhere in it is at or beyond ±2^53. */
const inexactVersions = new Map<string, Promise<boolean>>();

/**
 * Whether the version may hold integers the writer prints inexactly. When false, no page of it
 * can, and pages skip the per-page check; when true, each page is checked (as before).
 */
function versionHasInexactIntegers(version: Version, schema: FrameSchema, lf: () => pl.LazyDataFrame, frame: pl.DataFrame | undefined): Promise<boolean> {
  const key = versionKey(version);
  const hit = touch(inexactVersions, key);
  if (hit) return hit;
  const ints = schema.dtypes.flatMap((dt, i) => (variantOf(dt) === "Int64" || variantOf(dt) === "UInt64" ? [i] : []));
  let answer: Promise<boolean>;
  if (ints.length === 0) answer = Promise.resolve(false);
  else if (frame) answer = Promise.resolve(hasInexactIntegers(nativeSeries(frame)));
  else {
    // one lazy pass over the integer columns (Parquet statistics often answer it)
    const extremes = ints.flatMap((i, k) => {
      const c = colExpr(schema.refs[i] as string);
      return [c.max().alias(`x${k}`), c.min().alias(`n${k}`)];
    });
    answer = aliased(lf(), schema)
      .select(extremes)
      .collect()
      .then((out) => hasInexactIntegers(nativeSeries(out)));
  }
  inexactVersions.set(key, answer);
  // a failed computation is not a fact: let the next request try again
  answer.catch(() => {
    if (inexactVersions.get(key) === answer) inexactVersions.delete(key);
  });
  if (inexactVersions.size > FACTS_CACHE_SIZE) inexactVersions.delete(inexactVersions.keys().next().value as string);
  return answer;
}

/** Cached row orders: at most this many queries, and this many bytes of row indexes in all. */
const ORDER_CACHE_ENTRIES = 64;
const ORDER_CACHE_BYTES = 32 * 1024 * 1024;

interface OrderEntry {
  rows: Promise<Uint32Array>;
  /** Bytes of the resolved index array (0 while pending). */
  bytes: number;
  /** `versionKey` of the version it belongs to (for `forgetVersion`). */
  owner: string;
}
const orders = new Map<string, OrderEntry>();
let orderBytes = 0;

function evictOrders(): void {
  for (const [key, entry] of orders) {
    if (orders.size <= ORDER_CACHE_ENTRIES && orderBytes <= ORDER_CACHE_BYTES) break;
    orders.delete(key);
    orderBytes -= entry.bytes;
  }
}

/** A column name for the row index that no column of the version (or its alias) has. */
function rowIndexName(schema: FrameSchema): string {
  let name = "\u0000row";
  while (schema.indexOf.has(name) || schema.refs.includes(name)) name += "_";
  return name;
}

/**
 * Where row orders come from: the API process injects one that runs the query in a query worker
 * (src/query-service.ts), so no filter or sort over a whole version runs on the event loop.
 * Without one (tests, scripts) the order is computed here.
 */
export type OrderSource = (filters: Filter[], sort: SortKey[]) => Promise<Uint32Array>;

/** The identity of a (version, filters, sort) query: its row order's cache key. */
function orderKey(version: Version, q: PageQuery): string {
  return JSON.stringify([versionKey(version), (q.filters ?? []).map((f) => f.raw), (q.sort ?? []).map((k) => [k.column, k.descending])]);
}

/**
 * The version's row numbers that pass the filters, in sort order: computed once per (version,
 * filters, sort) and kept in a bounded LRU, so every page of that query is a gather. Concurrent
 * requests for the same query share one computation.
 */
function rowOrder(version: Version, schema: FrameSchema, lf: () => pl.LazyDataFrame, q: PageQuery, source?: OrderSource): Promise<Uint32Array> {
  const key = orderKey(version, q);
  const hit = touch(orders, key);
  if (hit) return hit.rows;
  const compute = (): Promise<Uint32Array> => {
    if (source) return source(q.filters ?? [], q.sort ?? []);
    const idx = rowIndexName(schema);
    const plan = sorted(filtered(lf().withRowIndex(idx), schema, q.filters), schema, q.sort).select(pl.col(idx));
    return plan.collect().then((out) => indexArray(nativeSeries(out)[0] as NativeColumn));
  };
  const entry: OrderEntry = { rows: compute(), bytes: 0, owner: versionKey(version) };
  orders.set(key, entry);
  entry.rows.then(
    (rows) => {
      if (orders.get(key) !== entry) return;
      entry.bytes = rows.byteLength;
      orderBytes += entry.bytes;
      evictOrders();
    },
    () => {
      if (orders.get(key) === entry) orders.delete(key);
    },
  );
  evictOrders();
  return entry.rows;
}

/**
 * Drops everything cached about a version (row orders, integer facts, its schema): called when a
 * version is deleted, so its row orders (up to 32 MB) do not wait for eviction.
 */
export function forgetVersion(datasetId: string, version: number): void {
  const prefix = `${datasetId}\u0000${version}\u0000`;
  for (const [key, entry] of orders) {
    if (!entry.owner.startsWith(prefix)) continue;
    orders.delete(key);
    orderBytes -= entry.bytes;
  }
  for (const key of inexactVersions.keys()) if (key.startsWith(prefix)) inexactVersions.delete(key);
  forgetRows(prefix);
  forgetSchema(datasetId, version);
}

/** The row index column as a Uint32Array (Polars' row index is UInt32 in this build). */
function indexArray(column: NativeColumn): Uint32Array {
  const typed = column.toTypedArray();
  if (typed instanceof Uint32Array) return typed;
  return Uint32Array.from(column.toArray() as (number | bigint)[], Number);
}

function validatePaging(q: PageQuery): void {
  if (!Number.isSafeInteger(q.offset) || q.offset < 0) throw badRequest(`offset must be an integer ≥ 0, got ${q.offset}.`, { parameter: "offset" });
  if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > MAX_PAGE_LIMIT) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${q.limit}.`, { parameter: "limit" });
  }
}

const LEN = pl.len().alias("n");

/** Rows of a lazy frame, counted lazily. */
export async function countRows(lf: pl.LazyDataFrame): Promise<number> {
  const out = await lf.select(LEN).collect();
  return Number(nativeSeries(out)[0]?.toArray()[0] ?? 0);
}

/**
 * Reads one page. Throws 400 (ApiError) for bad offset/limit or unknown columns. `filters` and
 * `sort` come from `parseFilters`/`parseSort` (query.ts).
 *
 * `frame`, when given, must be the in-memory DataFrame that `lf` reads (the same rows in the same
 * order); pages then come from it eagerly, without a Polars plan per request, and filtered/sorted
 * pages gather through the row order from `orders`. Without it (a version read from disk) every
 * page is one lazy query over `lf`, which reads only the rows of the page when unfiltered. Both
 * give the same text. `lf` may be a function that makes it: a page from the frame rarely needs it,
 * and making a LazyDataFrame wrapper costs tens of microseconds.
 */
export async function readPage(lazyFrame: pl.LazyDataFrame | (() => pl.LazyDataFrame), version: Version, q: PageQuery, shape: RowShape, frame?: pl.DataFrame, orders?: OrderSource): Promise<Page> {
  validatePaging(q);
  let made: pl.LazyDataFrame | undefined;
  const lf = typeof lazyFrame === "function" ? () => (made ??= lazyFrame()) : () => lazyFrame;
  const schema: FrameSchema = await schemaOf(lf, version);
  const names = projection(schema, q.columns);
  const indexes = names.map((n) => schema.indexOf.get(n) as number);
  const useWriter = indexes.every((i) => writerOk(schema.dtypes[i] as pl.DataType));
  // Without the frame, a version-wide fact would read every row group; the page is checked instead.
  const mayBeInexact = useWriter && frame ? await versionHasInexactIntegers(version, schema, lf, frame) : true;
  const columns = indexes.map((i) => ({ name: schema.names[i] as string, dtype: schema.dtypeNames[i] as string }));
  if (frame) {
    // no page of this version can need the fragments: pages are cut from rendered rows (page-cache.ts)
    if (useWriter && !mayBeInexact && rowCacheFits(version.rowCount)) return cachedPage(frame, lf, version, schema, q, names, indexes, columns, shape, orders);
    const { page, totalRows } = await eagerRows(frame, lf, version, schema, q, names, orders);
    return { columns, rowsJson: await eagerJson(page, names, indexes, schema, shape, useWriter, mayBeInexact), totalRows, rowCount: page.height };
  }
  const rows = filtered(lf(), schema, q.filters);
  const select = indexes.map((i) => {
    const ref = schema.refs[i] as string;
    return useWriter ? writerReady(ref, schema.dtypes[i] as pl.DataType) : cachedNative(`col\u0000${ref}`, () => col(ref));
  });
  const projected = selectNative(sorted(rows, schema, q.sort).slice(q.offset, q.limit), select);
  const plan = schema.direct ? projected : projected.rename(Object.fromEntries(indexes.map((i, k) => [schema.refs[i] as string, names[k] as string])));
  const filteredCount = q.filters && q.filters.length > 0;
  const [page, totalRows] = await Promise.all([plan.collect(), filteredCount ? countRows(rows) : Promise.resolve(version.rowCount)]);
  const writer = useWriter && !(mayBeInexact && hasInexactIntegers(nativeSeries(page)));
  const rowsJson = writer ? writerJson(frameJsonRows(page), shape) : await fragmentsJson(page, names, shape);
  return { columns, rowsJson, totalRows, rowCount: frameHeight(page) };
}

/** The page's rows (all columns, original dtypes) from the in-memory frame, and the row total. */
async function eagerRows(frame: pl.DataFrame, lf: () => pl.LazyDataFrame, version: Version, schema: FrameSchema, q: PageQuery, names: string[], orders?: OrderSource): Promise<{ page: NativeFrame; totalRows: number }> {
  const all = nativeFrameOf(frame);
  let page: NativeFrame;
  let totalRows: number;
  if ((q.filters?.length ?? 0) === 0 && (q.sort?.length ?? 0) === 0) {
    page = all.slice(Math.min(q.offset, all.height), q.limit);
    totalRows = version.rowCount;
  } else {
    const order = await rowOrder(version, schema, lf, q, orders);
    page = all.take(Array.from(order.subarray(Math.min(q.offset, order.length), q.offset + q.limit)));
    totalRows = order.length;
  }
  const whole = names.length === schema.names.length && names.every((n, k) => n === schema.names[k]);
  return { page: whole ? page : page.select(names), totalRows };
}

/**
 * A page cut from rendered rows (page-cache.ts): rows in frame order (unfiltered), or in the
 * cached row order of the query (filters/sort); the rows no earlier page rendered are rendered
 * here by the writer path (the same text as `eagerJson` gives). Only for versions where the
 * writer is exact for every row (no Int64 beyond ±2^53, writer-ready dtypes).
 */
async function cachedPage(frame: pl.DataFrame, lf: () => pl.LazyDataFrame, version: Version, schema: FrameSchema, q: PageQuery, names: string[], indexes: number[], columns: Page["columns"], shape: RowShape, orders?: OrderSource): Promise<Page> {
  const all = nativeFrameOf(frame);
  const ordered = (q.filters?.length ?? 0) > 0 || (q.sort?.length ?? 0) > 0;
  const order = ordered ? await rowOrder(version, schema, lf, q, orders) : undefined;
  const available = order ? order.length : all.height;
  const totalRows = order ? order.length : version.rowCount;
  const whole = names.length === schema.names.length && names.every((n, k) => n === schema.names[k]);
  const owner = versionKey(version);
  const key = `${ordered ? orderKey(version, q) : owner}\u0000${shape}\u0000${whole ? "*" : JSON.stringify(names)}`;
  const flat = indexes.every((i) => !NESTED.has(variantOf(schema.dtypes[i] as pl.DataType)));
  const render = (start: number, end: number) => {
    let part = order ? all.take(Array.from(order.subarray(start, end))) : all.slice(start, end - start);
    if (!whole) part = part.select(names);
    indexes.forEach((i, k) => {
      const dt = schema.dtypes[i] as pl.DataType;
      if (!CONVERTED.has(variantOf(dt))) return;
      const converted = writerReadyColumn(part.column(names[k] as string), dt);
      if (converted) part = part.withColumn(converted);
    });
    const toArrays = shape === "arrays" ? (row: string) => objectRowsToArrays(`[${row}]`).slice(1, -1) : undefined;
    // the array form is cheaper for the writer (~20 %), and its rows can be found when no value nests
    return flat ? runFromFlatJson(nativeJson(part, "json"), toArrays) : runFromLines(nativeJson(part, "lines"), toArrays);
  };
  const from = Math.min(q.offset, available);
  const to = Math.min(q.offset + q.limit, available);
  const bytes = cachedRows(key, owner, available, from, to, render);
  let text: string | undefined;
  return {
    columns,
    rowsBytes: bytes,
    get rowsJson() {
      return (text ??= bytes.toString("utf8"));
    },
    totalRows,
    rowCount: to - from,
  };
}

/** JSON text of an eager page: the writer after `writerReadyColumn`, or the fragments fallback. */
async function eagerJson(page: NativeFrame, names: string[], indexes: number[], schema: FrameSchema, shape: RowShape, useWriter: boolean, mayBeInexact: boolean): Promise<string> {
  if (!useWriter) return fragmentsJson(wrapFrame(page), names, shape);
  let ready = page;
  indexes.forEach((i, k) => {
    const dt = schema.dtypes[i] as pl.DataType;
    // only the columns that need converting cost a native call (wide frames have hundreds)
    if (!CONVERTED.has(variantOf(dt))) return;
    const converted = writerReadyColumn(ready.column(names[k] as string), dt);
    if (converted) ready = ready.withColumn(converted);
  });
  if (mayBeInexact && hasInexactIntegers(ready.getColumns())) return fragmentsJson(wrapFrame(ready), names, shape);
  return writerJson(nativeJsonRows(ready), shape);
}

/**
 * The page's rows as the exact per-cell path writes them (json.ts fragments for every column,
 * one lazy query, no writer): the reference the faster paths are tested against.
 */
export async function exactRowsJson(lf: pl.LazyDataFrame, version: Version, q: PageQuery, shape: RowShape): Promise<string> {
  validatePaging(q);
  const schema = await schemaOf(lf, version);
  const names = projection(schema, q.columns);
  const refs = names.map((n) => schema.refs[schema.indexOf.get(n) as number] as string);
  const page = await selectNative(sorted(filtered(lf, schema, q.filters), schema, q.sort).slice(q.offset, q.limit), refs.map((r) => col(r))).collect();
  return fragmentsJson(page, names, shape);
}
