/**
 * JSON-exact serialisation of frame values, done inside Polars.
 *
 * Each column becomes a String expression holding the JSON text of its value (`"null"` for
 * nulls); a row is those texts concatenated with the keys/brackets between them. Only the page's
 * rows are ever run through these expressions, and the result reaches JS as one string per row,
 * so no per-cell JS objects are made and nothing can lose precision on the way.
 *
 * Value conventions (shared with the CSV download, see `TEMPORAL_FORMATS`):
 * - integers within ±2^53 are JSON numbers, beyond as JSON strings (Int64/UInt64 only can exceed);
 * - floats: shortest round-trip text; NaN and ±Infinity are `null`;
 * - Date `"YYYY-MM-DD"`; Time `"HH:MM:SS"` plus `.fff`, `.ffffff` or `.fffffffff` when the fraction
 *   is non-zero (so every stored digit);
 * - Datetime without zone: `"YYYY-MM-DDTHH:MM:SS"` plus `.fff`, `.ffffff` or `.fffffffff` only when
 *   the fraction is non-zero; with a zone: the wall time in that zone plus its offset (`+01:00`),
 *   or `Z` for UTC;
 * - Decimal as a JSON string (keeps every digit); Duration as an ISO 8601 duration in seconds
 *   (`PT1.5S`, `-PT0.001S`, `PT0S`; built here, so both page paths and the CSV writer agree);
 * - Binary as a base64 string (RFC 4648, padded);
 * - List/Array as JSON arrays and Struct as objects, with these rules applied to their elements
 *   (a Parquet Map arrives as a list of `{"key", "value"}` structs and so renders as API.md says).
 */
import pl from "nodejs-polars";
import { datetimeParts, dtypeName, listInner, structFields } from "./dtype.ts";
import { col, concat, element, lit, NExpr, struct, when } from "./native-expr.ts";
import { nativeSeries } from "./safe.ts";

/** 2^53: the largest magnitude up to which every integer is exact as a JSON (double) number. */
const EXACT_LIMIT = 9007199254740992;

/** strftime pattern of Time values: `HH:MM:SS` plus `.fff`, `.ffffff` or `.fffffffff` when the fraction is non-zero. */
export const TIME_FORMAT = "%H:%M:%S%.f";

/** strftime patterns for temporal values; the CSV download writes the same text. */
export const TEMPORAL_FORMATS = {
  date: "%Y-%m-%d",
  datetime: "%Y-%m-%dT%H:%M:%S%.f",
  datetimeUtc: "%Y-%m-%dT%H:%M:%S%.fZ",
  datetimeZoned: "%Y-%m-%dT%H:%M:%S%.f%:z",
} as const;

// Expressions here are native (`NExpr`, native-expr.ts): a page of wide nested columns needs
// thousands of them, and nodejs-polars' JS wrappers would hold the event loop for seconds. Callers
// wrap the finished expression once (`expr()`, or `selectNative`).

const nullText = (): NExpr => lit(null).cast(pl.Utf8);

function quoted(e: NExpr): NExpr {
  // ignoreNulls=false: a null stays null (and becomes JSON null), instead of `""`.
  return concat([lit('"'), e, lit('"')], "", false);
}

/** JSON string literal text via Polars' own JSON encoder (escapes quotes, backslashes, controls). */
function jsonString(e: NExpr): NExpr {
  return viaJsonEncode(e.cast(pl.Utf8));
}

