/**
 * `filter=col:op:value` and `sort=a,-b` parsed into Polars expressions. User text only ever
 * becomes literal values (validated and typed here), never code, regexes or column patterns.
 *
 * Values are compared in the column's dtype:
 * - integers: decimal digits with an optional sign, within the column type's range;
 * - floats: a JSON-style number (`1`, `-2.5`, `1e3`);
 * - Boolean: `true` / `false`;
 * - Date: `YYYY-MM-DD`; Time: `HH:MM[:SS[.fraction]]`;
 * - Datetime: `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]` with an optional `Z` / `±HH:MM` offset. A value
 *   with an offset names an instant; without one it is the wall time as stored (naive columns)
 *   or a UTC time (zoned columns);
 * - String, Categorical: the text as given;
 * - Decimal: a decimal number, compared exactly in the column's scale (a value with more digits
 *   than the scale equals nothing and orders between its neighbours).
 * A null matches no comparison (as in SQL); only `isnull` finds it. NaN is treated the same way
 * (pages show it as null): it matches no comparison, `isnull` finds it and `notnull` leaves it
 * out; sorts put it with the nulls, last (see plan.ts).
 * `in` is one `isIn` against a typed list, linear in rows plus values.
 */
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import { unknownColumn } from "../suggest.ts";
import type { Version } from "../types.ts";
import { foldedMatch, type FoldOp } from "./search.ts";

export const FILTER_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith", "in", "isnull", "notnull", "icontains", "istartswith", "iendswith", "ieq"] as const;
/** `search` is `q=` (any String column icontains the value); made by `searchFilter`, never parsed from `filter=`. */
export type FilterOp = (typeof FILTER_OPS)[number] | "search";

/** A validated filter: the column exists, the op applies to its dtype, the values cast. */
export interface Filter {
  /** The filter as the client wrote it, for messages and cache keys. */
  raw: string;
  column: string;
  op: FilterOp;
  /** Raw value texts (several for `in`, none for `isnull`/`notnull`). */
  values: string[];
}

export interface SortKey {
  column: string;
  descending: boolean;
}

const STRING_OPS = new Set<FilterOp>(["contains", "startswith", "endswith", "icontains", "istartswith", "iendswith", "ieq"]);
/** Case-insensitive ops (search.ts documents the folding rule). */
const FOLD_OPS = new Set<FilterOp>(["icontains", "istartswith", "iendswith", "ieq"]);

/** The `q=` search as a filter: rows where any String column contains `text`, case-insensitively. */
export function searchFilter(text: string): Filter {
  return { raw: `\u0000q:${text}`, column: "", op: "search", values: [text] };
}
const INT_RANGES: Record<string, [bigint, bigint]> = {
  Int8: [-(2n ** 7n), 2n ** 7n - 1n],
  Int16: [-(2n ** 15n), 2n ** 15n - 1n],
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
  UInt8: [0n, 2n ** 8n - 1n],
  UInt16: [0n, 2n ** 16n - 1n],
  UInt32: [0n, 2n ** 32n - 1n],
  UInt64: [0n, 2n ** 64n - 1n],
};

function dtypeOf(version: Version, column: string): string {
  const col = version.columns.find((c) => c.name === column);
  if (!col) throw unknownColumn(column, version.columns.map((c) => c.name));
  return col.dtype;
}

/** The broad kind of a dtype name, which decides how values are parsed and compared. */
type Kind = "int" | "float" | "bool" | "string" | "date" | "datetime" | "time" | "decimal" | "other";

function kindOf(dtype: string): Kind {
  if (dtype in INT_RANGES) return "int";
  if (dtype === "Float32" || dtype === "Float64") return "float";
  if (dtype === "Boolean") return "bool";
  if (dtype === "String" || dtype === "Categorical" || dtype.startsWith("Enum")) return "string";
  if (dtype === "Date") return "date";
  if (dtype.startsWith("Datetime(")) return "datetime";
  if (dtype === "Time") return "time";
  if (dtype.startsWith("Decimal(")) return "decimal";
  return "other";
}

