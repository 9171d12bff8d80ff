/**
 * Type inference for text columns (CSV), over every value, done with Polars expressions.
 *
 * Every column is first read as String, so no value is lost; then each column gets the narrowest
 * type that *every* non-empty value fits, tried in this order:
 * - Boolean: `true`/`false` in any letter case;
 * - Int64: optional sign and digits, no leading zeros (`0` is fine, `01234` is not), within Int64;
 * - Float64: decimal or scientific notation, no leading zeros (`0.5` yes, `00.5` no), and every
 *   value must survive as a double: its significant digits are those of the double's shortest
 *   round-trip text (so `0.1` and `0.30000000000000004` fit; `0.1234567890123456789`,
 *   `9007199254740993.0`, `1e400` and `1e-400` do not, and keep the column String). With
 *   `decimalComma` the decimal separator is `,` (and `1.5` is not a number);
 * - Date: `YYYY-MM-DD` (a real calendar date);
 * - Datetime(us): `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}]` with no offset, kept as wall time;
 *   Datetime(ns) when some value has 7–9 fraction digits (and every value is within 1677–2262);
 * - Datetime(us, UTC) / Datetime(ns, UTC): the same, every value ending in `Z` or
 *   `±HH:MM`/`±HHMM`, converted to UTC;
 * - Time: `HH:MM:SS[.f{1,9}]`; Duration(us) / Duration(ns): ISO 8601 seconds `[-]PTs[.f]S` (the
 *   forms the CSV download writes, so a download reads back with its types);
 * - Float64 also takes `NaN`, `inf`, `-inf`, `Infinity` next to numbers;
 * - otherwise String (so a column mixing offset and naive datetimes stays String).
 * Empty values (unquoted empty fields are null, quoted `""` is an empty string) do not vote;
 * in a non-String column an empty string becomes null.
 *
 * How, cheaply: the shapes of the first rows rule candidates out (`voteExprs`, one query for all columns); then
 * the narrowest survivor of each column is checked against every value while converting
 * (`verifyVotes`), moving on to the next candidate only when a value does not fit. Values of the
 * wrong shape are never parsed, and the conversion that verified a type is the one kept.
 */
import pl from "nodejs-polars";
import { _Expr } from "nodejs-polars/bin/lazy/expr/index.js";
import { lazyOf } from "../frame/safe.ts";

export const CANDIDATES = ["Boolean", "Int64", "Float64", "Date", "Datetime", "DatetimeNs", "DatetimeUTC", "DatetimeNsUTC", "Time", "Duration", "DurationNs"] as const;
export type Candidate = (typeof CANDIDATES)[number];
export type Inferred = Candidate | "String";

/** Texts of the non-finite floats writers produce (Polars, pandas, numpy, Java, JS). */
const NON_FINITE = "[+-]?(inf|Inf|INF|infinity|Infinity|INFINITY)|NaN|nan|NAN";
const DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}";
const CLOCK = "[0-9]{2}:[0-9]{2}:[0-9]{2}";
const OFFSET = "(Z|[+-][0-9]{2}:?[0-9]{2})";

const RE = {
  Boolean: "^(?i:true|false)$",
  Int64: "^[+-]?(0|[1-9][0-9]*)$",
  Float64: `^([+-]?((0|[1-9][0-9]*)(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?|${NON_FINITE})$`,
  Date: `^${DATE}$`,
  Datetime: `^${DATE}[T ]${CLOCK}(\\.[0-9]{1,6})?$`,
  DatetimeNs: `^${DATE}[T ]${CLOCK}(\\.[0-9]{1,9})?$`,
  DatetimeUTC: `^${DATE}[T ]${CLOCK}(\\.[0-9]{1,6})?${OFFSET}$`,
  DatetimeNsUTC: `^${DATE}[T ]${CLOCK}(\\.[0-9]{1,9})?${OFFSET}$`,
  Time: `^${CLOCK}(\\.[0-9]{1,9})?$`,
  // ISO 8601 seconds, as the CSV download writes durations (PT1.5S, -PT0.001S); bounded so the
  // microseconds / nanoseconds fit Int64.
  Duration: "^-?PT[0-9]{1,12}(\\.[0-9]{1,6})?S$",
  DurationNs: "^-?PT[0-9]{1,9}(\\.[0-9]{1,9})?S$",
} as const;

/** Int64 from decimal text (a float literal would turn comparisons back into float ones). */
function int64(text: string): pl.Expr {
  return pl.lit(text).cast(pl.Int64);
}

