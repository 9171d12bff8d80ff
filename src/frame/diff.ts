/**
 * What changed between two versions: schema, row counts, the differing rows, statistics drift.
 *
 * Pure over Polars LazyFrames (no HTTP, no storage), so it runs wherever the frames are: in a
 * query worker over the versions' data files, or in tests over generated frames.
 *
 * Semantics (documented in the README; the contract leaves them open):
 * - Rows are compared on the columns both versions have (by name). Added and removed columns are
 *   reported in `schema` only; they do not make a row "changed".
 * - With a key (one or more columns, present in both versions), rows match by key. A key value
 *   repeated within either version is a 400 naming it. Nulls in keys match nulls
 *   (`IS NOT DISTINCT FROM`): a row keyed `null` in both versions is the same row.
 * - Without a key, rows match as whole-row multisets over the shared columns: a row present
 *   twice in `from` and once in `to` is one removed row; a change is one removed + one added.
 * - Values compare null-safely (null = null), NaN = NaN and -0.0 = 0.0 (as DuckDB does).
 * - A column whose type changed compares by value where the types are comparable: integers of
 *   any width with each other exactly; integers and floats as Float64 (exact up to 2^53);
 *   String with Categorical as text. Any other type change (String → Int64, Date → Datetime, …)
 *   makes every row where the column is not null in both versions count as changed (such a
 *   column cannot be a key: that is a 400).
 * - The differing rows come in a stable order, so a cursor can page them: added and changed
 *   rows in `to`'s row order, removed rows in `from`'s row order.
 *
 * Cost (`npm run bench -- --diff`; docs/performance.md "Session 3: diff"): each version is read
 * once (key and compared columns), then rows are matched without a hash join where the versions
 * allow it, and the matched rows' values are compared exactly, column by column, side by side:
 * - one numeric key strictly ascending in both versions (versions stored in key order): a merge
 *   of the two key columns as 32-bit words (`mergeMatch`);
 * - other keys (text, several columns, unsorted numbers): one 64-bit hash of the key per row,
 *   rows paired by an in-order pass over both versions, and exactness proven natively — hashes
 *   unique in each version, matched keys equal (`keyHashMatch`);
 * - otherwise (repeated or float keys, versions in different orders, a hash collision): one
 *   key-only Polars left join, which also finds repeated keys (`joinMatch`);
 * - no key: one 64-bit hash of each row, rows paired like keys (as many rows of each hash as
 *   both versions have), every matched pair confirmed equal, and on a collision the exact join on every column
 *   (`hashedMultisetDiff`, `multisetDiff`).
 * Matched rows in the same relative order in both versions are compared through a slice or one
 * filter per version; only reordered ones are gathered.
 *
 * Every user column is renamed to a positional alias (`a0`, `a1`, … / `b0`, …) before any
 * internal column (`_ia`, `_kind`, …) is added, so no internal name can clash with a user's.
 */
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import { seriesDtypeName } from "./dtype.ts";
import { jsonMember, jsonRow, jsonValue } from "./json.ts";
import { frameSeries } from "./safe.ts";
import type { ColumnStats } from "./stats.ts";

export const DIFF_KINDS = ["added", "removed", "changed"] as const;
export type DiffKind = (typeof DIFF_KINDS)[number];

export interface DiffColumn {
  name: string;
  dtype: string;
}

export interface SchemaDiff {
  added: DiffColumn[];
  removed: DiffColumn[];
  changed: { name: string; from: string; to: string }[];
}

export interface RowCounts {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
}

/** Row positions (0-based, in each version's stored order) of the differing rows, in page order. */
export interface DiffPositions {
  /** In `to`. */
  added: Uint32Array;
  /** In `from`. */
  removed: Uint32Array;
  /** Index-aligned pairs: the row in `from` and the row in `to` with the same key. */
  changedFrom: Uint32Array;
  changedTo: Uint32Array;
}

export interface DiffResult {
  key: string[];
  schema: SchemaDiff;
  rows: RowCounts;
  positions: DiffPositions;
}

/** One version's columns under positional aliases. */
interface Side {
  lf: pl.LazyDataFrame;
  names: string[];
  dtypes: pl.DataType[];
  dtypeNames: string[];
  refs: string[];
  indexOf: Map<string, number>;
  /** Row count (one more query, made only when asked for). */
  height: () => Promise<number>;
}

type Comparison = { kind: "same" } | { kind: "cast"; to: pl.DataType } | { kind: "none" };

const INTEGERS = new Set(["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"]);
const FLOATS = new Set(["Float32", "Float64"]);
const TEXT = new Set(["Utf8", "String", "Categorical", "Enum"]);

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

const col = (name: string) => pl.col(name);

async function sideOf(lf: pl.LazyDataFrame, prefix: "a" | "b"): Promise<Side> {
  const empty = await lf.limit(0).collect();
  const series = frameSeries(empty);
  const names = series.map((s) => s.name);
  const refs = names.map((_, i) => `${prefix}${i}`);
  // rename takes names literally (no wildcard or regex meaning) and renames all at once
  const renamed = names.length > 0 ? lf.rename(Object.fromEntries(names.map((n, i) => [n, refs[i] as string]))) : lf;
  let counted: Promise<number> | null = null;
  const height = () => (counted ??= lf.select(pl.len().alias("n")).collect().then((f) => Number(frameSeries(f)[0]?.toArray()[0] ?? 0)));
  return {
    lf: renamed,
    names,
    dtypes: series.map((s) => s.dtype),
    dtypeNames: series.map((s) => seriesDtypeName(s)),
    refs,
    indexOf: new Map(names.map((n, i) => [n, i])),
    height,
  };
}