/** Polars' JSON text of a value: encode a one-field struct `{"": v}` and keep the `v` part. */
function viaJsonEncode(e: NExpr): NExpr {
  return struct([e.alias("")]).jsonEncode().strReplace('^\\{"":', "").strReplace("\\}$", "");
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Base64 text (RFC 4648, padded) of a Binary expression, computed in Polars: the bytes as
 * List(UInt8), each 3-byte group (at positions 0, 3, 6, …) turned into 4 alphabet characters.
 */
export function base64TextN(e: NExpr): NExpr {
  const b0 = element().cast(pl.Int32);
  const b1 = b0.shift(-1);
  const b2 = b0.shift(-2);
  const position = b0.cumCount().sub(lit(1));
  const div = (x: NExpr, d: number) => x.sub(x.rem(lit(d))).div(lit(d)).cast(pl.Int32);
  const char = (x: NExpr) => lit(BASE64).strSlice(x, lit(1));
  const c0 = char(div(b0, 4));
  const c1 = char(b0.rem(lit(4)).mul(lit(16)).add(div(b1.fillNull(lit(0)), 16)));
  const c2 = when(b1.isNull(), lit("="), char(b1.rem(lit(16)).mul(lit(4)).add(div(b2.fillNull(lit(0)), 64))));
  const c3 = when(b2.isNull(), lit("="), char(b2.rem(lit(64))));
  const groups = concat([c0, c1, c2, c3], "").filter(position.rem(lit(3)).eq(lit(0)));
  return e.cast(pl.List(pl.UInt8)).listEval(groups).listJoin("");
}

const UNIT_DIGITS = { ms: 3, us: 6, ns: 9 } as const;

/**
 * ISO 8601 text of a Duration expression in whole and fractional seconds (`PT1.5S`, `-PT2S`,
 * `PT0S`), built from the integer's decimal text, so it is exact for every value.
 */
export function durationTextN(e: NExpr, dt: pl.DataType): NExpr {
  const unit = /^Duration\((ms|us|ns)\)$/.exec(dtypeName(dt))?.[1] as keyof typeof UNIT_DIGITS | undefined;
  const k = UNIT_DIGITS[unit ?? "us"];
  const text = e.cast(pl.Int64).cast(pl.Utf8);
  const digits = text.stripCharsStart("-").zFill(k + 1);
  const seconds = digits.strReplace(`\\d{${k}}$`, "");
  const fraction = digits.strExtract(`(\\d{${k}})$`, 1).stripCharsEnd("0");
  const sign = when(text.startsWith("-"), lit("-PT"), lit("PT"));
  const dot = when(fraction.eq(lit("")), lit(""), concat([lit("."), fraction], ""));
  return concat([sign, seconds, dot, lit("S")], "", false);
}

/** The strftime pattern for a Datetime column, honouring its zone. */
export function datetimeFormat(dt: pl.DataType): string {
  const { timeZone } = datetimeParts(dt);
  if (timeZone === null) return TEMPORAL_FORMATS.datetime;
  return timeZone === "UTC" ? TEMPORAL_FORMATS.datetimeUtc : TEMPORAL_FORMATS.datetimeZoned;
}

/**
 * A String expression with the JSON text of `e` (whose dtype is `dt`), or null where `e` is null.
 * Wrap with `jsonValue` for the final, never-null text.
 */
function fragment(e: NExpr, dt: pl.DataType): NExpr {
  const variant = (dt as unknown as { variant: string }).variant;
  switch (variant) {
    case "Null":
      return nullText();
    case "Bool":
    case "Int8":
    case "Int16":
    case "Int32":
    case "UInt8":
    case "UInt16":
    case "UInt32":
      return e.cast(pl.Utf8);
    case "Int64":
    case "UInt64": {
      // compare in the column's own integer type: a Float64 comparison would round 2^53 + 1 down
      const intType = variant === "Int64" ? pl.Int64 : pl.UInt64;
      const beyond =
        variant === "Int64"
          ? e.gt(lit(EXACT_LIMIT).cast(intType)).or(e.lt(lit(-EXACT_LIMIT).cast(intType)))
          : e.gt(lit(EXACT_LIMIT).cast(intType));
      const text = e.cast(pl.Utf8);
      return when(beyond, quoted(text), text);
    }
    case "Float32":
    case "Float64":
      return when(e.isFinite(), e.cast(pl.Utf8), nullText());
    case "Utf8":
    case "String":
    case "Categorical":
      return jsonString(e);
    case "Date":
      return quoted(e.strftime(TEMPORAL_FORMATS.date));
    case "Datetime":
      return quoted(e.strftime(datetimeFormat(dt)));
    case "Time":
      return quoted(e.strftime(TIME_FORMAT));
    case "Duration":
      return quoted(durationTextN(e, dt));
    case "Binary":
      return quoted(base64TextN(e));
    case "Decimal":
      return quoted(e.cast(pl.Utf8));
    case "List":
    case "FixedSizeList": {
      const inner = listInner(dt);
      if (!inner) return viaJsonEncode(e);
      const items = e.listEval(jsonValueN(element(), inner)).listJoin(",");
      // a null list must stay null (joining it gives "", which would read as [])
      return when(e.isNull(), nullText(), concat([lit("["), items, lit("]")], ""));
    }
    case "Struct": {
      const fields = structFields(dt);
      const parts: NExpr[] = [lit("{")];
      fields.forEach((f, i) => {
        parts.push(lit(`${i === 0 ? "" : ","}${JSON.stringify(f.name)}:`), jsonValueN(e.field(f.name), f.dtype));
      });
      parts.push(lit("}"));
      // a null struct must stay null, not become an object of nulls
      return when(e.isNull(), nullText(), concat(parts, ""));
    }
    default:
      // anything else Polars can encode
      return viaJsonEncode(e);
  }
}

/** A never-null String expression with the JSON text of `e`'s value (`null` for nulls). */
export function jsonValueN(e: NExpr, dt: pl.DataType): NExpr {
  return fragment(e, dt).fillNull(lit("null"));
}

/** `"name":<value>`: one member of a JSON object, for `jsonRowN(..., "objects")`. */
export function jsonMemberN(name: string, value: NExpr): NExpr {
  return concat([lit(`${JSON.stringify(name)}:`), value], "");
}

/**
 * One String expression per row: the JSON object (`parts` made with `jsonMemberN`) or array
 * (`parts` made with `jsonValueN`) of the row. Parts are joined in the given order, so object keys
 * keep the column order even for integer-like names.
 */
export function jsonRowN(parts: NExpr[], shape: "objects" | "arrays"): NExpr {
  const [open, close] = shape === "objects" ? ["{", "}"] : ["[", "]"];
  if (parts.length === 0) return lit(open + close);
  return concat([lit(open), concat(parts, ","), lit(close)], "");
}

/**
 * The rows of `lf` (columns `columns`, in frame order) as a JSON array of objects, every value
 * rendered by `jsonValue`. Columns are renamed to positional aliases first, so names such as `*`
 * or `^a$` (which `pl.col` reads as patterns) are safe. For small row counts (previews).
 */
export async function rowsJsonText(lf: pl.LazyDataFrame, columns: { name: string; dtype: pl.DataType }[]): Promise<string> {
  if (columns.length === 0) return "[]";
  const aliased = lf.rename(Object.fromEntries(columns.map((c, i) => [c.name, `c${i}`])));
  const row = jsonRowN(columns.map((c, i) => jsonMemberN(c.name, jsonValueN(col(`c${i}`), c.dtype))), "objects");
  const out = await aliased.select(row.strConcat(",").alias("rows").expr()).collect();
  const text = (nativeSeries(out)[0]?.toArray()[0] as string | null | undefined) ?? "";
  return `[${text}]`;
}

/*
 * The same three on `pl.Expr`, for code that builds ordinary expressions (SQL results, diff rows,
 * facets: all run in query workers, a wrapper per column is fine there).
 */
export const jsonValue = (e: pl.Expr, dt: pl.DataType): pl.Expr => jsonValueN(NExpr.of(e), dt).expr();
export const jsonMember = (name: string, value: pl.Expr): pl.Expr => jsonMemberN(name, NExpr.of(value)).expr();
export const jsonRow = (parts: pl.Expr[], shape: "objects" | "arrays"): pl.Expr => jsonRowN(parts.map((p) => NExpr.of(p)), shape).expr();