/**
 * `str.strptime` with exact matching (nodejs-polars' own always searches non-exactly), to
 * Datetime(us). Exact matching of a fixed-width format is what enables Polars' fast parser.
 */
function exactDatetime(c: pl.Expr, format: string): pl.Expr {
  const native = (c as unknown as { _expr: { strToDatetime(...args: unknown[]): unknown } })._expr;
  // (format, time unit, time zone, strict, exact, cache, ambiguous)
  return _Expr(native.strToDatetime(format, "us", undefined, false, true, false, undefined)) as pl.Expr;
}

/** The fraction digits after the seconds (`.123` → 123000000 ns), 0 when there are none. */
function fractionNs(c: pl.Expr): pl.Expr {
  const digits = c.str.extract(":[0-9]{2}(?:\\.([0-9]{1,9}))?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$", 1);
  // Padded by a replace at the end: concat_str would join the columns of a multi-column expansion.
  return digits.fillNull(pl.lit("")).str.replace("$", "000000000").str.slice(0, 9).cast(pl.Int64);
}

/**
 * Whole seconds (as microseconds since the epoch or of the day) plus a fraction in nanoseconds,
 * as Int64 nanoseconds; null outside Int64 (1677-09-21T00:12:43.145224192 … 2262-04-11T23:47:16.854775807).
 */
function usToNs(wholeUs: pl.Expr, fraction: pl.Expr): pl.Expr {
  const top = int64("9223372036000000");
  const bottom = int64("-9223372037000000");
  const fits = wholeUs.lt(top).or(wholeUs.eq(top).and(fraction.ltEq(int64("854775807")))).and(wholeUs.gt(bottom).or(wholeUs.eq(bottom).and(fraction.gtEq(int64("145224192")))));
  const ns = wholeUs.mul(int64("1000")).add(fraction);
  // At the bottom second, us × 1000 alone would leave Int64: borrow one second.
  const nsAtBottom = wholeUs.add(int64("1000000")).mul(int64("1000")).add(fraction.sub(int64("1000000000")));
  return pl.when(fits.and(wholeUs.eq(bottom))).then(nsAtBottom).when(fits).then(ns).otherwise(pl.lit(null).cast(pl.Int64));
}

/** `-PT12.5S` → signed count of `unit` (1e6 per second: us; 1e9: ns). */
function isoSeconds(c: pl.Expr, perSecond: number, digits: number): pl.Expr {
  const secs = c.str.extract("^-?PT([0-9]+)", 1).cast(pl.Int64);
  const frac = c.str.extract("\\.([0-9]+)S$", 1).fillNull(pl.lit("")).str.replace("$", "0".repeat(digits)).str.slice(0, digits).cast(pl.Int64);
  const magnitude = secs.mul(int64(String(perSecond))).add(frac);
  return pl.when(c.str.startsWith("-")).then(magnitude.mul(int64("-1"))).otherwise(magnitude);
}

/** How numbers are written in the file. */
export interface NumberFormat {
  /** `1,5` is 1.5 (and `1.5` is not a number). */
  decimalComma?: boolean;
  /**
   * Texts with 16 or more significant digits that are not the shortest form of their double but
   * are its correctly rounded rendering to that many digits (`%.17g`, numpy's `%.18e`), found by
   * `longFloatTexts`: exact too.
   */
  accepted?: readonly string[];
}

const PLAIN: NumberFormat = Object.freeze({});

const FLOAT_COMMA = `^([+-]?((0|[1-9][0-9]*)(,[0-9]*)?|,[0-9]+)([eE][+-]?[0-9]+)?|${NON_FINITE})$`;

/** The shape a candidate's values must have. */
function shapeOf(type: Candidate, nf: NumberFormat): string {
  return type === "Float64" && nf.decimalComma ? FLOAT_COMMA : RE[type];
}

/** The significant digits of a number's text: no sign, point, exponent, leading or trailing zeros. */
export function significantDigits(text: pl.Expr): pl.Expr {
  return text.str.replace("^[+-]", "").str.replace("[eE].*$", "").str.replace("[.,]", "").str.replace("^0+", "").str.replace("0+$", "");
}