/** How a column present in both versions is compared, given its two dtypes. */
function comparison(a: pl.DataType, aName: string, b: pl.DataType, bName: string): Comparison {
  const va = variantOf(a);
  const vb = variantOf(b);
  if (TEXT.has(va) && TEXT.has(vb)) {
    // categoricals of two frames do not share a dictionary: compare as text
    return va === "Categorical" || vb === "Categorical" || va === "Enum" || vb === "Enum" ? { kind: "cast", to: pl.String } : { kind: "same" };
  }
  if (aName === bName) return { kind: "same" };
  if (INTEGERS.has(va) && INTEGERS.has(vb)) {
    // UInt64 does not fit Int64: decimal text compares every integer exactly
    return va === "UInt64" || vb === "UInt64" ? { kind: "cast", to: pl.String } : { kind: "cast", to: pl.Int64 };
  }
  if ((INTEGERS.has(va) || FLOATS.has(va)) && (INTEGERS.has(vb) || FLOATS.has(vb))) return { kind: "cast", to: pl.Float64 };
  return { kind: "none" };
}

interface Pair {
  name: string;
  a: number;
  b: number;
  cmp: Comparison;
}

function normalized(ref: string, cmp: Comparison): pl.Expr {
  return cmp.kind === "cast" ? col(ref).cast(cmp.to) : col(ref);
}

/** True where the two values differ; null-safe (null = null). Names are of joined columns. */
function differs(aRef: string, bRef: string, cmp: Comparison, nullable = true): pl.Expr {
  if (cmp.kind === "none") return nullable ? col(aRef).isNull().and(col(bRef).isNull()).not() : pl.lit(true);
  const a = normalized(aRef, cmp);
  const b = normalized(bRef, cmp);
  // without nulls on either side, `neq` alone is the null-safe comparison
  return nullable ? a.neq(b).fillNull(a.isNull().neq(b.isNull())) : a.neq(b);
}

function schemaDiff(from: Side, to: Side): { schema: SchemaDiff; pairs: Pair[] } {
  const schema: SchemaDiff = { added: [], removed: [], changed: [] };
  const pairs: Pair[] = [];
  from.names.forEach((name, a) => {
    const b = to.indexOf.get(name);
    const fromType = from.dtypeNames[a] as string;
    if (b === undefined) {
      schema.removed.push({ name, dtype: fromType });
      return;
    }
    const toType = to.dtypeNames[b] as string;
    if (fromType !== toType) schema.changed.push({ name, from: fromType, to: toType });
    pairs.push({ name, a, b, cmp: comparison(from.dtypes[a] as pl.DataType, fromType, to.dtypes[b] as pl.DataType, toType) });
  });
  to.names.forEach((name, b) => {
    if (!from.indexOf.has(name)) schema.added.push({ name, dtype: to.dtypeNames[b] as string });
  });
  return { schema, pairs };
}

/** Validates key names (given once, present in both versions, comparable types). */
function keyPairs(key: string[], pairs: Pair[], from: Side, to: Side): Pair[] {
  const seen = new Set<string>();
  return key.map((k) => {
    if (seen.has(k)) throw badRequest(`Key column "${k}" is listed twice.`, { parameter: "key" });
    seen.add(k);
    const pair = pairs.find((p) => p.name === k);
    if (!pair) {
      const where = from.indexOf.has(k) ? "the newer version (to)" : to.indexOf.has(k) ? "the older version (from)" : "either version";
      throw badRequest(`Key column "${k}" is not in ${where}. Key columns must be in both versions; shared columns: ${pairs.slice(0, 50).map((p) => JSON.stringify(p.name)).join(", ") || "none"}.`, { parameter: "key", column: k });
    }
    if (pair.cmp.kind === "none") {
      throw badRequest(`Key column "${k}" changed type from ${from.dtypeNames[pair.a]} to ${to.dtypeNames[pair.b]}; a key must have comparable types in both versions.`, { parameter: "key", column: k });
    }
    return pair;
  });
}

/** JSON text of one row object per frame row, exact for every dtype (json.ts fragments). */
function rowJsonExpr(side: Side, indexes: number[], refs: string[] = indexes.map((i) => side.refs[i] as string)): pl.Expr {
  return jsonRow(indexes.map((i, k) => jsonMember(side.names[i] as string, jsonValue(col(refs[k] as string), side.dtypes[i] as pl.DataType))), "objects");
}

/** Throws 400 naming a key value that is not unique in `side`. */
async function assertUniqueKey(side: Side, keys: Pair[], which: "from" | "to", version: string): Promise<void> {
  const indexes = keys.map((p) => (which === "from" ? p.a : p.b));
  const refs = indexes.map((i) => side.refs[i] as string);
  const keyExpr = refs.length === 1 ? col(refs[0] as string) : pl.struct(refs.map(col));
  const dup = await side.lf
    .filter(keyExpr.isDuplicated())
    .head(1)
    .select(rowJsonExpr(side, indexes).alias("_json"))
    .collect();
  const text = frameSeries(dup)[0]?.toArray()[0];
  if (typeof text !== "string") return;
  const names = indexes.map((i) => JSON.stringify(side.names[i]));
  throw badRequest(
    `The key ${names.join(", ")} is not unique in version ${version}: ${text} appears more than once. Choose key columns that identify each row, or compare without a key.`,
    { parameter: "key", duplicate: JSON.parse(text) as unknown, version: Number(version) || version },
  );
}

const KIND_ADDED = 1;
const KIND_REMOVED = 2;