/** How a value of `dtype` is written in a filter, for error messages. */
export function expectedForm(dtype: string): string {
  switch (kindOf(dtype)) {
    case "int": {
      const [lo, hi] = INT_RANGES[dtype] ?? [0n, 0n];
      return dtype.endsWith("64") ? `${dtype} values are whole numbers like 42${lo < 0n ? " or -7" : ""}` : `${dtype} values are whole numbers from ${lo} to ${hi}`;
    }
    case "float":
      return `${dtype} values are numbers like 1.5, -2 or 1e3`;
    case "bool":
      return "Boolean is true or false";
    case "date":
      return "Date values look like 2024-01-31";
    case "datetime":
      return `${dtype} values look like 2024-01-31T13:45:00, with optional fraction and Z or +02:00 offset`;
    case "time":
      return "Time values look like 13:45 or 13:45:30.25";
    case "decimal":
      return `${dtype} values are decimal numbers like 12.50`;
    case "string":
      return `${dtype} values are any text`;
    default:
      return `${dtype} columns take only isnull and notnull`;
  }
}

/**
 * Parses repeated `filter` parameters (`col:op:value`; only the first two colons split, so values
 * may contain `:`). Throws 400 naming the filter for an unknown column or op, an op that does not
 * apply to the column's dtype, or a value that does not cast to it.
 */
export function parseFilters(raw: string[], version: Version): Filter[] {
  return raw.map((text) => parseFilter(text, version));
}

/** `filter=` parameters plus the `q=` search (when non-empty), all of which must hold. */
export function parseFiltersAndSearch(raw: string[], q: string | undefined, version: Version): Filter[] {
  const filters = parseFilters(raw, version);
  return q === undefined || q === "" ? filters : [...filters, searchFilter(q)];
}

function parseFilter(text: string, version: Version): Filter {
  const first = text.indexOf(":");
  if (first <= 0) throw badRequest(`Filter "${text}" is not of the form column:op:value.`, { filter: text });
  const column = text.slice(0, first);
  const second = text.indexOf(":", first + 1);
  const opText = second === -1 ? text.slice(first + 1) : text.slice(first + 1, second);
  const valueText = second === -1 ? null : text.slice(second + 1);
  if (!(FILTER_OPS as readonly string[]).includes(opText)) {
    throw badRequest(`Filter "${text}" has unknown op "${opText}"; use one of ${FILTER_OPS.join(", ")}.`, { filter: text });
  }
  const op = opText as FilterOp;
  const col = version.columns.find((c) => c.name === column);
  if (!col) throw unknownColumn(column, version.columns.map((c) => c.name), { lead: `Filter "${text}" names unknown column "${column}".`, extra: { filter: text } });
  const kind = kindOf(col.dtype);
  if (op === "isnull" || op === "notnull") {
    if (valueText !== null && valueText !== "") throw badRequest(`Filter "${text}": ${op} takes no value.`, { filter: text });
    return { raw: text, column, op, values: [] };
  }
  if (valueText === null) throw badRequest(`Filter "${text}" needs a value (column:op:value).`, { filter: text });
  if (STRING_OPS.has(op) && kind !== "string") {
    throw badRequest(`Filter "${text}": ${op} applies to string columns only; "${column}" is ${col.dtype}.`, { filter: text });
  }
  if (kind === "other") throw badRequest(`Filter "${text}": column "${column}" (${col.dtype}) supports only isnull and notnull.`, { filter: text });
  const values = op === "in" ? valueText.split("|") : [valueText];
  for (const v of values) {
    if (!STRING_OPS.has(op) && !isValidValue(v, col.dtype)) {
      throw badRequest(`Filter "${text}": "${v}" is not a valid ${col.dtype} value (${expectedForm(col.dtype)}).`, { filter: text, column });
    }
  }
  return { raw: text, column, op, values };
}

/**
 * Parses a projection `columns=a,b,c` against the version's columns, so routes can refuse it
 * before they set caching headers (an error is never cacheable). Throws 400 for an unknown or
 * repeated column, as the frame layer's own check (plan.ts `projection`) does.
 */
export function parseColumns(raw: string | undefined, version: Version): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(",");
  const seen = new Set<string>();
  for (const c of names) {
    if (c === "") throw badRequest(`The query parameter "columns" has an empty name in ${JSON.stringify(raw.slice(0, 60))}: list columns as a,b,c.`, { parameter: "columns" });
    dtypeOf(version, c);
    if (seen.has(c)) throw badRequest(`Column "${c}" is listed twice in columns.`, { column: c });
    seen.add(c);
  }
  return names;
}

