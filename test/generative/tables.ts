/**
 * Generated tables for the differential suite: column names and values of every type the
 * service accepts, written by independent writers (DuckDB for Parquet and CSV, SheetJS for xlsx),
 * with the page value each cell must come back as, computed here in plain JS from the value
 * itself (never from our code).
 *
 * A value is kept in a canonical JS form per type (bigint for integers and temporal units, number
 * for floats, bigint units of 10^-scale for decimals, …); `sql` renders it as a typed DuckDB
 * literal, `expected` as the JSON value a page must hold (after JSON.parse, which keeps -0).
 */
import fc from "fast-check";

/**
 * Runs and seed: fixed and small in `npm test`, longer with GEN_RUNS=2000 (and GEN_SEED=…);
 * GEN_PATH=… (with the seed fast-check printed) replays one failure and shrinks it.
 */
export const RUNS = Number(process.env.GEN_RUNS ?? 0) || undefined;
export const SEED = Number(process.env.GEN_SEED ?? 20261201);
const PATH = process.env.GEN_PATH;
/** Vitest timeout of a property: the default, or an hour for long runs. */
export const TIMEOUT = RUNS ? 3_600_000 : 60_000;
export function params(defaultRuns: number): fc.Parameters<unknown> {
  return { numRuns: RUNS ?? defaultRuns, seed: SEED, ...(PATH ? { path: PATH } : {}) };
}

export type Cell = unknown;

export interface ColumnType {
  /** The API dtype the service reports for a Parquet column of this type. */
  dtype: string;
  /** The DuckDB type written. */
  duck: string;
  value: fc.Arbitrary<Cell>;
  sql(v: Cell): string;
  /** The JSON value of a page cell (objects or arrays), as JSON.parse reads it. */
  expected(v: Cell): unknown;
  /** Kind for statistics checks. */
  kind: "int" | "float" | "decimal" | "string" | "bool" | "temporal" | "time" | "nested";
}

const EXACT = 2n ** 53n;
const exactInt = (v: bigint): number | string => (v > EXACT || v < -EXACT ? v.toString() : Number(v));

function intType(dtype: string, duck: string, lo: bigint, hi: bigint): ColumnType {
  const edges = [lo, hi, 0n, 1n, -1n, EXACT, EXACT + 1n, -EXACT - 1n, lo + 1n, hi - 1n].filter((x) => x >= lo && x <= hi);
  return {
    dtype,
    duck,
    kind: "int",
    value: fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: lo, max: hi }), fc.bigInt({ min: lo > -1000n ? lo : -1000n, max: 1000n < hi ? 1000n : hi })),
    sql: (v) => `CAST('${String(v)}' AS ${duck})`,
    expected: (v) => exactInt(v as bigint),
  };
}

function floatText(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (Object.is(x, -0)) return "-0.0";
  return String(x);
}

// with the doubles whose text JSON.stringify gets wrong or writes in another notation than pages
// (2^63 → 9223372036854776000, -0.0 → 0) and those at the plain/scientific boundaries (1e16, 1e-5, 1e-6)
const FLOAT_EDGES = [0, -0, 1, -1, 0.1, 0.30000000000000004, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 9007199254740993, 1e21, 1e-7, 123456.789, Number.NaN, Infinity, -Infinity, 2 ** 63, -(2 ** 63), 2 ** 64, 1e16, 9999999999999998, 1e15, 1e-5, 1e-6, -1.5e-6, 100];

const float64: ColumnType = {
  dtype: "Float64",
  duck: "DOUBLE",
  kind: "float",
  value: fc.oneof(fc.constantFrom(...FLOAT_EDGES), fc.double(), fc.double({ min: -1000, max: 1000, noNaN: true })),
  sql: (v) => `CAST('${floatText(v as number)}' AS DOUBLE)`,
  expected: (v) => (Number.isFinite(v as number) ? v : null),
};