/** `_ia`, `_ib`, `_kind` of the rows only one version has (the exact multiset join) → positions in page order. */
async function positionsOf(differing: pl.LazyDataFrame): Promise<DiffPositions> {
  const out = await differing.collect();
  const [ia, ib, kind] = frameSeries(out).map((s) => s.toArray() as (number | null)[]) as [(number | null)[], (number | null)[], number[]];
  const added: number[] = [];
  const removed: number[] = [];
  for (let r = 0; r < kind.length; r++) {
    if (kind[r] === KIND_ADDED) added.push(ib[r] as number);
    else if (kind[r] === KIND_REMOVED) removed.push(ia[r] as number);
  }
  const byNumber = (x: number, y: number) => x - y;
  const none = new Uint32Array(0);
  return { added: Uint32Array.from(added).sort(byNumber), removed: Uint32Array.from(removed).sort(byNumber), changedFrom: none, changedTo: none };
}

/** How a single key column can be merged: as integers (exact, any Int64) or as doubles. */
type MergeKind = "integers" | "doubles" | null;

function mergeKind(keys: Pair[], from: Side, to: Side): MergeKind {
  const k = keys[0];
  if (keys.length !== 1 || !k || k.cmp.kind === "none") return null;
  const va = variantOf(from.dtypes[k.a] as pl.DataType);
  const vb = variantOf(to.dtypes[k.b] as pl.DataType);
  if (INTEGERS.has(va) && INTEGERS.has(vb) && va !== "UInt64" && vb !== "UInt64") return "integers";
  // floats (and integers compared with floats) as Float64, like the join path
  const numeric = (v: string) => INTEGERS.has(v) || FLOATS.has(v);
  return numeric(va) && numeric(vb) && (FLOATS.has(va) || FLOATS.has(vb)) ? "doubles" : null;
}

const TWO_32 = 2 ** 32;

/** One version's key columns (normalised, `_k0`, `_k1`, …) and compared columns, read once. */
async function keyedFrame(side: Side, keys: Pair[], compared: Pair[], which: "a" | "b"): Promise<pl.DataFrame> {
  const at = (p: Pair) => side.refs[which === "a" ? p.a : p.b] as string;
  return side.lf.select(...keys.map((p, j) => normalized(at(p), p.cmp).alias(`_k${j}`)), ...compared.map((p) => col(at(p)))).collect();
}

/**
 * How the rows of two versions pair up by key: the matched pairs in `to`'s row order, and the
 * rows only one version has (ascending).
 */
interface Matching {
  /** Row in `from` of the k-th matched pair. */
  ia: Uint32Array;
  /** Row in `to` of the k-th matched pair (ascending). */
  ib: Uint32Array;
  added: Uint32Array;
  removed: Uint32Array;
  /** `ia` is ascending too: the matched rows have the same relative order in both versions. */
  ordered: boolean;
}

/** A key column as sortable 64-bit words: value order = (hi, lo) order (hi signed; lo unsigned, or signed when every hi is 0). */
interface Words {
  hi: Int32Array;
  lo: Uint32Array | Int32Array;
}

function column(frame: pl.DataFrame, name: string): pl.Series {
  return frameSeries(frame).find((s) => s.name === name) as pl.Series;
}

/**
 * A double key column as sortable words, or null when it has NaN. -0.0 is read as 0.0 (the
 * join path matches them). Negative doubles have their bits flipped but the sign, so that words
 * order like the values.
 */
function doubleWords(s: pl.Series): Words | null {
  const d = s.cast(pl.Float64).rechunk().toTypedArray() as Float64Array;
  const bits = new Int32Array(d.buffer, d.byteOffset, d.length * 2);
  const hi = new Int32Array(d.length);
  const lo = new Uint32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i])) return null;
    const h = bits[2 * i + 1] as number;
    const l = bits[2 * i] as number;
    // -0.0 (sign bit only) stays 0, 0; other negatives flip every bit but the sign
    if (h < 0 && !(h === -0x80000000 && l === 0)) {
      hi[i] = h ^ 0x7fffffff;
      lo[i] = ~l >>> 0;
    } else if (h >= 0) {
      hi[i] = h;
      lo[i] = l >>> 0;
    }
  }
  return { hi, lo };
}

/** True when every value of the integer key fits an Int32 (or there is none). */
function fitsInt32(frame: pl.DataFrame): boolean {
  const k = column(frame, "_k0");
  return k.len() === k.nullCount() || (Number(k.min()) >= -(2 ** 31) && Number(k.max()) < 2 ** 31);
}

/** The key column `_k0` as words; `small`: every integer key of both versions fits an Int32. */
async function keyWords(frame: pl.DataFrame, merge: "integers" | "doubles", small: boolean): Promise<Words | null> {
  const k = column(frame, "_k0");
  if (k.nullCount() > 0) return null;
  if (merge === "doubles") return doubleWords(k);
  // 32-bit columns reach JavaScript as typed arrays at memory speed, 64-bit ones about ten times slower
  if (small) return { hi: new Int32Array(k.len()), lo: k.cast(pl.Int32).rechunk().toTypedArray() as Int32Array };
  // floor modulo: k = hi·2^32 + lo exactly for every Int64 (k − lo is a multiple of 2^32, exact as a double)
  const v = col("_k0").cast(pl.Int64);
  const lo = v.modulo(pl.lit(TWO_32).cast(pl.Int64));
  const out = await frame.lazy().select(v.sub(lo).cast(pl.Float64).div(TWO_32).cast(pl.Int32).alias("hi"), lo.cast(pl.UInt32).alias("lo")).collect();
  return { hi: column(out, "hi").rechunk().toTypedArray() as Int32Array, lo: column(out, "lo").rechunk().toTypedArray() as Uint32Array };
}

/** True when every key is greater than the one before (sorted by key, so no repeats). */
function strictlyAscending({ hi, lo }: Words): boolean {
  for (let i = 1; i < hi.length; i++) {
    const h0 = hi[i - 1] as number;
    const h1 = hi[i] as number;
    if (h0 > h1 || (h0 === h1 && (lo[i - 1] as number) >= (lo[i] as number))) return false;
  }
  return true;
}