/** Parses `sort=a,-b`. Throws 400 for an unknown or repeated column. */
export function parseSort(raw: string, version: Version): SortKey[] {
  if (raw.trim() === "") return [];
  const keys = raw.split(",").map((part) => {
    const descending = part.startsWith("-");
    const column = descending ? part.slice(1) : part;
    if (column === "") throw badRequest(`The query parameter "sort" has an empty key in ${JSON.stringify(raw.slice(0, 60))}: list columns as a,-b.`, { parameter: "sort" });
    dtypeOf(version, column);
    return { column, descending };
  });
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.column)) throw badRequest(`Sort lists column "${k.column}" twice.`, { column: k.column });
    seen.add(k.column);
  }
  return keys;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const FLOAT_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;
const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const UNIT_PER_SECOND = { ms: 1000n, us: 1_000_000n, ns: 1_000_000_000n } as const;

function daysFromCivil(y: number, m: number, d: number): number | null {
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0..99 as 1900..1999
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  const ms = date.getTime();
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return null;
  return ms / 86_400_000;
}

function fraction(digits: string | undefined, unitsPerSecond: bigint): bigint {
  if (!digits) return 0n;
  const nanos = BigInt(digits.padEnd(9, "0"));
  return (nanos * unitsPerSecond) / 1_000_000_000n;
}

/** Whether `text` casts to `dtype` (checked in JS: no Polars objects for a 7,900-value `in`). */
function isValidValue(text: string, dtype: string): boolean {
  switch (kindOf(dtype)) {
    case "int": {
      if (!INT_RE.test(text)) return false;
      const n = BigInt(text);
      const [lo, hi] = INT_RANGES[dtype] ?? [0n, 0n];
      return n >= lo && n <= hi;
    }
    case "float":
      return FLOAT_RE.test(text);
    case "bool":
      return text === "true" || text === "false";
    case "string":
      return true;
    case "decimal":
      return DECIMAL_RE.test(text);
    case "date":
    case "time":
    case "datetime":
      return physicalValue(text, dtype) !== null;
    default:
      return false;
  }
}

/**
 * A literal expression comparable with a column of `dtype` (its physical value for temporal
 * types), or null when `text` does not cast.
 */
function literalFor(text: string, dtype: string): pl.Expr | null {
  if (!isValidValue(text, dtype)) return null;
  switch (kindOf(dtype)) {
    case "int":
      // through a string: JS numbers would round past 2^53
      return pl.lit(BigInt(text).toString()).cast(dtypeFromName(dtype), true);
    case "float":
      return pl.lit(Number(text)).cast(dtypeFromName(dtype));
    case "bool":
      return pl.lit(text === "true");
    case "string":
      return pl.lit(text);
    case "date":
    case "time":
    case "datetime": {
      // a literal of the column's own type, from its physical value
      const units = physicalValue(text, dtype);
      return units === null ? null : pl.lit(units.toString()).cast(physicalType(dtype), true).cast(temporalType(dtype));
    }
    default:
      return null;
  }
}

/** The physical integer type of a temporal dtype (days as Int32, other units as Int64). */
function physicalType(dtype: string): pl.DataType {
  return kindOf(dtype) === "date" ? pl.Int32 : pl.Int64;
}

/** The DataType of a Date/Time/Datetime dtype name (`Datetime(ns, Europe/Paris)`). */
function temporalType(dtype: string): pl.DataType {
  if (dtype === "Date") return pl.Date;
  if (dtype === "Time") return pl.Time;
  const m = /^Datetime\((ns|us|ms)(?:, (.+))?\)$/.exec(dtype);
  return pl.Datetime((m?.[1] ?? "us") as "ns" | "us" | "ms", m?.[2]);
}

