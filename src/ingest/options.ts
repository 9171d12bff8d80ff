/**
 * Parsing options of an upload, validated from multipart text fields. Every rejection is a 400
 * naming the field and what it accepts; no input (however long, deep or odd) gets past this
 * module as anything but a 400 or valid options.
 *
 * The fields, their types, defaults and help text are listed once in `OPTION_FIELDS` (for the
 * README and the OpenAPI description).
 */
import { badRequest } from "../errors.ts";

/** The column types a user may force with `schema=`. */
export const FORCIBLE_TYPES = ["String", "Int64", "Float64", "Boolean", "Date", "Datetime", "Time", "Duration"] as const;
export type ForcedType = (typeof FORCIBLE_TYPES)[number];

export type Quoting = "strict" | "lenient" | "none";

export interface ParseOptions {
  /** Excel sheet name, or 0-based index. Default: the first non-empty visible sheet. */
  sheet?: string | number;
  /** CSV delimiter (one character). Default: sniffed among `,` `\t` `;` `|`. */
  delimiter?: string;
  /** CSV text encoding, a WHATWG label (`utf-8`, `utf-16le`, `windows-1252`, …). Default: detected. */
  encoding?: string;
  /** Whether the first row (after skipped rows) names the columns. */
  header: boolean;
  /** Forced column types, by column name (after renaming of empty/duplicate names). */
  schema?: Record<string, ForcedType>;
  /** What a row with the wrong number of fields does: fail the upload, or be left out and counted. */
  onBadRows: "fail" | "skip";
  /** Rows left out at the top before the header (CSV: physical lines; Excel: sheet rows 1…N). */
  skipRows?: number;
  /** CSV: lines starting with this text are left out. */
  commentPrefix?: string;
  /** Cell texts read as null (exact, case-sensitive matches). */
  nullValues?: string[];
  /** CSV: `1,5` is the number 1.5 (needs a delimiter other than `,`). */
  decimalComma?: boolean;
  /** CSV quoting rules; default strict (RFC 4180). */
  quoting?: Quoting;
}

export const DEFAULT_OPTIONS: ParseOptions = Object.freeze({ header: true, onBadRows: "fail" });

/** One documented form field. */
export interface OptionField {
  name: string;
  /** JSON-schema-ish type of the text: "string", "integer", "boolean", or an enumeration. */
  type: "string" | "integer" | "boolean";
  enum?: readonly string[];
  default?: string;
  formats: string;
  help: string;
}

/**
 * Every parsing option the upload, add-version and inspect forms take, with its help text:
 * the one list the README and the OpenAPI description are written from.
 */
export const OPTION_FIELDS: readonly OptionField[] = [
  { name: "sheet", type: "string", formats: "Excel", help: "Sheet name (exact, then case-insensitive) or 0-based index. Default: the first non-empty sheet that is not hidden." },
  { name: "delimiter", type: "string", formats: "CSV", help: 'One ASCII character, or tab, comma, semicolon, pipe. Default: sniffed among , tab ; | (tab first for .tsv).' },
  { name: "encoding", type: "string", formats: "CSV", help: "A WHATWG encoding label (utf-8, utf-16le, utf-16be, windows-1252, …). Default: detected (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252)." },
  { name: "header", type: "boolean", default: "true", formats: "CSV, Excel", help: "Whether the first row (after skipRows) names the columns; false names them column_1, column_2, …" },
  { name: "schema", type: "string", formats: "CSV, Excel", help: 'JSON object forcing column types, e.g. {"zip": "String", "price": "Float64"}; types String, Int64, Float64, Boolean, Date, Datetime, Time, Duration. An unknown column or type is a 400; a value that does not convert is a 422 quoting it; values that lose information on the way (rounding, leading zeros) are counted in a note.' },
  { name: "onBadRows", type: "string", enum: ["fail", "skip"], default: "fail", formats: "CSV", help: "fail: a row with the wrong number of fields is a 422 naming its line; skip: such rows are left out and listed in source.skippedLines." },
  { name: "skipRows", type: "integer", default: "0", formats: "CSV, Excel", help: "Rows to leave out at the top before the header (title rows). CSV: physical lines, read as plain text; Excel: sheet rows 1…N." },
  { name: "headerRow", type: "integer", formats: "CSV, Excel", help: "1-based row of the header (CSV: physical line; Excel: the sheet's row number); the rows above it are left out. Same as skipRows=headerRow−1; give one of the two." },
  { name: "commentPrefix", type: "string", formats: "CSV", help: "Lines starting with this text (1–8 characters, e.g. #) are left out and counted in a note." },
  { name: "nullValues", type: "string", formats: "CSV, Excel", help: 'Cell texts read as null, comma-separated (N/A,-,NULL) or a JSON array of strings (["N/A", ""]); exact, case-sensitive matches, counted per column in a note.' },
  { name: "decimalComma", type: "boolean", default: "false", formats: "CSV", help: "Read 1,5 as the number 1.5 (a comma as the decimal separator); needs a delimiter other than a comma. Values with a point then stay text." },
  { name: "quoting", type: "string", enum: ["strict", "lenient", "none"], default: "strict", formats: "CSV", help: "strict: RFC 4180 quoting; lenient: a quote inside an unquoted field is an ordinary character and text after a closing quote joins the field (as Python's csv module reads them), noted; none: quotes are never special." },
];