/**
 * Matching by a merge of the two key arrays, with no hash join: for one numeric key that is
 * strictly ascending in both versions (versions stored in key order, the common case; such keys
 * are unique). Null when it does not apply (nulls, NaN, not ascending).
 */
/** Both versions' key words, or null when the key is not mergeable or has nulls or NaN. */
async function keyWordsOf(a: pl.DataFrame, b: pl.DataFrame, merge: MergeKind): Promise<[Words, Words] | null> {
  if (merge === null) return null;
  const small = merge === "integers" && fitsInt32(a) && fitsInt32(b);
  const [x, y] = await Promise.all([keyWords(a, merge, small), keyWords(b, merge, small)]);
  return x && y ? [x, y] : null;
}

function mergeMatch([x, y]: [Words, Words]): Matching | null {
  if (!strictlyAscending(x) || !strictlyAscending(y)) return null;
  const nx = x.hi.length;
  const ny = y.hi.length;
  const ia = new Uint32Array(Math.min(nx, ny));
  const ib = new Uint32Array(ia.length);
  const removed = new Uint32Array(nx);
  const added = new Uint32Array(ny);
  let i = 0;
  let j = 0;
  let m = 0;
  let r = 0;
  let n = 0;
  while (i < nx && j < ny) {
    const p = x.hi[i] as number;
    const q = y.hi[j] as number;
    const pw = x.lo[i] as number;
    const qw = y.lo[j] as number;
    if (p === q && pw === qw) {
      ia[m] = i++;
      ib[m++] = j++;
    } else if (p < q || (p === q && pw < qw)) removed[r++] = i++;
    else added[n++] = j++;
  }
  while (i < nx) removed[r++] = i++;
  while (j < ny) added[n++] = j++;
  return { ia: ia.subarray(0, m), ib: ib.subarray(0, m), removed: removed.subarray(0, r), added: added.subarray(0, n), ordered: true };
}

/**
 * Matching by any key, the exact fallback (repeated or float keys, versions in different orders,
 * a key-hash collision): one left join of `to`'s key columns onto `from`'s (key columns only,
 * nulls equal, uniqueness checked by the join), which keeps `to`'s row order, so the k-th answer
 * is the `from` row of `to`'s k-th row.
 */
async function joinMatch(a: pl.DataFrame, b: pl.DataFrame, keyCount: number, validate: "1:1" | "m:m" = "1:1"): Promise<Matching> {
  const on = Array.from({ length: keyCount }, (_, j) => `_k${j}`);
  const right = a.lazy().select(...on.map(col)).withRowIndex("_ia");
  const out = await b
    .lazy()
    .select(...on.map(col))
    .join(right, { how: "left", on, nullsEqual: true, validate, maintainOrder: "left" })
    .select(col("_ia").cast(pl.Int32).fillNull(-1))
    .collect();
  const match = (frameSeries(out)[0] as pl.Series).rechunk().toTypedArray() as Int32Array;
  return matchingOf(match, (frameSeries(a)[0] as pl.Series).len());
}

/** The matching given, for each row of `to`, its row in `from` or -1. */
function matchingOf(match: Int32Array, heightA: number): Matching {
  const inA = new Uint8Array(heightA);
  const ia = new Uint32Array(Math.min(heightA, match.length));
  const ib = new Uint32Array(ia.length);
  const added = new Uint32Array(match.length);
  let m = 0;
  let n = 0;
  let last = -1;
  let ordered = true;
  for (let j = 0; j < match.length; j++) {
    const i = match[j] as number;
    if (i < 0) {
      added[n++] = j;
      continue;
    }
    inA[i] = 1;
    if (i < last) ordered = false;
    last = i;
    ia[m] = i;
    ib[m++] = j;
  }
  const removed = new Uint32Array(heightA - m);
  for (let i = 0, r = 0; i < heightA; i++) if (inA[i] === 0) removed[r++] = i;
  return { ia: ia.subarray(0, m), ib: ib.subarray(0, m), removed, added: added.subarray(0, n), ordered };
}

/**
 * One version's compared columns on its matched rows, in stored order: the frame itself when
 * every row matched, a slice when the unmatched rows all come after the matched ones (rows
 * appended), else one filter by mask.
 */
function matchedInOrder(frame: pl.DataFrame, columns: pl.Expr[], rows: Uint32Array, unmatched: Uint32Array): pl.LazyDataFrame {
  const lf = frame.lazy().select(...columns);
  const m = rows.length;
  if (unmatched.length === 0) return lf;
  if ((unmatched[0] as number) >= m) return lf.slice(0, m);
  const mask = new Uint8Array(m + unmatched.length);
  for (let k = 0; k < m; k++) mask[rows[k] as number] = 1;
  // a typed array becomes a Series without a copy per element
  return (frame.select(...columns).hstack([pl.Series("_m", mask).cast(pl.Bool)]) as unknown as pl.DataFrame).lazy().filter(col("_m")).drop("_m");
}

/**
 * A keyed diff: each version read once (key + compared columns), rows matched by key (a merge of
 * the two key arrays for one ascending numeric key, else key hashes, else a key-only join), then
 * the values of the matched rows compared exactly (`changedPairs`).
 */
