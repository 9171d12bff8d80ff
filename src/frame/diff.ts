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
 * Cost: with one numeric key that is strictly ascending in both versions (versions stored in key
 * order, the common case), rows match by a merge of the two key arrays and the matched rows are
 * compared exactly in stored order (`sortedKeyDiff`): one read of each version plus a vectorised
 * comparison. Otherwise one Polars full join on the key (`keyedDiff`), which also finds repeated
 * and null keys.
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
  height: number;
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
  const heightFrame = await lf.select(pl.len().alias("n")).collect();
  const height = Number(frameSeries(heightFrame)[0]?.toArray()[0] ?? 0);
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
function differs(aRef: string, bRef: string, cmp: Comparison): pl.Expr {
  if (cmp.kind === "none") return col(aRef).isNull().and(col(bRef).isNull()).not();
  const a = normalized(aRef, cmp);
  const b = normalized(bRef, cmp);
  return a.neq(b).fillNull(a.isNull().neq(b.isNull()));
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
const KIND_CHANGED = 3;

/** `_ia`, `_ib`, `_kind` of the differing rows → positions in page order. */
async function positionsOf(differing: pl.LazyDataFrame): Promise<DiffPositions> {
  const out = await differing.collect();
  const [ia, ib, kind] = frameSeries(out).map((s) => s.toArray() as (number | null)[]) as [(number | null)[], (number | null)[], number[]];
  const added: number[] = [];
  const removed: number[] = [];
  const changed: [number, number][] = [];
  for (let r = 0; r < kind.length; r++) {
    if (kind[r] === KIND_ADDED) added.push(ib[r] as number);
    else if (kind[r] === KIND_REMOVED) removed.push(ia[r] as number);
    else changed.push([ia[r] as number, ib[r] as number]);
  }
  const byNumber = (x: number, y: number) => x - y;
  changed.sort((x, y) => x[1] - y[1]);
  return {
    added: Uint32Array.from(added).sort(byNumber),
    removed: Uint32Array.from(removed).sort(byNumber),
    changedFrom: Uint32Array.from(changed, (p) => p[0]),
    changedTo: Uint32Array.from(changed, (p) => p[1]),
  };
}

/** Matches by key: one full join on the (normalised) key columns, nulls equal. */
function keyedDiff(from: Side, to: Side, keys: Pair[], pairs: Pair[]): pl.LazyDataFrame {
  const keyed = new Set(keys.map((p) => p.name));
  const compared = pairs.filter((p) => !keyed.has(p.name));
  const left = from.lf
    .withRowIndex("_ia")
    .select(col("_ia"), ...keys.map((p, j) => normalized(from.refs[p.a] as string, p.cmp).alias(`_ka${j}`)), ...compared.map((p) => col(from.refs[p.a] as string)));
  const right = to.lf
    .withRowIndex("_ib")
    .select(col("_ib"), ...keys.map((p, j) => normalized(to.refs[p.b] as string, p.cmp).alias(`_kb${j}`)), ...compared.map((p) => col(to.refs[p.b] as string)));
  const joined = left.join(right, {
    how: "full",
    leftOn: keys.map((_, j) => `_ka${j}`),
    rightOn: keys.map((_, j) => `_kb${j}`),
    nullsEqual: true,
    coalesce: false,
    // uniqueness is checked inside the join (nulls count as equal); the caller names a duplicate
    validate: "1:1",
  });
  const anyChanged = compared.length === 0 ? pl.lit(false) : pl.anyHorizontal(compared.map((p) => differs(from.refs[p.a] as string, to.refs[p.b] as string, p.cmp)));
  const kind = pl
    .when(col("_ib").isNull()).then(pl.lit(KIND_REMOVED))
    .when(col("_ia").isNull()).then(pl.lit(KIND_ADDED))
    .when(anyChanged).then(pl.lit(KIND_CHANGED))
    .otherwise(pl.lit(0))
    .alias("_kind");
  return joined.select(col("_ia"), col("_ib"), kind).filter(col("_kind").neq(0));
}

/** A key column's values in stored order: Int64 as bigint, floats as numbers. */
type KeyValues = BigInt64Array | Float64Array;

/** True when every value is greater than the one before (sorted by key, no repeats, no NaN). */
function strictlyAscending(keys: KeyValues): boolean {
  if (keys.length > 0 && Number.isNaN(keys[0])) return false;
  // NaN compares false both ways: `!(a < b)` catches it
  for (let i = 1; i < keys.length; i++) if (!((keys[i - 1] as number) < (keys[i] as number))) return false;
  return true;
}

/** True when no value is beyond ±2^53 (an integer cast to a double there may have been rounded). */
function exactAsDouble(keys: Float64Array): boolean {
  for (let i = 0; i < keys.length; i++) if (Math.abs(keys[i] as number) >= 2 ** 53) return false;
  return true;
}

/**
 * One side's key (cast to `as`, first column `_k`) and compared columns, read in one pass; null
 * when the key has nulls (then the join path handles them).
 */
async function keyAndValues(side: Side, index: number, as: pl.DataType, refs: string[]): Promise<{ keys: KeyValues; frame: pl.DataFrame } | null> {
  const frame = await side.lf.select(col(side.refs[index] as string).cast(as).alias("_k"), ...refs.map(col)).collect();
  const series = frameSeries(frame)[0] as pl.Series;
  if (series.nullCount() > 0) return null;
  return { keys: series.rechunk().toTypedArray() as KeyValues, frame };
}

/**
 * The fast path of a keyed diff (the common case of versions stored in key order): one numeric
 * key column, strictly ascending in both versions, so keys are unique and rows match by one
 * merge of the two key arrays, with no hash join. The matched rows then appear in the same order
 * in both versions, so the values are compared exactly, column by column, on both versions'
 * matched rows in stored order (a filter, not a gather). Null when it does not apply.
 */
async function sortedKeyDiff(from: Side, to: Side, keys: Pair[], pairs: Pair[]): Promise<DiffPositions | null> {
  const k = keys[0];
  if (keys.length !== 1 || !k || k.cmp.kind === "none") return null;
  const va = variantOf(from.dtypes[k.a] as pl.DataType);
  const vb = variantOf(to.dtypes[k.b] as pl.DataType);
  const integers = INTEGERS.has(va) && INTEGERS.has(vb) && va !== "UInt64" && vb !== "UInt64";
  // integers exactly as Int64; floats (and integers compared with floats) as Float64, like the join path
  const numeric = (v: string) => INTEGERS.has(v) || FLOATS.has(v);
  if (!integers && !(numeric(va) && numeric(vb) && (FLOATS.has(va) || FLOATS.has(vb)))) return null;
  const keyed = new Set(keys.map((p) => p.name));
  const compared = pairs.filter((p) => !keyed.has(p.name));
  const read = (as: pl.DataType) =>
    Promise.all([keyAndValues(from, k.a, as, compared.map((p) => from.refs[p.a] as string)), keyAndValues(to, k.b, as, compared.map((p) => to.refs[p.b] as string))]);
  // Integer keys are merged as doubles (number comparisons are many times faster than bigint
  // ones) when every key is within ±2^53, where doubles hold integers exactly; else as Int64.
  let [a, b] = await read(pl.Float64);
  if (integers && a && b && !(exactAsDouble(a.keys as Float64Array) && exactAsDouble(b.keys as Float64Array))) [a, b] = await read(pl.Int64);
  if (!a || !b || !strictlyAscending(a.keys) || !strictlyAscending(b.keys)) return null;
  const x = a.keys;
  const y = b.keys;

  const inA = new Uint8Array(x.length);
  const inB = new Uint8Array(y.length);
  const matchedA = new Uint32Array(Math.min(x.length, y.length));
  const matchedB = new Uint32Array(matchedA.length);
  const removed: number[] = [];
  const added: number[] = [];
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < x.length && j < y.length) {
    const p = x[i] as number;
    const q = y[j] as number;
    // -0.0 === 0.0, as the join path matches them
    if (p === q) {
      inA[i] = 1;
      inB[j] = 1;
      matchedA[m] = i++;
      matchedB[m++] = j++;
    } else if (p < q) removed.push(i++);
    else added.push(j++);
  }
  while (i < x.length) removed.push(i++);
  while (j < y.length) added.push(j++);

  let changed: ArrayLike<number> = new Uint32Array(0);
  if (compared.length > 0 && m > 0) {
    // both versions' matched rows, in stored (= key) order, side by side: no gather, no join
    const matchedRows = (frame: pl.DataFrame, mask: Uint8Array, all: boolean): pl.LazyDataFrame => {
      if (all) return frame.lazy().drop("_k");
      // a typed array becomes a Series without a copy per element (nodejs-polars takes it as is)
      const withMask = frame.hstack([pl.Series("_m", mask as unknown as number[], pl.UInt8)]) as unknown as pl.DataFrame;
      return withMask.lazy().filter(col("_m").eq(1)).drop("_m", "_k");
    };
    const side = pl.concat([matchedRows(a.frame, inA, removed.length === 0), matchedRows(b.frame, inB, added.length === 0)], { how: "horizontal" }) as pl.LazyDataFrame;
    const anyChanged = pl.anyHorizontal(compared.map((p) => differs(from.refs[p.a] as string, to.refs[p.b] as string, p.cmp)));
    const out = await side.withRowIndex("_n").filter(anyChanged).select(col("_n")).collect();
    changed = (frameSeries(out)[0] as pl.Series).rechunk().toTypedArray() as Uint32Array;
  }
  return {
    added: Uint32Array.from(added),
    removed: Uint32Array.from(removed),
    changedFrom: Uint32Array.from(changed, (n) => matchedA[n] as number),
    changedTo: Uint32Array.from(changed, (n) => matchedB[n] as number),
  };
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
): Promise<DiffResult> {
  const [from, to] = await Promise.all([sideOf(fromLf, "a"), sideOf(toLf, "b")]);
  const { schema, pairs } = schemaDiff(from, to);
  let positions: DiffPositions;
  if (key.length > 0) {
    const keys = keyPairs(key, pairs, from, to);
    try {
      positions = (await sortedKeyDiff(from, to, keys, pairs)) ?? (await positionsOf(keyedDiff(from, to, keys, pairs)));
    } catch (err) {
      if (!/1:1 validation/.test(String(err))) throw err;
      // only now pay for finding which key repeats, to name it
      await assertUniqueKey(from, keys, "from", labels.from);
      await assertUniqueKey(to, keys, "to", labels.to);
      throw err;
    }
  } else {
    positions = await positionsOf(multisetDiff(from, to, pairs));
  }
  const changed = positions.changedTo.length;
  const removed = positions.removed.length;
  return {
    key,
    schema,
    rows: { added: positions.added.length, removed, changed, unchanged: from.height - removed - changed },
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