const KNOWN_FIELDS = new Set(OPTION_FIELDS.map((f) => f.name));

/** The option fields that only mean something for CSV/TSV files. */
export const CSV_ONLY_FIELDS = ["delimiter", "encoding", "onBadRows", "commentPrefix", "decimalComma", "quoting"] as const;
/** The option fields that only mean something for Excel files. */
export const EXCEL_ONLY_FIELDS = ["sheet"] as const;

const MAX_SKIP = 1_048_576;
const MAX_NULL_VALUES = 100;

/** A short description of a JSON value's kind, never its (possibly huge or deep) content. */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return v.length <= 40 ? JSON.stringify(v) : `a ${v.length}-character string`;
  return `the ${typeof v} ${String(v).slice(0, 40)}`;
}

/** A column name for a message: quoted, cut when long. */
function shown(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/**
 * A multipart text field: absent, or one string. An empty value counts as absent (HTML forms send
 * blank inputs); repeated fields are ambiguous and refused.
 */
function field(fields: Record<string, unknown>, name: string): string | undefined {
  const v = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw badRequest(`The form field "${name}" must be given once, as text.`);
  return v;
}

function parseSheet(raw: string): string | number {
  // A bare non-negative integer is an index; anything else (including " 1") is a sheet name.
  return /^\d{1,6}$/.test(raw) ? Number(raw) : raw;
}

function parseDelimiter(raw: string): string {
  const named: Record<string, string> = { tab: "\t", "\\t": "\t", comma: ",", semicolon: ";", pipe: "|" };
  const d = named[raw.toLowerCase()] ?? raw;
  if ([...d].length !== 1 || d.charCodeAt(0) > 0x7e || d === '"' || d === "\n" || d === "\r") {
    throw badRequest(`The form field "delimiter" must be one ASCII character such as "," ";" "|" or "tab"; got ${kindOf(raw)}.`);
  }
  return d;
}

function parseEncoding(raw: string): string {
  try {
    // Normalises labels ("latin1" → "windows-1252", "UTF8" → "utf-8") and rejects unknown ones.
    return new TextDecoder(raw.trim()).encoding;
  } catch {
    throw badRequest(`The form field "encoding" names an unknown encoding ${kindOf(raw)}; use e.g. utf-8, utf-16le, utf-16be or windows-1252.`);
  }
}

/**
 * Booleans and enumerations take exactly their documented spellings (`true`/`false`, lower-case
 * words), the same rule as the query parameters' (http/params.ts `oneOf`): "Parameters are
 * strict". A near miss (`TRUE`, `Skip`, ` true`) is a 400 naming the field, the accepted values
 * and the one meant, never read as a guess.
 */
function exactWord<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a === raw);
  if (hit !== undefined) return hit;
  const meant = allowed.find((a) => a === raw.trim().toLowerCase());
  const list = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(", ")}`;
  throw badRequest(`The form field "${name}" must be ${list} (lower case); got ${kindOf(raw)}${meant ? ` (did you mean "${meant}"?)` : ""}.`, {
    parameter: name,
    allowed: [...allowed],
    ...(meant ? { didYouMean: meant } : {}),
  });
}

function parseBoolean(name: string, raw: string): boolean {
  return exactWord(name, raw, ["true", "false"] as const) === "true";
}

function parseCount(name: string, raw: string, min: number): number {
  const v = raw.trim();
  if (!/^\d{1,7}$/.test(v) || Number(v) < min || Number(v) > MAX_SKIP) {
    throw badRequest(`The form field "${name}" must be a whole number from ${min} to ${MAX_SKIP}; got ${kindOf(raw)}.`);
  }
  return Number(v);
}

/** The forcible type a user most likely meant (case-insensitive match), for "did you mean". */
function closestType(type: string): ForcedType | undefined {
  const lower = type.toLowerCase();
  const aliases: Record<string, ForcedType> = { str: "String", text: "String", utf8: "String", int: "Int64", integer: "Int64", float: "Float64", double: "Float64", number: "Float64", bool: "Boolean", timestamp: "Datetime" };
  return FORCIBLE_TYPES.find((t) => t.toLowerCase() === lower) ?? aliases[lower];
}

/** Parses `schema=`: total for any text (400 naming the problem, never a crash). */
export function parseSchema(raw: string): Record<string, ForcedType> {
  const example = 'a JSON object such as {"zip": "String"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(`The form field "schema" must be ${example}; it is not valid JSON.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`The form field "schema" must be ${example}; got ${kindOf(parsed)}.`);
  }
  // A null-prototype record: a column may be called "__proto__" or "constructor".
  const out: Record<string, ForcedType> = Object.create(null) as Record<string, ForcedType>;
  for (const [name, type] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof type !== "string" || !(FORCIBLE_TYPES as readonly string[]).includes(type)) {
      const guess = typeof type === "string" ? closestType(type) : undefined;
      throw badRequest(
        `The form field "schema" gives column ${shown(name)} ${typeof type === "string" ? `the unknown type ${kindOf(type)}` : kindOf(type)}; use one of ${FORCIBLE_TYPES.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}.`,
        { field: "schema", column: name },
      );
    }
    out[name] = type as ForcedType;
  }
  return out;
}