async function keyedDiff(from: Side, to: Side, keys: Pair[], pairs: Pair[], rowHash: RowHash): Promise<{ positions: DiffPositions; fromHeight: number }> {
  const keyed = new Set(keys.map((p) => p.name));
  const others = pairs.filter((p) => !keyed.has(p.name));
  const merge = mergeKind(keys, from, to);
  const [a, b] = await Promise.all([keyedFrame(from, keys, others, "a"), keyedFrame(to, keys, others, "b")]);
  const words = await keyWordsOf(a, b, merge);
  // an integer key's words are the key itself: matched without hashing, and no collision to rule out
  const match = (words && mergeMatch(words)) ?? (await keyHashMatch(a, b, keys, rowHash, merge === "integers" ? words : null)) ?? (await joinMatch(a, b, keys.length));
  const changed = await changedPairs(a, b, match, columnsOf(others, from, to));
  const positions = {
    added: match.added,
    removed: match.removed,
    changedFrom: Uint32Array.from(changed, (n) => match.ia[n] as number),
    changedTo: Uint32Array.from(changed, (n) => match.ib[n] as number),
  };
  return { positions, fromHeight: match.ia.length + match.removed.length };
}

/**
 * Matching by key hashes, for keys the merge does not take (text, several columns, unsorted):
 * one UInt64 hash of the key columns per row (for one integer key, its exact words instead), the in-order pass of `matchByHash` (versions
 * mostly keep their rows' order, so few rows need a hash table), then exactness proven: every
 * hash unique within its version (so keys are unique) and every matched pair's key columns
 * equal. Null when a hash repeats (a repeated key or a collision), a matched pair's keys
 * differ (a collision), the versions' rows are in different orders, or a key is a float (NaN and -0.0 are the join's to match): then the
 * key-only join decides, and names a repeated key.
 */
async function keyHashMatch(a: pl.DataFrame, b: pl.DataFrame, keys: Pair[], rowHash: RowHash, exact: [Words, Words] | null): Promise<Matching | null> {
  const on = keys.map((_, j) => `_k${j}`);
  if (on.some((k) => FLOATS.has(variantOf(column(a, k).dtype)) || FLOATS.has(variantOf(column(b, k).dtype)))) return null;
  const unique = async (frame: pl.DataFrame, h: pl.Series) => {
    const out = await pl.DataFrame([h.alias("_h")]).lazy().select(col("_h").nUnique().cast(pl.Float64).alias("n")).collect();
    return Number(frameSeries(out)[0]?.toArray()[0]) === (frameSeries(frame)[0] as pl.Series).len();
  };
  const [ha, hb] = exact ? [column(a, "_k0"), column(b, "_k0")] : [rowHash(a.select(...on)), rowHash(b.select(...on))];
  const [x, y] = exact ?? (await Promise.all([hashWordsOf(ha), hashWordsOf(hb)]));
  // versions in different orders: the join is faster than pairing most rows in JavaScript
  const byHash = matchByHash(x, y, Math.max(1024, (x.hi.length + y.hi.length) / 8));
  if (!byHash) return null;
  const [ua, ub] = await Promise.all([unique(a, ha), unique(b, hb)]);
  if (!ua || !ub) return null;
  const match = matchingOf(byHash, x.hi.length);
  if (exact) return match;
  const keysDiffer = await changedPairs(a, b, match, on.map((k) => ({ a: k, b: k, cmp: { kind: "same" } })));
  return keysDiffer.length === 0 ? match : null;
}

/** One compared column: its name in `from`'s frame and in `to`'s, and how its values compare. */
interface Compared {
  a: string;
  b: string;
  cmp: Comparison;
}

function columnsOf(pairs: Pair[], from: Side, to: Side): Compared[] {
  return pairs.map((p) => ({ a: from.refs[p.a] as string, b: to.refs[p.b] as string, cmp: p.cmp }));
}

/**
 * Which matched pairs differ in a compared column (their indexes in `match`), compared exactly,
 * column by column, with both versions' matched rows side by side — in stored order when the
 * matching keeps it (a filter or slice per side, no gather), else `from`'s gathered into `to`'s
 * order.
 */
async function changedPairs(a: pl.DataFrame, b: pl.DataFrame, match: Matching, compared: Compared[]): Promise<Uint32Array> {
  if (compared.length === 0 || match.ia.length === 0) return new Uint32Array(0);
  // frames may share names (key columns): the two sides are named apart
  const nameA = (i: number) => `_ca${i}`;
  const nameB = (i: number) => `_cb${i}`;
  const colsA = compared.map((c, i) => col(c.a).alias(nameA(i)));
  const colsB = compared.map((c, i) => col(c.b).alias(nameB(i)));
  let left: pl.LazyDataFrame;
  if (match.ordered) left = matchedInOrder(a, colsA, match.ia, match.removed);
  else {
    const at = pl.Series("_g", match.ia as unknown as number[], pl.UInt32);
    left = a.lazy().select(...compared.map((c, i) => col(c.a).gather(at).alias(nameA(i))));
  }
  const right = matchedInOrder(b, colsB, match.ib, match.added);
  const nullable = (c: Compared) => column(a, c.a).nullCount() > 0 || column(b, c.b).nullCount() > 0;
  const anyChanged = pl.anyHorizontal(compared.map((c, i) => differs(nameA(i), nameB(i), c.cmp, nullable(c))));
  const out = await (pl.concat([left, right], { how: "horizontal" }) as pl.LazyDataFrame).withRowIndex("_n").filter(anyChanged).select(col("_n")).collect();
  return (frameSeries(out)[0] as pl.Series).rechunk().toTypedArray() as Uint32Array;
}


/** Row hashes (UInt64) of a frame of key columns or of the shared columns' normalised values (`diffFrames`' option, for tests). */
export type RowHash = (values: pl.DataFrame) => pl.Series;

const defaultRowHash: RowHash = (values) => values.hashRows(0x2545f491, 0x4f6cdd1d, 0x1b873593, 0x6b43a9b5);