/** The typed value of a String column as a candidate type (null where it does not parse). */
export function castTo(c: pl.Expr, type: Candidate, nf: NumberFormat = PLAIN): pl.Expr {
  switch (type) {
    case "Boolean":
      return pl.when(c.str.contains(RE.Boolean)).then(c.str.toLowerCase().eq(pl.lit("true"))).otherwise(pl.lit(null).cast(pl.Bool));
    case "Int64":
      return c.cast(pl.Int64);
    case "Float64":
      return (nf.decimalComma ? c.str.replace(",", ".", true) : c).cast(pl.Float64);
    case "Date":
      return c.str.strptime(pl.Date, "%Y-%m-%d");
    case "DatetimeNs": {
      // strptime keeps microseconds: parse the whole seconds, then add every fraction digit.
      const seconds = c.str.replace("T", " ", true).str.replace("\\.[0-9]*$", "").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S").cast(pl.Int64);
      return usToNs(seconds, fractionNs(c)).cast(pl.Datetime("ns"));
    }
    case "DatetimeNsUTC": {
      const seconds = c.str
        .replace("T", " ", true)
        .str.replace("Z$", "+00:00")
        .str.replace("\\.[0-9]+([+-])", "${1}")
        .str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%z")
        .cast(pl.Datetime("us", "UTC"))
        .cast(pl.Int64);
      return usToNs(seconds, fractionNs(c)).cast(pl.Datetime("ns", "UTC"));
    }
    case "Time": {
      // The date is put in front by a replace, so the expression stays named after the column.
      const seconds = c.str.replace("\\.[0-9]*$", "").str.replace("^", "1970-01-01 ").str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S").cast(pl.Int64);
      return usToNs(seconds, fractionNs(c)).cast(pl.Time);
    }
    case "Duration":
      return isoSeconds(c, 1_000_000, 6).cast(pl.Duration("us"));
    case "DurationNs":
      return isoSeconds(c, 1_000_000_000, 9).cast(pl.Duration("ns"));
    case "Datetime": {
      // Values without a fraction (most files) go through Polars' fixed-width parser, which an
      // exact match of a format without `%.f` enables: ~6× cheaper than the general parser, same
      // values (leap seconds and invalid dates included). Each parse sees only its own values; the
      // others reach it as nulls, which cost nothing (a failing parse is the dear part).
      const fraction = c.str.contains(".", true);
      const withT = c.str.contains("T", true);
      const only = (mask: pl.Expr) => pl.when(mask).then(c).otherwise(pl.lit(null).cast(pl.String));
      const wholeT = exactDatetime(only(withT.and(fraction.not())), "%Y-%m-%dT%H:%M:%S");
      const wholeSpace = exactDatetime(only(withT.or(fraction).not()), "%Y-%m-%d %H:%M:%S");
      const fractional = only(fraction).str.replace("T", " ", true).str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%.f").cast(pl.Datetime("us"));
      return wholeT.fillNull(wholeSpace).fillNull(fractional);
    }
    case "DatetimeUTC":
      return c.str
        .replace("T", " ", true)
        .str.replace("Z$", "+00:00")
        .str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%.f%z")
        .cast(pl.Datetime("us", "UTC"));
  }
}

/**
 * True where a Float64 parse keeps the value: the double's shortest round-trip text has the same
 * significant digits as the text (so it is finite, did not underflow and lost no digit).
 */
export function exactAsFloat(text: pl.Expr, typed: pl.Expr, nf: NumberFormat = PLAIN): pl.Expr {
  // Texts of at most 15 characters without an exponent have at most 15 significant digits and lie
  // within the normal range, so any finite double they parse to keeps them (DBL_DIG): only the
  // others go through the digit comparison (ten regex passes). Polars evaluates every branch of a
  // when/then on every row, so the costly branch gets its input masked to null instead.
  const simple = simpleFloatText(text);
  const hardText = pl.when(simple).then(pl.lit(null).cast(pl.String)).otherwise(text);
  const hardTyped = pl.when(simple).then(pl.lit(null).cast(pl.Float64)).otherwise(typed);
  const shortest = significantDigits(hardTyped.cast(pl.String)).eq(significantDigits(hardText));
  const exact = nf.accepted && nf.accepted.length > 0 ? shortest.or(hardText.isIn(pl.lit(pl.Series("accepted", [...nf.accepted], pl.String)))) : shortest;
  const finite = typed.isFinite();
  // `NaN` and `inf` are exact as themselves (only texts that did not give a finite double are asked); other texts must give a finite double.
  const namedNonFinite = pl.when(finite.fillNull(false)).then(pl.lit(null).cast(pl.String)).otherwise(text).str.contains(`^(${NON_FINITE})$`).fillNull(false);
  return pl.when(simple).then(finite).otherwise(exact.and(finite)).fillNull(false).or(namedNonFinite);
}