function parseCommentPrefix(raw: string): string {
  const n = [...raw].length;
  if (n < 1 || n > 8 || /[\r\n"]/.test(raw)) {
    throw badRequest(`The form field "commentPrefix" must be 1 to 8 characters without quotes or line breaks (e.g. #); got ${kindOf(raw)}.`);
  }
  return raw;
}

/** `N/A,-,NULL` or a JSON array of strings. */
function parseNullValues(raw: string): string[] {
  let values: string[];
  if (raw.trimStart().startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw badRequest('The form field "nullValues" starts with "[" but is not a JSON array of strings such as ["N/A", "-"].');
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === "string")) {
      throw badRequest('The form field "nullValues" must be a JSON array of strings such as ["N/A", "-"], or a comma-separated list such as N/A,-,NULL.');
    }
    values = parsed as string[];
  } else {
    values = raw.split(",");
  }
  if (values.length > MAX_NULL_VALUES) throw badRequest(`The form field "nullValues" lists ${values.length} values; at most ${MAX_NULL_VALUES} are accepted.`);
  return [...new Set(values)];
}

function parseEnum<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  return exactWord(name, raw, allowed);
}

/**
 * Validates multipart text fields into ParseOptions. Fields other than the parsing options
 * (`name`, `description`, …) are ignored here; they belong to the route.
 * @throws ApiError 400 BAD_REQUEST naming the offending field.
 */
export function parseOptionsFrom(fields: Record<string, unknown>): ParseOptions {
  const options: ParseOptions = { ...DEFAULT_OPTIONS };
  let headerRow: number | undefined;
  for (const name of KNOWN_FIELDS) {
    const raw = field(fields, name);
    if (raw === undefined) continue;
    switch (name) {
      case "sheet":
        options.sheet = parseSheet(raw);
        break;
      case "delimiter":
        options.delimiter = parseDelimiter(raw);
        break;
      case "encoding":
        options.encoding = parseEncoding(raw);
        break;
      case "header":
        options.header = parseBoolean(name, raw);
        break;
      case "schema":
        options.schema = parseSchema(raw);
        break;
      case "onBadRows":
        options.onBadRows = parseEnum(name, raw, ["fail", "skip"] as const);
        break;
      case "skipRows":
        options.skipRows = parseCount(name, raw, 0);
        break;
      case "headerRow":
        headerRow = parseCount(name, raw, 1);
        break;
      case "commentPrefix":
        options.commentPrefix = parseCommentPrefix(raw);
        break;
      case "nullValues":
        options.nullValues = parseNullValues(raw);
        break;
      case "decimalComma":
        options.decimalComma = parseBoolean(name, raw);
        break;
      case "quoting":
        options.quoting = parseEnum(name, raw, ["strict", "lenient", "none"] as const);
        break;
    }
  }
  if (headerRow !== undefined) {
    if (options.skipRows !== undefined && options.skipRows !== headerRow - 1) {
      throw badRequest(`The form fields "skipRows" (${options.skipRows}) and "headerRow" (${headerRow}) disagree; headerRow=N is skipRows=N−1, give one of them.`);
    }
    if (!options.header) throw badRequest('The form field "headerRow" names the header row, but "header" is false; use skipRows to leave rows out of a file without a header.');
    options.skipRows = headerRow - 1;
  }
  if (options.skipRows === 0) delete options.skipRows;
  if (options.decimalComma === false) delete options.decimalComma;
  if (options.quoting === "strict") delete options.quoting;
  if (options.decimalComma && options.delimiter === ",") {
    throw badRequest('The form field "decimalComma" needs a delimiter other than a comma (e.g. delimiter=;), since "1,5" would be two fields.');
  }
  if (options.commentPrefix !== undefined && options.delimiter !== undefined && options.commentPrefix.startsWith(options.delimiter)) {
    throw badRequest('The form field "commentPrefix" must not start with the delimiter.');
  }
  return options;
}

/** The option fields given that do not apply to a file of this kind (for a note). */
export function inapplicable(options: ParseOptions, family: "text" | "excel" | "parquet"): string[] {
  const given = (k: keyof ParseOptions) => options[k] !== undefined && options[k] !== DEFAULT_OPTIONS[k];
  const names: string[] = [];
  if (family !== "text") {
    for (const f of CSV_ONLY_FIELDS) if (given(f)) names.push(f);
  }
  if (family !== "excel" && given("sheet")) names.push("sheet");
  if (family === "parquet") {
    for (const f of ["header", "schema", "skipRows", "nullValues"] as const) if (given(f)) names.push(f === "skipRows" ? "skipRows/headerRow" : f);
  }
  return names;
}