/** A shared column's values as hashed: normalised like `differs` compares them (0.0 for -0.0, one NaN). */
function hashedValue(ref: string, p: Pair, dtype: pl.DataType, which: "a" | "b"): pl.Expr {
  // incomparable types: only a null in both versions is equal
  if (p.cmp.kind === "none") return pl.when(col(ref).isNull()).then(pl.lit(null)).otherwise(pl.lit(which)).cast(pl.String);
  const e = normalized(ref, p.cmp);
  const to = p.cmp.kind === "cast" ? p.cmp.to : dtype;
  return FLOATS.has(variantOf(to)) ? e.fillNan(pl.lit(Number.NaN)).add(pl.lit(0).cast(to)) : e;
}

/** Row hashes (UInt64), in row order, as 32-bit words (hi, lo). */
async function hashWordsOf(hashes: pl.Series): Promise<HashWords> {
  const h = col("_h");
  const lo = h.modulo(pl.lit(TWO_32).cast(pl.UInt64));
  const out = await pl
    .DataFrame([hashes.cast(pl.UInt64).alias("_h")])
    .lazy()
    // h − lo is a multiple of 2^32 below 2^64: exact as a double
    .select(h.sub(lo).cast(pl.Float64).div(TWO_32).cast(pl.UInt32).alias("hi"), lo.cast(pl.UInt32).alias("lo"))
    .collect();
  const [hi, low] = frameSeries(out).map((s) => s.rechunk().toTypedArray() as Uint32Array) as [Uint32Array, Uint32Array];
  return { hi, lo: low };
}

type HashWords = { hi: Uint32Array | Int32Array; lo: Uint32Array | Int32Array };

/** How far ahead the in-order pass looks for the other version's current row (rows added or removed in place). */
const LOOKAHEAD = 16;

/**
 * For each row of `to`, a row of `from` with the same hash, or -1, pairing as many rows of each
 * hash as both versions have. Versions mostly keep their rows' order, so one pass walks both in
 * order, pairing equal hashes and stepping over rows added or removed in place (a short look
 * ahead); the rows it steps over are then paired through a hash table (`pairRest`). Null when
 * more than `giveUpAfter` rows are stepped over (versions in different orders).
 */
function matchByHash(x: HashWords, y: HashWords, giveUpAfter = Infinity): Int32Array | null {
  const nx = x.hi.length;
  const ny = y.hi.length;
  const match = new Int32Array(ny).fill(-1);
  const restA: number[] = [];
  const restB: number[] = [];
  const same = (i: number, j: number) => x.lo[i] === y.lo[j] && x.hi[i] === y.hi[j];
  let i = 0;
  let j = 0;
  while (i < nx && j < ny) {
    if (same(i, j)) {
      match[j++] = i++;
      continue;
    }
    let skipA = 0;
    let skipB = 0;
    for (let d = 1; d <= LOOKAHEAD && skipA === 0 && skipB === 0; d++) {
      if (i + d < nx && same(i + d, j)) skipA = d;
      else if (j + d < ny && same(i, j + d)) skipB = d;
    }
    if (skipA > 0) while (skipA-- > 0) restA.push(i++);
    else if (skipB > 0) while (skipB-- > 0) restB.push(j++);
    else {
      // a changed row: one removed, one added
      restA.push(i++);
      restB.push(j++);
    }
    if (restA.length + restB.length > giveUpAfter) return null;
  }
  while (i < nx) restA.push(i++);
  while (j < ny) restB.push(j++);
  pairRest(x, y, restA, restB, match);
  return match;
}

/**
 * Pairs rows of `from` (restA) and `to` (restB) with equal hashes, the k-th of a hash in restB
 * with the k-th in restA: one open-addressing table of restA's distinct hashes, each slot four
 * words (hi, lo, 1 + the first unclaimed row's index in restA or 0, occupied) so that a probe
 * reads one cache line.
 */
function pairRest(x: HashWords, y: HashWords, restA: number[], restB: number[], match: Int32Array): void {
  if (restA.length === 0 || restB.length === 0) return;
  const size = 2 ** Math.max(4, Math.ceil(Math.log2(2 * restA.length + 1)));
  const wrap = 4 * size - 1;
  const table = new Int32Array(4 * size);
  const next = new Int32Array(restA.length);
  const slotOf = (hi: number, lo: number): number => {
    let s = (lo & (size - 1)) << 2;
    while (table[s + 3] === 1 && (table[s] !== hi || table[s + 1] !== lo)) s = (s + 4) & wrap;
    return s;
  };
  // inserted last first, so that each hash's list is in row order
  for (let k = restA.length - 1; k >= 0; k--) {
    const row = restA[k] as number;
    const hi = (x.hi[row] as number) | 0;
    const lo = (x.lo[row] as number) | 0;
    const s = slotOf(hi, lo);
    if (table[s + 3] === 1) next[k] = table[s + 2] as number;
    else {
      table[s] = hi;
      table[s + 1] = lo;
      table[s + 3] = 1;
    }
    table[s + 2] = k + 1;
  }
  for (const row of restB) {
    const s = slotOf((y.hi[row] as number) | 0, (y.lo[row] as number) | 0);
    const first = table[s + 3] === 1 ? (table[s + 2] as number) : 0;
    if (first === 0) continue;
    match[row] = restA[first - 1] as number;
    table[s + 2] = next[first - 1] as number;
  }
}

/**
 * Whole-row multisets by row hash: each version read once (its shared columns), its rows hashed,
 * the k-th row of a hash in `to` matched to the k-th in `from` (`matchByHash`), then every matched pair confirmed equal on every shared column
 * (the same exact comparison as a keyed diff). When all are equal the result is exact: equal
 * rows always hash alike, so no unmatched row of `from` equals an unmatched row of `to`. When any
 * pair differs (a hash collision), or no column is shared, null: the caller falls back to the
 * exact join on every column.
 */