/** At most 15 characters and no exponent: any finite double such a decimal text parses to keeps it. */
function simpleFloatText(text: pl.Expr): pl.Expr {
  return text.str.contains(`^[^eE]{0,${DOUBLE_DIGITS}}$`);
}

/**
 * True where a text has more than `n` characters. A regex, not `str.lengths()`: this build's
 * planner types that as a string, which aborts the process inside a group-by (columnAggregates).
 */
function longerThan(text: pl.Expr, n: number): pl.Expr {
  return text.str.contains(`^(?s:.){${n + 1}}`);
}

/** Digits a double always keeps: any decimal with at most this many significant digits round-trips. */
const DOUBLE_DIGITS = 15;

/** The significant digits of a decimal text in JS (the same rule as `significantDigits`). */
function digitsOf(text: string): string {
  return text.replace(/^[+-]/, "").replace(/[eE].*$/, "").replace(/[.,]/, "").replace(/^0+/, "").replace(/0+$/, "");
}

/**
 * JS's `toPrecision` is exact (correctly rounded), which Polars cannot do: the float-shaped texts
 * with more than 15 significant digits whose shortest round-trip form differs are checked here,
 * once per distinct text, and those that are their double's correctly rounded rendering to their
 * own number of digits are returned (e.g. `0.10000000000000001`, `1.000000000000000056e-01`).
 */
export async function longFloatTexts(lf: pl.LazyDataFrame, names: readonly string[], nf: NumberFormat = PLAIN): Promise<FloatTexts> {
  if (names.length === 0) return { accepted: [], simpleColumns: new Set() };
  // First which columns hold any text that is not simple (longer than 15 characters, or with an
  // exponent): only those can hold long texts, so only those go through the second query.
  const counts = await columnAggregates(lf, names, [["h:", (c) => simpleFloatText(c).not().sum()]]);
  const simpleColumns = new Set(names.filter((name) => Number(counts[`h:${name}`] ?? 1) === 0));
  const withLong = names.filter((name) => !simpleColumns.has(name));
  if (withLong.length === 0) return { accepted: [], simpleColumns };
  const row = await columnAggregates(lf, withLong, [["l:", (c) => {
    // More than 15 significant digits need more than 15 characters: the digit work (ten regex
    // passes) runs only on the long, float-shaped values, which are few in most files.
    const long = c.filter(longerThan(c, DOUBLE_DIGITS));
    const shaped = long.filter(floatShaped(long, nf));
    const digits = significantDigits(shaped);
    const typed = castTo(shaped, "Float64", nf);
    const suspicious = longerThan(digits, DOUBLE_DIGITS).and(significantDigits(typed.cast(pl.String)).neq(digits)).fillNull(false);
    return shaped.filter(suspicious).unique();
  }, true]]);
  const seen = new Set<string>();
  const accepted: string[] = [];
  for (const name of withLong) {
    const texts = row[`l:${name}`];
    if (!Array.isArray(texts)) continue;
    for (const t of texts as string[]) {
      if (seen.has(t)) continue;
      seen.add(t);
      const digits = digitsOf(t);
      if (digits.length > 100) continue;
      const d = Number(nf.decimalComma ? t.replace(",", ".") : t);
      if (!Number.isFinite(d) || d === 0) continue;
      if (digitsOf(Math.abs(d).toPrecision(digits.length)) === digits) accepted.push(t);
    }
  }
  return { accepted, simpleColumns };
}

/** What `longFloatTexts` found. */
export interface FloatTexts {
  /** Long texts that are exact renderings of their double (`NumberFormat.accepted`). */
  accepted: string[];
  /**
   * Columns whose every text is simple (at most 15 characters, no exponent): their Float64
   * check needs no exactness test (see `typedIfFits`).
   */
  simpleColumns: ReadonlySet<string>;
}

/**
 * The value converted to the candidate where it fits (shape, parse and, for Float64, exactness),
 * else null; for a column every present value fits, it equals `castTo`.
 * Only values of the candidate's shape are parsed: the others reach the cast as nulls, because a
 * failing `strptime` is far dearer than a successful one (with `%z`, ~30× a regex).
 */