/** The physical value of a Date (days), Time (ns) or Datetime (its unit) filter value, or null. */
function physicalValue(text: string, dtype: string): bigint | null {
  switch (kindOf(dtype)) {
    case "date": {
      const m = DATE_RE.exec(text);
      const days = m ? daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) : null;
      return days === null ? null : BigInt(days);
    }
    case "time": {
      const m = TIME_RE.exec(text);
      if (!m) return null;
      const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
      if (h > 23 || mi > 59 || s > 59) return null;
      return BigInt(h * 3600 + mi * 60 + s) * 1_000_000_000n + fraction(m[4], 1_000_000_000n);
    }
    case "datetime": {
      const m = DATETIME_RE.exec(text);
      if (!m) return null;
      const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
      const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
      if (days === null || h > 23 || mi > 59 || s > 59) return null;
      let offsetMinutes = 0;
      const off = m[8];
      if (off && off !== "Z") {
        const digits = off.slice(1).replace(":", "");
        offsetMinutes = (off[0] === "-" ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
      }
      const unit = /^Datetime\((ns|us|ms)/.exec(dtype)?.[1] as keyof typeof UNIT_PER_SECOND | undefined;
      const per = UNIT_PER_SECOND[unit ?? "us"];
      const seconds = BigInt(days) * 86_400n + BigInt(h * 3600 + mi * 60 + s - offsetMinutes * 60);
      return seconds * per + fraction(m[7], per);
    }
    default:
      return null;
  }
}

function dtypeFromName(name: string): pl.DataType {
  const map: Record<string, pl.DataType> = {
    Int8: pl.Int8, Int16: pl.Int16, Int32: pl.Int32, Int64: pl.Int64,
    UInt8: pl.UInt8, UInt16: pl.UInt16, UInt32: pl.UInt32, UInt64: pl.UInt64,
    Float32: pl.Float32, Float64: pl.Float64,
  };
  return map[name] ?? pl.Float64;
}

/**
 * The column as compared: temporal columns in their own type against literals of that type, text
 * for categoricals, and NaN as null for floats (so a NaN matches no comparison, like a null).
 *
 * Time: Polars 0.55 pushes a Time comparison into the Parquet reader, which then compares the
 * file's TIME(us) microseconds with the literal's nanoseconds (wrong rows on every version read
 * from disk; found by the generative filter test). `fillNull(col)` is a no-op that the
 * optimizer does not push into the scan.
 */
function comparable(col: pl.Expr, dtype: string): pl.Expr {
  switch (kindOf(dtype)) {
    case "time":
      return col.fillNull(col);
    case "string":
      return dtype === "String" ? col : col.cast(pl.Utf8);
    case "float":
      return pl.when(col.isNan()).then(pl.lit(null)).otherwise(col);
    default:
      return col;
  }
}

/** The dtype literals of `in` are listed in. */
function listType(dtype: string): pl.DataType {
  switch (kindOf(dtype)) {
    case "date":
    case "datetime":
    case "time":
      return temporalType(dtype);
    case "bool":
      return pl.Bool;
    case "string":
      return pl.Utf8;
    default:
      return dtypeFromName(dtype);
  }
}

/** The typed values of an `in` filter as one list literal (texts already validated). */
function inList(values: string[], dtype: string): pl.Expr {
  const kind = kindOf(dtype);
  if (kind === "string") return pl.lit(pl.Series("v", values, pl.Utf8));
  if (kind === "bool") return pl.lit(pl.Series("v", values.map((v) => v === "true"), pl.Bool));
  if (kind === "float") return pl.lit(pl.Series("v", values.map(Number), pl.Float64).cast(listType(dtype)));
  // integers and physical temporal values as decimal text: exact beyond 2^53
  if (kind === "int") return pl.lit(pl.Series("v", values.map((v) => BigInt(v).toString()), pl.Utf8).cast(listType(dtype), true));
  return pl.lit(pl.Series("v", values.map((v) => physicalText(v, dtype)), pl.Utf8).cast(physicalType(dtype), true).cast(listType(dtype)));
}

/** The physical integer (as text) of a validated Date/Datetime/Time filter value. */
function physicalText(text: string, dtype: string): string {
  const parsed = physicalValue(text, dtype);
  if (parsed === null) throw new Error(`unvalidated ${dtype} value ${text}`);
  return parsed.toString();
}

// ---- Decimals: exact comparison in the column's scale -------------------------------------

/** Precision and scale of a `Decimal(p, s)` dtype name. */
function decimalParts(dtype: string): { precision: number; scale: number } {
  const m = /^Decimal\((\d+), (\d+)\)$/.exec(dtype);
  return { precision: Number(m?.[1] ?? 38), scale: Number(m?.[2] ?? 0) };
}

/**
 * A decimal text as an integer count of 10^-scale units, rounded down and up (equal when the
 * value has no more digits than the scale).
 */
function scaledBounds(text: string, scale: number): { floor: bigint; ceil: bigint } {
  const negative = text.startsWith("-");
  const body = text.replace(/^[+-]/, "");
  const [int = "", frac = ""] = body.split(".");
  const kept = frac.slice(0, scale).padEnd(scale, "0");
  const dropped = frac.slice(scale);
  const magnitude = BigInt((int || "0") + kept);
  const inexact = /[1-9]/.test(dropped);
  if (!negative) return { floor: magnitude, ceil: inexact ? magnitude + 1n : magnitude };
  return { floor: inexact ? -magnitude - 1n : -magnitude, ceil: -magnitude };
}

/** `units` (10^-scale) as a literal of the column's own Decimal type, or null past its precision. */
function decimalLiteral(units: bigint, dtype: string): pl.Expr | null {
  const { precision, scale } = decimalParts(dtype);
  const magnitude = units < 0n ? -units : units;
  if (magnitude >= 10n ** BigInt(precision)) return null;
  const digits = magnitude.toString().padStart(scale + 1, "0");
  const text = `${units < 0n ? "-" : ""}${digits.slice(0, digits.length - scale)}${scale > 0 ? `.${digits.slice(digits.length - scale)}` : ""}`;
  return pl.lit(text).cast(pl.Decimal(precision, scale), true);
}

/** The exact predicate `col op value` for a Decimal column. */
function decimalComparison(col: pl.Expr, op: FilterOp, text: string, dtype: string): pl.Expr {
  const { precision, scale } = decimalParts(dtype);
  const { floor, ceil } = scaledBounds(text, scale);
  const exact = floor === ceil;
  const limit = 10n ** BigInt(precision);
  const none = pl.lit(false);
  const all = col.isNotNull();
  // beyond the column's range: the value is above (or below) every stored value
  if (floor >= limit || ceil <= -limit) {
    const above = floor >= limit;
    if (op === "eq") return none;
    if (op === "ne") return all;
    return (op === "lt" || op === "lte") === above ? all : none;
  }
  const lit = (units: bigint) => decimalLiteral(units, dtype) as pl.Expr;
  switch (op) {
    case "eq":
      return exact ? col.eq(lit(floor)) : none;
    case "ne":
      return exact ? col.neq(lit(floor)) : all;
    case "gt":
      return col.gt(lit(floor));
    case "gte":
      return exact ? col.gtEq(lit(floor)) : col.gt(lit(floor));
    case "lt":
      return col.lt(lit(ceil));
    default:
      return exact ? col.ltEq(lit(ceil)) : col.lt(lit(ceil));
  }
}

/** The values of an `in` filter on a Decimal column that the column can hold, as one list literal. */
function decimalInList(values: string[], dtype: string): pl.Expr | null {
  const { precision, scale } = decimalParts(dtype);
  const texts = values.flatMap((v) => {
    const { floor, ceil } = scaledBounds(v, scale);
    if (floor !== ceil || (floor < 0n ? -floor : floor) >= 10n ** BigInt(precision)) return [];
    const digits = (floor < 0n ? -floor : floor).toString().padStart(scale + 1, "0");
    return [`${floor < 0n ? "-" : ""}${digits.slice(0, digits.length - scale)}${scale > 0 ? `.${digits.slice(digits.length - scale)}` : ""}`];
  });
  return texts.length === 0 ? null : pl.lit(pl.Series("v", texts, pl.Utf8).cast(pl.Decimal(precision, scale), true));
}

/**
 * The predicate of one filter. `col` is the expression naming the column (the caller decides
 * how columns are referenced); `dtype` is the column's API dtype name.
 */
export function filterExpr(f: Filter, col: pl.Expr, dtype: string): pl.Expr {
  const float = kindOf(dtype) === "float";
  if (f.op === "isnull") return float ? col.isNull().or(col.isNan()) : col.isNull();
  if (f.op === "notnull") return float ? col.isNotNull().and(col.isNotNan()) : col.isNotNull();
  const c = comparable(col, dtype);
  const first = f.values[0] ?? "";
  if (FOLD_OPS.has(f.op)) return foldedMatch(c, f.op as FoldOp, first);
  if (kindOf(dtype) === "decimal") {
    if (f.op !== "in") return decimalComparison(c, f.op, first, dtype);
    const list = decimalInList(f.values, dtype);
    return list === null ? pl.lit(false) : c.isIn(list);
  }
  switch (f.op) {
    case "contains":
      return c.str.contains(pl.lit(first), true);
    case "startswith":
      return c.str.startsWith(pl.lit(first));
    case "endswith":
      return c.str.endsWith(pl.lit(first));
    case "in":
      // one typed list: nulls (and NaN, made null above) are in no list, as for eq
      return c.isIn(inList(f.values, dtype));
    default: {
      const l = literalFor(first, dtype) as pl.Expr;
      switch (f.op) {
        case "eq":
          return c.eq(l);
        case "ne":
          return c.neq(l);
        case "gt":
          return c.gt(l);
        case "gte":
          return c.gtEq(l);
        case "lt":
          return c.lt(l);
        default:
          return c.ltEq(l);
      }
    }
  }
}