const float32: ColumnType = {
  dtype: "Float32",
  duck: "FLOAT",
  kind: "float",
  value: fc.oneof(fc.constantFrom(0, -0, 1, 0.1, 1.401298464324817e-45, 3.4028234663852886e38, Number.NaN, Infinity, -Infinity, 2 ** 63, 1e13, 1e12, 1e-6, 1e-7, 3519010.25), fc.float()).map((x) => Math.fround(x)),
  sql: (v) => `CAST('${floatText(v as number)}' AS FLOAT)`,
  // compared after Math.fround (a Float32 prints in its own shortest form)
  expected: (v) => (Number.isFinite(v as number) ? v : null),
};

function decimalText(units: bigint, scale: number): string {
  const neg = units < 0n;
  const digits = (neg ? -units : units).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, digits.length - scale);
  return `${neg ? "-" : ""}${int}${scale > 0 ? `.${digits.slice(digits.length - scale)}` : ""}`;
}

function decimalType(precision: number, scale: number): ColumnType {
  const max = 10n ** BigInt(precision) - 1n;
  return {
    dtype: `Decimal(${precision}, ${scale})`,
    duck: `DECIMAL(${precision},${scale})`,
    kind: "decimal",
    value: fc.oneof(fc.constantFrom(0n, 1n, -1n, max, -max, 12345678901234567890123456780123456789n % (max + 1n)), fc.bigInt({ min: -max, max })),
    sql: (v) => `CAST('${decimalText(v as bigint, scale)}' AS DECIMAL(${precision},${scale}))`,
    expected: (v) => decimalText(v as bigint, scale),
  };
}

/** Strings with the characters files break on: quotes, delimiters, newlines, BOM, emoji, combining marks. */
const tricky = fc.constantFrom('"', "'", ",", ";", "\t", "|", "\n", "\r\n", "\\", "\ufeff", "😀", "e\u0301", "ß", "名", " ", "</script>", "\u007f", "\u2028");
export const text = fc.array(fc.oneof(tricky, fc.string({ maxLength: 4 }), fc.string({ unit: "grapheme", maxLength: 3 })), { maxLength: 5 }).map((parts) => parts.join("").replaceAll("\u0000", ""));

const string: ColumnType = {
  dtype: "String",
  duck: "VARCHAR",
  kind: "string",
  value: fc.oneof(text, fc.constantFrom("", "a", "b", "count", "null", "NaN", "0")),
  sql: (v) => `'${(v as string).replaceAll("'", "''")}'`,
  expected: (v) => v,
};

const boolean: ColumnType = { dtype: "Boolean", duck: "BOOLEAN", kind: "bool", value: fc.boolean(), sql: (v) => String(v), expected: (v) => v };

const DAY_MS = 86_400_000;
/** 0001-01-01 and 9999-12-31 in days since 1970-01-01. */
const MIN_DAY = -719_162;
const MAX_DAY = 2_932_896;
const isoDate = (days: number) => new Date(days * DAY_MS).toISOString().slice(0, 10);

const date: ColumnType = {
  dtype: "Date",
  duck: "DATE",
  kind: "temporal",
  value: fc.oneof(fc.constantFrom(MIN_DAY, MAX_DAY, 0, -1, 19_723), fc.integer({ min: MIN_DAY, max: MAX_DAY }), fc.integer({ min: 18_000, max: 20_000 })),
  sql: (v) => `CAST('${isoDate(v as number)}' AS DATE)`,
  expected: (v) => isoDate(v as number),
};

const PER_SECOND = { ms: 1000n, us: 1_000_000n, ns: 1_000_000_000n } as const;