export function typedIfFits(c: pl.Expr, type: Candidate, nf: NumberFormat = PLAIN, allSimple = false): pl.Expr {
  // castTo's Boolean is null where the shape does not match already: masking first would run the regex twice
  if (type === "Boolean") return castTo(c, type, nf);
  const shaped = c.str.contains(shapeOf(type, nf)).fillNull(false);
  const onlyShaped = pl.when(shaped).then(c).otherwise(pl.lit(null).cast(pl.String));
  const typed = castTo(onlyShaped, type, nf);
  // A column of only simple texts (`FloatTexts.simpleColumns`: at most 15 characters, no
  // exponent) needs no exactness check: a simple number text has at most 15 significant digits
  // and lies within 1e15, so it parses to a finite double that keeps it, and a simple shaped text
  // that does not give a finite double is one of the named non-finite forms, exact as itself.
  if (type !== "Float64" || allSimple) return typed;
  return pl.when(exactAsFloat(onlyShaped, typed, nf)).then(typed).otherwise(pl.lit(null).cast(pl.Float64));
}

/** True where a non-null value fits the candidate (never null, so sums count correctly). */
export function fits(c: pl.Expr, type: Candidate, nf: NumberFormat = PLAIN): pl.Expr {
  return typedIfFits(c, type, nf).isNotNull();
}

/**
 * True where a forced type accepts the value: only its parse has to succeed (leading zeros,
 * rounding and overflow are accepted and counted in a note instead).
 */
export function fitsForced(c: pl.Expr, type: Candidate, nf: NumberFormat = PLAIN): pl.Expr {
  switch (type) {
    case "Int64":
    case "Float64":
      return castTo(c, type, nf).isNotNull().fillNull(false);
    default:
      return fits(c, type, nf);
  }
}

/** Text that names a non-finite float itself (`inf`, `-Infinity`, `NaN`): not an overflow. */
const NON_FINITE_TEXT = "^(?i:[+-]?(inf|infinity|nan))$";
/** Text whose leading zeros, plus sign or trailing decimal zeros a number does not keep. */
const FORM_LOST_INT = "^(\\+|[+-]?0[0-9])|^-0+$";
const FORM_LOST_FLOAT = "^(\\+|[+-]?0[0-9])|[.,][0-9]*[0-9]0([eE]|$)";

/**
 * Counting expressions (one row) of what a forced Int64/Float64 column does to its values, with
 * an example of each: `rounded`, `overflowed` (Float64), `formLost` (leading/trailing zeros, `+`).
 */
export function forcedLossExprs(c: pl.Expr, type: "Int64" | "Float64", key: string, nf: NumberFormat = PLAIN): pl.Expr[] {
  const p = present(c);
  const typed = castTo(c, type, nf);
  const parsed = p.and(typed.isNotNull()).fillNull(false);
  const formLost = parsed.and(c.str.contains(type === "Int64" ? FORM_LOST_INT : FORM_LOST_FLOAT).fillNull(false));
  const kinds: [string, pl.Expr][] = [["formLost", formLost]];
  if (type === "Float64") {
    const named = c.str.contains(NON_FINITE_TEXT).fillNull(false);
    const overflowed = parsed.and(typed.isInfinite().fillNull(false)).and(named.not());
    const rounded = parsed.and(named.not()).and(typed.isInfinite().fillNull(false).not()).and(exactAsFloat(c, typed, nf).not());
    kinds.push(["rounded", rounded], ["overflowed", overflowed]);
  }
  return kinds.flatMap(([kind, mask]) => [mask.sum().alias(`${key}:${kind}:n`), c.filter(mask).head(1).implode().alias(`${key}:${kind}:x`)]);
}

/** A non-null, non-empty value: the ones that vote on the type. */
export function present(c: pl.Expr): pl.Expr {
  return c.isNotNull().and(c.neq(pl.lit(""))).fillNull(false);
}

/**
 * Rows whose present values are looked at first, to rule out candidates before any whole-column
 * work. A slice of the first rows costs nothing to take, unlike "the first N present values".
 */
const SAMPLE_ROWS = 10_000;

export interface ColumnVotes {
  present: number;
  emptyStrings: number;
  /** Values of the sample (the present values of the first rows) without the candidate's shape. */
  sampleMisfits: Record<Candidate, number>;
  /**
   * Values of the whole column that do not fit, for the candidates counted so far (by
   * `verifyVotes`): the one chosen, those ruled out on the way, and for reports the narrower ones.
   */
  misfits: Partial<Record<Candidate, number>>;
}

/** Whole-column misfits of one candidate: present values that do not fit it. */
function misfitCount(c: pl.Expr, type: Candidate, nf: NumberFormat): pl.Expr {
  return present(c).and(fits(c, type, nf).not()).sum();
}

/**
 * Builds one expression per candidate for many columns at once: `pl.col([…])` expands to every
 * column inside Polars. Building expressions in nodejs-polars costs about a millisecond per call,
 * so expressions built per column and candidate cost more than evaluating them on the sample.
 * Output names are `${prefix}${column}`.
 */