async function hashedMultisetDiff(from: Side, to: Side, pairs: Pair[], rowHash: RowHash): Promise<{ positions: DiffPositions; fromHeight: number } | null> {
  // no shared column: every row equals every other; the join path counts them
  if (pairs.length === 0) return null;
  const hashed = pairs.map((_, i) => `_h${i}`);
  const frame = (side: Side, which: "a" | "b") => {
    const index = (p: Pair) => (which === "a" ? p.a : p.b);
    return side.lf
      .select(...pairs.map((p) => col(side.refs[index(p)] as string)), ...pairs.map((p, i) => hashedValue(side.refs[index(p)] as string, p, side.dtypes[index(p)] as pl.DataType, which).alias(hashed[i] as string)))
      .collect();
  };
  const [a, b] = await Promise.all([frame(from, "a"), frame(to, "b")]);
  const [x, y] = await Promise.all([hashWordsOf(rowHash(a.select(...hashed))), hashWordsOf(rowHash(b.select(...hashed)))]);
  const match = matchByHash(x, y) as Int32Array;
  const matching = matchingOf(match, x.hi.length);
  const changed = await changedPairs(a, b, matching, columnsOf(pairs, from, to));
  if (changed.length > 0) return null;
  const none = new Uint32Array(0);
  return { positions: { added: matching.added, removed: matching.removed, changedFrom: none, changedTo: none }, fromHeight: x.hi.length };
}

/**
 * Matches whole rows as multisets: the k-th occurrence of a row in `from` pairs with the k-th
 * occurrence of the same row in `to` (one full join on shared columns + occurrence number).
 */
function multisetDiff(from: Side, to: Side, pairs: Pair[]): pl.LazyDataFrame {
  const prepared = (side: Side, which: "a" | "b") =>
    side.lf.withRowIndex(`_i${which}`).select(
      col(`_i${which}`),
      ...pairs.map((p, i) => {
        const ref = side.refs[which === "a" ? p.a : p.b] as string;
        // incomparable types: only a null in both versions is equal
        const e = p.cmp.kind === "none" ? pl.when(col(ref).isNull()).then(pl.lit(null)).otherwise(pl.lit(which)).cast(pl.String) : normalized(ref, p.cmp);
        return e.alias(`_c${which}${i}`);
      }),
    );
  const withOccurrence = (lf: pl.LazyDataFrame, which: "a" | "b") => {
    const occ = pl.intRange(pl.len());
    const parts = pairs.map((_, i) => `_c${which}${i}`);
    return lf.withColumns((parts.length === 0 ? occ : occ.over(parts[0] as string, ...parts.slice(1))).alias(`_o${which}`));
  };
  const left = withOccurrence(prepared(from, "a"), "a");
  const right = withOccurrence(prepared(to, "b"), "b");
  const on = (which: "a" | "b") => [...pairs.map((_, i) => `_c${which}${i}`), `_o${which}`];
  const joined = left.join(right, { how: "full", leftOn: on("a"), rightOn: on("b"), nullsEqual: true, coalesce: false });
  const kind = pl.when(col("_ib").isNull()).then(pl.lit(KIND_REMOVED)).otherwise(pl.lit(KIND_ADDED)).alias("_kind");
  return joined.filter(col("_ia").isNull().or(col("_ib").isNull())).select(col("_ia"), col("_ib"), kind);
}

/**
 * Compares two versions. `key` empty → whole-row multiset comparison. `labels` name the versions
 * in error messages (e.g. their numbers).
 */
export async function diffFrames(
  fromLf: pl.LazyDataFrame,
  toLf: pl.LazyDataFrame,
  key: string[] = [],
  labels: { from: string; to: string } = { from: "from", to: "to" },
  options: { rowHash?: RowHash } = {},
): Promise<DiffResult> {
  const [from, to] = await Promise.all([sideOf(fromLf, "a"), sideOf(toLf, "b")]);
  const { schema, pairs } = schemaDiff(from, to);
  let positions: DiffPositions;
  let fromHeight: number;
  if (key.length > 0) {
    const keys = keyPairs(key, pairs, from, to);
    try {
      ({ positions, fromHeight } = await keyedDiff(from, to, keys, pairs, options.rowHash ?? defaultRowHash));
    } catch (err) {
      if (!/1:1 validation/.test(String(err))) throw err;
      // only now pay for finding which key repeats, to name it
      await assertUniqueKey(from, keys, "from", labels.from);
      await assertUniqueKey(to, keys, "to", labels.to);
      throw err;
    }
  } else {
    const hashed = await hashedMultisetDiff(from, to, pairs, options.rowHash ?? defaultRowHash);
    if (hashed) ({ positions, fromHeight } = hashed);
    else [positions, fromHeight] = await Promise.all([positionsOf(multisetDiff(from, to, pairs)), from.height()]);
  }
  const changed = positions.changedTo.length;
  const removed = positions.removed.length;
  return {
    key,
    schema,
    rows: { added: positions.added.length, removed, changed, unchanged: fromHeight - removed - changed },
    positions,
  };
}

export interface DiffRowsPage {
  /** Columns of the rows: `to`'s for added, `from`'s for removed, the shared ones for changed. */
  columns: DiffColumn[];
  /** JSON text of the `rows` array. */
  rowsJson: string;
  totalRows: number;
  rowCount: number;
}

/** A list literal of row positions for `isIn` (a bare Series there is deprecated as ambiguous; `lit` of a Series is one list value). */
function positionList(positions: Uint32Array): pl.Expr {
  return pl.lit(pl.Series("_p", Array.from(positions), pl.UInt32));
}