/** `.fff`, `.ffffff` or `.fffffffff` (fewest of the three that hold the fraction), or nothing. */
function fractionText(nanos: bigint): string {
  if (nanos === 0n) return "";
  const digits = nanos.toString().padStart(9, "0");
  if (nanos % 1_000_000n === 0n) return `.${digits.slice(0, 3)}`;
  if (nanos % 1000n === 0n) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

function floorDiv(a: bigint, b: bigint): [bigint, bigint] {
  const q = a / b - (a % b < 0n ? 1n : 0n);
  return [q, a - q * b];
}

/** `YYYY-MM-DD?HH:MM:SS` and the fraction of `units` since the epoch. */
function datetimeParts(units: bigint, unit: keyof typeof PER_SECOND): { date: string; time: string; nanos: bigint } {
  const [seconds, rest] = floorDiv(units, PER_SECOND[unit]);
  const [days, secOfDay] = floorDiv(seconds, 86_400n);
  const s = Number(secOfDay);
  const time = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, "0")).join(":");
  return { date: isoDate(Number(days)), time, nanos: rest * (1_000_000_000n / PER_SECOND[unit]) };
}

function datetimeType(unit: keyof typeof PER_SECOND, utc: boolean): ColumnType {
  // ns datetimes reach 1677..2262 (DuckDB stops two days short of Int64's ends); the others 0001..9999
  const per = PER_SECOND[unit];
  const margin = 2n * 86_400n * 1_000_000_000n;
  const lo = unit === "ns" ? -(2n ** 63n) + margin : BigInt(MIN_DAY) * 86_400n * per;
  const hi = unit === "ns" ? 2n ** 63n - margin : (BigInt(MAX_DAY) + 1n) * 86_400n * per - 1n;
  const recent = [1_700_000_000n * per, 1_700_000_000n * per + per / 2n, 1_700_000_000n * per + 1n, 0n, -1n];
  const duck = unit === "ns" ? "TIMESTAMP_NS" : unit === "ms" ? "TIMESTAMP_MS" : utc ? "TIMESTAMPTZ" : "TIMESTAMP";
  return {
    dtype: utc ? `Datetime(${unit}, UTC)` : `Datetime(${unit})`,
    duck,
    kind: "temporal",
    value: fc.oneof(fc.constantFrom(...recent), fc.bigInt({ min: lo, max: hi }), fc.bigInt({ min: 1_600_000_000n * per, max: 1_800_000_000n * per })),
    sql: (v) => {
      const p = datetimeParts(v as bigint, unit);
      return `CAST('${p.date} ${p.time}${fractionText(p.nanos)}${utc ? "+00" : ""}' AS ${duck})`;
    },
    expected: (v) => {
      const p = datetimeParts(v as bigint, unit);
      return `${p.date}T${p.time}${fractionText(p.nanos)}${utc ? "Z" : ""}`;
    },
  };
}

const time: ColumnType = {
  dtype: "Time",
  duck: "TIME",
  kind: "time",
  value: fc.oneof(fc.constantFrom(0n, 86_399_999_999n, 45_296_123_456n, 3_723_100_000n), fc.bigInt({ min: 0n, max: 86_399_999_999n })),
  sql: (v) => {
    const p = datetimeParts(v as bigint, "us");
    return `CAST('${p.time}${fractionText(p.nanos)}' AS TIME)`;
  },
  expected: (v) => {
    const p = datetimeParts(v as bigint, "us");
    return `${p.time}${fractionText(p.nanos)}`;
  },
};

const int64 = intType("Int64", "BIGINT", -(2n ** 63n), 2n ** 63n - 1n);

const list: ColumnType = {
  dtype: "List(Int64)",
  duck: "BIGINT[]",
  kind: "nested",
  value: fc.array(fc.option(int64.value, { nil: null }), { maxLength: 4 }),
  sql: (v) => `[${(v as (bigint | null)[]).map((x) => (x === null ? "NULL" : int64.sql(x))).join(", ")}]::BIGINT[]`,
  expected: (v) => (v as (bigint | null)[]).map((x) => (x === null ? null : exactInt(x))),
};