function perColumn(names: readonly string[], prefix: string, build: (c: pl.Expr) => pl.Expr): pl.Expr[] {
  return names.length === 0 ? [] : [build(pl.col([...names])).prefix(prefix)];
}

/** One per-column aggregation: the output key prefix, the expression over a column, and whether it gives a list. */
export type ColumnAggregate = [prefix: string, build: (c: pl.Expr) => pl.Expr, list?: boolean];

/** From this many columns on, `columnAggregates` and `verifyVotes` work on the long form… */
const LONG_FORM_COLUMNS = 32;
/**
 * …up to this many cells: the long form copies the values (and repeats each column's name per
 * value), while past it the fixed cost per column is small next to the work on the values anyway.
 */
const LONG_FORM_MAX_CELLS = 10_000_000;

function longForm(columns: number, rows: number): boolean {
  return columns >= LONG_FORM_COLUMNS && columns * rows <= LONG_FORM_MAX_CELLS;
}

async function heightOf(lf: pl.LazyDataFrame): Promise<number> {
  return Number((await lf.select(pl.len().alias("n")).collect()).toRecords()[0]?.n ?? 0);
}

/**
 * Aggregations of each of `names` (String columns), as one record keyed `${prefix}${column}`.
 * Few columns (or very many cells, see LONG_FORM_MAX_CELLS): one select of `pl.col([…])` expressions (Polars expands them per column). Many
 * columns: Polars pays ~0.1–1 ms per expanded expression whatever the rows (a 2-row, 1000-column
 * file took seconds per query, Q13), so the columns are unpivoted into one (column, value) frame
 * and each expression runs once, grouped by column: the cost is linear in cells. A group keeps
 * its column's row order, so `head` is the column's first rows in both forms.
 */
export async function columnAggregates(lf: pl.LazyDataFrame, names: readonly string[], aggs: readonly ColumnAggregate[]): Promise<Record<string, unknown>> {
  if (names.length === 0 || aggs.length === 0) return {};
  if (names.length < LONG_FORM_COLUMNS || !longForm(names.length, await heightOf(lf))) {
    const c = pl.col([...names]);
    const row = (await lf.select(aggs.map(([prefix, build, list]) => (list ? build(c).implode() : build(c)).prefix(prefix))).collect()).toRecords()[0];
    return (row ?? {}) as Record<string, unknown>;
  }
  const column = "column";
  const value = "value";
  const long = lf.unpivot([], [...names], { variableName: column, valueName: value });
  const grouped = await long.groupBy(column, true).agg(...aggs.map(([prefix, build]) => build(pl.col(value)).alias(prefix))).collect();
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const rec of grouped.toRecords() as Record<string, unknown>[]) {
    for (const [prefix] of aggs) out[`${prefix}${String(rec[column])}`] = rec[prefix];
  }
  return out;
}

/**
 * First-pass aggregations (`columnAggregates`) for `readVotes`. Per column: present and empty-string counts
 * over the whole column, and per candidate the misfits among the present values of its first rows.
 * A misfit in the sample is a misfit of the column, so that rules a candidate out for good;
 * `verifyVotes` then checks the survivors over every value.
 */
export function voteAggregates(nf: NumberFormat = PLAIN): ColumnAggregate[] {
  return [
    ["p:", (c) => present(c).sum()],
    ["e:", (c) => c.eq(pl.lit("")).fillNull(false).sum()],
    // The sample only rules out candidates whose shape some value lacks (a regex, cheap to plan
    // and to run); parsing and exactness are checked over every value by `verifyVotes`.
    ...CANDIDATES.map((type, k): ColumnAggregate => [
      `s${k}:`,
      (c) => {
        const head = c.head(SAMPLE_ROWS);
        return head.filter(present(head)).str.contains(shapeOf(type, nf)).fillNull(false).not().sum();
      },
    ]),
  ];
}

export function readVotes(row: Record<string, unknown>, names: readonly string[]): ColumnVotes[] {
  const num = (key: string) => Number(row[key] ?? 0);
  return names.map((name) => ({
    present: num(`p:${name}`),
    emptyStrings: num(`e:${name}`),
    sampleMisfits: Object.fromEntries(CANDIDATES.map((type, k) => [type, num(`s${k}:${name}`)])) as Record<Candidate, number>,
    misfits: {},
  }));
}