/** Rows at `positions` (ascending or not) of one side, as JSON texts in the order of `positions`. */
async function rowsAt(side: Side, positions: Uint32Array): Promise<string[]> {
  if (positions.length === 0) return [];
  const all = side.names.map((_, i) => i);
  const out = await side.lf
    .withRowIndex("_p")
    .filter(col("_p").isIn(positionList(positions)))
    .select(col("_p"), rowJsonExpr(side, all).alias("_json"))
    .collect();
  const [p, json] = frameSeries(out).map((s) => s.toArray()) as [number[], string[]];
  const byPosition = new Map(p.map((x, i) => [x, json[i] as string]));
  return Array.from(positions, (x) => byPosition.get(x) as string);
}

/**
 * Changed rows `{key, from, to, columns}`: both rows of each pair, and which shared columns
 * differ, computed on the page's pairs only.
 */
async function changedRows(from: Side, to: Side, result: DiffResult, ia: Uint32Array, ib: Uint32Array): Promise<string[]> {
  if (ia.length === 0) return [];
  const { pairs } = schemaDiff(from, to);
  const keyed = new Set(result.key);
  const keys = result.key.map((k) => pairs.find((p) => p.name === k) as Pair);
  const compared = pairs.filter((p) => !keyed.has(p.name));
  const page = pl.DataFrame([pl.Series("_n", Array.from(ia, (_, i) => i), pl.UInt32), pl.Series("_ia", Array.from(ia), pl.UInt32), pl.Series("_ib", Array.from(ib), pl.UInt32)]);
  const pick = (lf: pl.LazyDataFrame, idx: "_ia" | "_ib", wanted: Uint32Array) => lf.withRowIndex(idx).filter(col(idx).isIn(positionList(wanted)));
  const joined = page.lazy().join(pick(from.lf, "_ia", ia), { how: "left", on: "_ia" }).join(pick(to.lf, "_ib", ib), { how: "left", on: "_ib" });
  const all = (side: Side) => side.names.map((_, i) => i);
  const out = await joined
    .sort("_n")
    .select(
      rowJsonExpr(to, keys.map((p) => p.b)).alias("_key"),
      rowJsonExpr(from, all(from)).alias("_from"),
      rowJsonExpr(to, all(to)).alias("_to"),
      ...compared.map((p, i) => differs(from.refs[p.a] as string, to.refs[p.b] as string, p.cmp).alias(`_d${i}`)),
    )
    .collect();
  const series = frameSeries(out).map((s) => s.toArray());
  const [keyJson, fromJson, toJson] = series as [string[], string[], string[]];
  const flags = series.slice(3) as boolean[][];
  return keyJson.map((k, r) => {
    const names = compared.filter((_, i) => flags[i]?.[r] === true).map((p) => JSON.stringify(p.name));
    return `{"key":${k},"from":${fromJson[r]},"to":${toJson[r]},"columns":[${names.join(",")}]}`;
  });
}

/** One page of the differing rows of `kind`, in the stable order of `result.positions`. */
export async function diffRowsPage(fromLf: pl.LazyDataFrame, toLf: pl.LazyDataFrame, result: DiffResult, kind: DiffKind, offset: number, limit: number): Promise<DiffRowsPage> {
  const [from, to] = await Promise.all([sideOf(fromLf, "a"), sideOf(toLf, "b")]);
  const p = result.positions;
  let rows: string[];
  let totalRows: number;
  let columns: DiffColumn[];
  if (kind === "added") {
    totalRows = p.added.length;
    rows = await rowsAt(to, p.added.subarray(offset, offset + limit));
    columns = to.names.map((name, i) => ({ name, dtype: to.dtypeNames[i] as string }));
  } else if (kind === "removed") {
    totalRows = p.removed.length;
    rows = await rowsAt(from, p.removed.subarray(offset, offset + limit));
    columns = from.names.map((name, i) => ({ name, dtype: from.dtypeNames[i] as string }));
  } else {
    totalRows = p.changedTo.length;
    rows = await changedRows(from, to, result, p.changedFrom.subarray(offset, offset + limit), p.changedTo.subarray(offset, offset + limit));
    columns = schemaDiff(from, to).pairs.map((pair) => ({ name: pair.name, dtype: to.dtypeNames[pair.b] as string }));
  }
  return { columns, rowsJson: `[${rows.join(",")}]`, totalRows, rowCount: rows.length };
}

/** Per shared column, `[from, to]` of the statistics that say most about drift. */
export interface ColumnDrift {
  name: string;
  nullCount: [number | null, number | null];
  distinctCount: [number | null, number | null];
  mean?: [number | null, number | null];
  min?: [number | string | null, number | string | null];
  max?: [number | string | null, number | string | null];
}

/**
 * Statistics drift of the columns both versions have (in `from`'s order), from each version's
 * stored statistics. `mean`/`min`/`max` appear when either version has them.
 */
export function statsDrift(from: { columns: ColumnStats[] }, to: { columns: ColumnStats[] }): ColumnDrift[] {
  const toByName = new Map(to.columns.map((c) => [c.name, c]));
  const out: ColumnDrift[] = [];
  for (const a of from.columns) {
    const b = toByName.get(a.name);
    if (!b) continue;
    const drift: ColumnDrift = { name: a.name, nullCount: [a.nullCount, b.nullCount], distinctCount: [a.distinctCount, b.distinctCount] };
    if (a.mean !== undefined || b.mean !== undefined) drift.mean = [a.mean ?? null, b.mean ?? null];
    if (a.min !== undefined || b.min !== undefined) drift.min = [a.min ?? null, b.min ?? null];
    if (a.max !== undefined || b.max !== undefined) drift.max = [a.max ?? null, b.max ?? null];
    out.push(drift);
  }
  return out;
}