const struct: ColumnType = {
  dtype: 'Struct({"a": Int64, "2019": String})',
  duck: 'STRUCT(a BIGINT, "2019" VARCHAR)',
  kind: "nested",
  value: fc.record({ a: fc.option(int64.value, { nil: null }), s: fc.option(text, { nil: null }) }),
  sql: (v) => {
    const r = v as { a: bigint | null; s: string | null };
    return `{'a': ${r.a === null ? "NULL::BIGINT" : int64.sql(r.a)}, '2019': ${r.s === null ? "NULL::VARCHAR" : string.sql(r.s)}}::STRUCT(a BIGINT, "2019" VARCHAR)`;
  },
  // (JSON.parse puts "2019" first; the raw text keeps "a" first, checked on the page text)
  expected: (v) => {
    const r = v as { a: bigint | null; s: string | null };
    return { a: r.a === null ? null : exactInt(r.a), "2019": r.s };
  },
};

const map: ColumnType = {
  dtype: 'List(Struct({"key": String, "value": Int64}))',
  duck: "MAP(VARCHAR, BIGINT)",
  kind: "nested",
  value: fc.uniqueArray(fc.tuple(fc.string({ maxLength: 3 }).map((s) => s.replaceAll("\u0000", "")), fc.option(int64.value, { nil: null })), { selector: (e) => e[0], maxLength: 3 }),
  sql: (v) => {
    const entries = v as [string, bigint | null][];
    if (entries.length === 0) return "MAP([]::VARCHAR[], []::BIGINT[])";
    return `MAP([${entries.map(([k]) => string.sql(k)).join(", ")}], [${entries.map(([, x]) => (x === null ? "NULL::BIGINT" : int64.sql(x))).join(", ")}])`;
  },
  expected: (v) => (v as [string, bigint | null][]).map(([key, x]) => ({ key, value: x === null ? null : exactInt(x) })),
};

/** Names a type in fast-check's counterexamples (instead of printing its arbitraries). */
function named(types: ColumnType[]): ColumnType[] {
  for (const t of types) Object.defineProperty(t, fc.toStringMethod, { value: () => t.dtype, enumerable: false });
  return types;
}

/** Every type written to Parquet. */
export const PARQUET_TYPES: ColumnType[] = named([
  intType("Int8", "TINYINT", -128n, 127n),
  intType("Int16", "SMALLINT", -32768n, 32767n),
  intType("Int32", "INTEGER", -(2n ** 31n), 2n ** 31n - 1n),
  int64,
  intType("UInt8", "UTINYINT", 0n, 255n),
  intType("UInt16", "USMALLINT", 0n, 65535n),
  intType("UInt32", "UINTEGER", 0n, 2n ** 32n - 1n),
  intType("UInt64", "UBIGINT", 0n, 2n ** 64n - 1n),
  float32,
  float64,
  decimalType(38, 10),
  decimalType(10, 2),
  decimalType(18, 0),
  string,
  boolean,
  date,
  datetimeType("ms", false),
  datetimeType("us", false),
  datetimeType("ns", false),
  datetimeType("us", true),
  time,
  list,
  struct,
  map,
]);

/** Column names that have broken services: integer-like, internal-looking, patterns, Unicode, long. */
export const NAMES = fc.oneof(
  fc.constantFrom("count", "len", "index", "__row", "c0", "c1", "value", "variable", "n", "v", "rows", "literal", "2019", "0", "-1", "1.5", "*", "^a$", "a.b", "height", "columns", "__proto__", "constructor", "ß", "名前", "😀", " x ", "x".repeat(300)),
  fc.string({ minLength: 1, maxLength: 8 }).map((s) => s.replaceAll("\u0000", "")).filter((s) => s.trim() !== "" && !/[\r\n]/.test(s)),
  fc.integer({ min: 0, max: 3000 }).map(String),
);

export interface GenColumn {
  name: string;
  type: ColumnType;
  values: (Cell | null)[];
}

export interface GenTable {
  rows: number;
  columns: GenColumn[];
}