/** The next candidate to count over the whole column, or null when the type is decided. */
function nextToCount(votes: ColumnVotes): Candidate | null {
  if (votes.present === 0) return null;
  for (const type of CANDIDATES) {
    if (votes.sampleMisfits[type] > 0) continue;
    const counted = votes.misfits[type];
    if (counted === undefined) return type;
    if (counted === 0) return null;
  }
  return null;
}

const NARROWER: Record<Inferred, readonly Candidate[]> = {
  Boolean: [],
  Int64: [],
  Float64: ["Int64"],
  Date: [],
  Datetime: ["Date"],
  DatetimeNs: ["Datetime"],
  DatetimeUTC: ["Datetime"],
  DatetimeNsUTC: ["DatetimeUTC"],
  Time: [],
  Duration: [],
  DurationNs: ["Duration"],
  String: CANDIDATES,
};

/** What `verifyVotes` leaves for the conversion. */
export interface Verified {
  /** The string columns plus, for each column whose inferred type is not String, its typed values. */
  frame: pl.LazyDataFrame;
  /** Column index → the name of its typed column in `frame`. */
  typed: Map<number, string>;
}

/** A prefix no column name starts with, for the temporary typed columns. */
function tempPrefix(names: readonly string[]): string {
  let prefix = "__typed";
  while (names.some((n) => n.startsWith(prefix))) prefix += "_";
  return prefix;
}

/**
 * Second pass, over every value: converts each column to its narrowest candidate the sample did
 * not rule out (null where a value does not fit), all columns in one query, and counts the values
 * that fit; a column with a misfit moves on to its next candidate in another query (rare: values
 * that change shape after the sample). Afterwards `decide` is exact, and the typed columns of the
 * decided types are kept so the conversion does not parse again. With `narrower`, it also counts
 * the candidates `narrowerCandidate` compares (a report's counterexamples). Columns in `skip`
 * (forced types) are left alone.
 */
export async function verifyVotes(lf: pl.LazyDataFrame, names: readonly string[], votes: ColumnVotes[], options: { skip?: ReadonlySet<number>; narrower?: boolean; numbers?: NumberFormat; simpleFloats?: ReadonlySet<string> } = {}): Promise<Verified> {
  const nf = options.numbers ?? PLAIN;
  const simple = options.simpleFloats ?? new Set<string>();
  const prefix = tempPrefix(names);
  // Float64 columns of only simple texts (`longFloatTexts`) need no exactness check (typedIfFits).
  const conversions = (type: Candidate, k: number, columns: string[]): pl.Expr[] => {
    const out = `${prefix}${k}:`;
    if (type !== "Float64") return perColumn(columns, out, (c) => typedIfFits(c, type, nf));
    return [
      ...perColumn(columns.filter((n) => simple.has(n)), out, (c) => typedIfFits(c, type, nf, true)),
      ...perColumn(columns.filter((n) => !simple.has(n)), out, (c) => typedIfFits(c, type, nf)),
    ];
  };
  const typed = new Map<number, string>();
  let frame = lf;
  const byType = (pending: [number, Candidate][]) => CANDIDATES.map((type, k) => ({ type, k, columns: pending.filter(([, t]) => t === type).map(([i]) => names[i]!) }));
  const todo = (): [number, Candidate][] => {
    const pending: [number, Candidate][] = [];
    votes.forEach((v, i) => {
      if (options.skip?.has(i)) return;
      const next = nextToCount(v);
      if (next) pending.push([i, next]);
    });
    return pending;
  };
  const long = names.length >= LONG_FORM_COLUMNS && longForm(names.length, await heightOf(lf));
  for (let pending = todo(); pending.length > 0; pending = todo()) {
    const groups = byType(pending);
    if (long) {
      frame = await verifyLong(frame, names, votes, groups, prefix, nf, typed, simple);
      continue;
    }
    const tempName = (i: number, type: Candidate) => `${prefix}${CANDIDATES.indexOf(type)}:${names[i]!}`;
    const wide = lazyOf(await frame.withColumns(...groups.flatMap(({ type, k, columns }) => conversions(type, k, columns))).collect());
    const temps = pending.map(([i, type]) => tempName(i, type));
    const row = (await wide.select(perColumn(temps, "", (c) => c.isNotNull().sum())).collect()).toRecords()[0] as Record<string, unknown>;
    const failed: string[] = [];
    for (const [i, type] of pending) {
      const name = tempName(i, type);
      const misfits = votes[i]!.present - Number(row[name] ?? 0);
      votes[i]!.misfits[type] = misfits;
      if (misfits === 0) typed.set(i, name);
      else failed.push(name);
    }
    frame = failed.length > 0 ? wide.drop(failed) : wide;
  }
  if (options.narrower) {
    const extra: [number, Candidate][] = [];
    votes.forEach((v, i) => {
      if (options.skip?.has(i) || v.present === 0) return;
      for (const type of NARROWER[decide(v)]) if (v.misfits[type] === undefined) extra.push([i, type]);
    });
    if (extra.length > 0) {
      const row: Record<string, unknown> = {};
      for (const { type, k, columns } of byType(extra)) Object.assign(row, await columnAggregates(lf, columns, [[`m${k}:`, (c) => misfitCount(c, type, nf)]]));
      for (const [i, type] of extra) votes[i]!.misfits[type] = Number(row[`m${CANDIDATES.indexOf(type)}:${names[i]!}`] ?? 0);
    }
  }
  return { frame, typed };
}

/**
 * `verifyVotes`' pass for many columns (see `columnAggregates`): the columns of each candidate are
 * unpivoted into one long column, converted by one expression, counted per column, and the typed
 * values of each column that fits are cut back out of the long result (an unpivot stacks its
 * columns one after the other, each in row order).
 */
async function verifyLong(frame: pl.LazyDataFrame, names: readonly string[], votes: ColumnVotes[], groups: { type: Candidate; k: number; columns: string[] }[], prefix: string, nf: NumberFormat, typed: Map<number, string>, simple: ReadonlySet<string>): Promise<pl.LazyDataFrame> {
  const wide = await frame.collect();
  const height = wide.height;
  const added: pl.Series[] = [];
  const index = new Map(names.map((name, i) => [name, i]));
  for (const { type, k, columns } of groups) {
    if (columns.length === 0) continue;
    const converted = await wide
      .lazy()
      .select(columns)
      .unpivot([], columns, { variableName: "column", valueName: "value" })
      .select(typedIfFits(pl.col("value"), type, nf, type === "Float64" && columns.every((n) => simple.has(n))).alias("typed"))
      .collect();
    const values = converted.getColumn("typed");
    columns.forEach((name, j) => {
      const i = index.get(name)!;
      const part = values.slice(j * height, height);
      const misfits = votes[i]!.present - (height - part.nullCount());
      votes[i]!.misfits[type] = misfits;
      if (misfits === 0) {
        const temp = `${prefix}${k}:${name}`;
        typed.set(i, temp);
        added.push(part.alias(temp));
      }
    });
  }
  return (added.length > 0 ? (wide.hstack(added) as unknown as pl.DataFrame) : wide).lazy();
}

/** The narrowest candidate every present value fits (after `verifyVotes`); String for all-null columns. */
export function decide(votes: ColumnVotes): Inferred {
  if (votes.present === 0) return "String";
  return CANDIDATES.find((type) => votes.sampleMisfits[type] === 0 && votes.misfits[type] === 0) ?? "String";
}

/**
 * Types narrower than `chosen` that some values fit: where counterexamples are worth showing.
 * Needs `verifyVotes(…, { narrower: true })`.
 */
export function narrowerCandidate(votes: ColumnVotes, chosen: Inferred): Candidate | null {
  let best: Candidate | null = null;
  let bestFits = 0;
  for (const type of NARROWER[chosen]) {
    const fitting = votes.present - (votes.misfits[type] ?? votes.present);
    if (fitting > bestFits) {
      best = type;
      bestFits = fitting;
    }
  }
  return best;
}

/** The API dtype name of an inferred type. */
export function dtypeOf(t: Inferred): string {
  const names: Partial<Record<Inferred, string>> = {
    Datetime: "Datetime(us)",
    DatetimeNs: "Datetime(ns)",
    DatetimeUTC: "Datetime(us, UTC)",
    DatetimeNsUTC: "Datetime(ns, UTC)",
    Duration: "Duration(us)",
    DurationNs: "Duration(ns)",
  };
  return names[t] ?? t;
}

/** The column converted to its type (String columns unchanged). */
export function convert(name: string, t: Inferred, nf: NumberFormat = PLAIN): pl.Expr {
  const c = pl.col(name);
  return (t === "String" ? c : castTo(c, t, nf)).alias(name);
}

/** True where a value has the shape of a Float64 (whether or not it survives as one). */
export function floatShaped(c: pl.Expr, nf: NumberFormat = PLAIN): pl.Expr {
  return c.str.contains(shapeOf("Float64", nf)).fillNull(false);
}