/** Names unique case-insensitively (DuckDB's rule; Parquet from DuckDB cannot hold duplicates). */
function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let name = n;
    for (let k = 2; seen.has(name.toLowerCase()); k++) name = `${n}_${k}`;
    seen.add(name.toLowerCase());
    return name;
  });
}

/** A table of `types` (drawn from), 0..maxRows rows, with nulls. */
export function tableOf(types: ColumnType[], opts: { maxColumns: number; maxRows: number }): fc.Arbitrary<GenTable> {
  return fc
    .record({
      rows: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: opts.maxRows })),
      specs: fc.array(fc.record({ name: NAMES, type: fc.constantFrom(...types), nullRate: fc.constantFrom(0, 0.2, 1) }), { minLength: 1, maxLength: opts.maxColumns }),
    })
    .chain(({ rows, specs }) => {
      const names = uniqueNames(specs.map((s) => s.name));
      return fc.tuple(...specs.map((s) => fc.array(s.nullRate === 1 ? fc.constant(null) : s.nullRate === 0 ? s.type.value : fc.option(s.type.value, { nil: null, freq: 4 }), { minLength: rows, maxLength: rows }))).map((cols) => ({
        rows,
        columns: specs.map((s, k) => ({ name: names[k] as string, type: s.type, values: cols[k] as (Cell | null)[] })),
      }));
    });
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** SQL selecting the table (typed literals; zero rows through a false filter). */
export function tableSql(t: GenTable): string {
  const cell = (c: GenColumn, v: Cell | null) => (v === null ? `CAST(NULL AS ${c.type.duck})` : c.type.sql(v));
  const cols = t.columns.map((c) => quoteIdent(c.name)).join(", ");
  if (t.rows === 0) return `SELECT ${t.columns.map((c) => `${cell(c, null)} AS ${quoteIdent(c.name)}`).join(", ")} WHERE false`;
  const rows = Array.from({ length: t.rows }, (_, r) => `(${t.columns.map((c) => cell(c, c.values[r] ?? null)).join(", ")})`);
  return `SELECT * FROM (VALUES ${rows.join(", ")}) AS t(${cols})`;
}

/** A page cell compared with its expected value: -0 vs 0 matters, Float32 compared after fround. */
export function sameCell(type: ColumnType, got: unknown, value: Cell | null): boolean {
  if (value === null) return got === null;
  const want = type.expected(value);
  if (type === float32 && typeof got === "number" && typeof want === "number") return Object.is(Math.fround(got), want);
  if (typeof want === "number") return Object.is(got, want);
  return JSON.stringify(got) === JSON.stringify(want);
}

export const TYPES = { float32, float64, string, boolean, date, time, int64, list, struct, map };

/** `type` with other values (for formats that read back only part of a type's range). */
export function withValues(type: ColumnType, value: fc.Arbitrary<Cell>): ColumnType {
  return named([{ ...type, value }])[0] as ColumnType;
}

/**
 * The raw text of each cell of a `[[…],[…]]` page (format=arrays), split without parsing values,
 * so the exact text of every cell can be compared.
 */
export function cellTexts(rowsJson: string): string[][] {
  const rows: string[][] = [];
  let depth = 0;
  let start = 0;
  let row: string[] = [];
  for (let i = 0; i < rowsJson.length; i++) {
    const ch = rowsJson[i];
    if (ch === '"') {
      for (i++; rowsJson[i] !== '"'; i += rowsJson[i] === "\\" ? 2 : 1);
    } else if (ch === "[" || ch === "{") {
      depth++;
      if (depth === 2) {
        row = [];
        start = i + 1;
      }
    } else if (ch === "]" || ch === "}") {
      if (depth === 2) {
        if (i > start) row.push(rowsJson.slice(start, i));
        rows.push(row);
      }
      depth--;
    } else if (ch === "," && depth === 2) {
      row.push(rowsJson.slice(start, i));
      start = i + 1;
    }
  }
  return rows;
}
