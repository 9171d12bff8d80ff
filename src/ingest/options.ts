/**
 * Parsing options of an upload (`sheet`, `delimiter`, `encoding`, `header`, `schema`, `onBadRows`),
 * validated from multipart text fields. Every rejection is a 400 naming the field.
 */
import { badRequest } from "../errors.ts";

/** The column types a user may force with `schema=`. */
export const FORCIBLE_TYPES = ["String", "Int64", "Float64", "Boolean", "Date", "Datetime"] as const;
export type ForcedType = (typeof FORCIBLE_TYPES)[number];

export interface ParseOptions {
  /** Excel sheet name, or 0-based index. Default: the first non-empty sheet. */
  sheet?: string | number;
  /** CSV delimiter (one character). Default: sniffed among `,` `\t` `;` `|`. */
  delimiter?: string;
  /** CSV text encoding, a WHATWG label (`utf-8`, `utf-16le`, `windows-1252`, …). Default: detected. */
  encoding?: string;
  /** Whether the first row names the columns. */
  header: boolean;
  /** Forced column types, by column name (after renaming of empty/duplicate names). */
  schema?: Record<string, ForcedType>;
  /** What a row with the wrong number of fields does: fail the upload, or be left out and counted. */
  onBadRows: "fail" | "skip";
}

export const DEFAULT_OPTIONS: ParseOptions = Object.freeze({ header: true, onBadRows: "fail" });

const KNOWN_FIELDS = new Set(["sheet", "delimiter", "encoding", "header", "schema", "onBadRows"]);

/**
 * A multipart text field: absent, or one string. An empty value counts as absent (HTML forms send
 * blank inputs); repeated fields are ambiguous and refused.
 */
function field(fields: Record<string, unknown>, name: string): string | undefined {
  const v = fields[name];
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
    throw badRequest(`The form field "delimiter" must be one ASCII character such as "," ";" "|" or "tab"; got ${JSON.stringify(raw)}.`);
  }
  return d;
}

function parseEncoding(raw: string): string {
  try {
    // Normalises labels ("latin1" → "windows-1252", "UTF8" → "utf-8") and rejects unknown ones.
    return new TextDecoder(raw.trim()).encoding;
  } catch {
    throw badRequest(`The form field "encoding" names an unknown encoding ${JSON.stringify(raw)}; use e.g. utf-8, utf-16le, utf-16be or windows-1252.`);
  }
}

function parseHeader(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw badRequest(`The form field "header" must be true or false; got ${JSON.stringify(raw)}.`);
}

function parseSchema(raw: string): Record<string, ForcedType> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest('The form field "schema" must be a JSON object such as {"zip": "String"}.');
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest('The form field "schema" must be a JSON object such as {"zip": "String"}.');
  }
  const out: Record<string, ForcedType> = Object.create(null) as Record<string, ForcedType>;
  for (const [name, type] of Object.entries(parsed)) {
    if (typeof type !== "string" || !(FORCIBLE_TYPES as readonly string[]).includes(type)) {
      throw badRequest(`The form field "schema" gives column ${JSON.stringify(name)} the unknown type ${JSON.stringify(type)}; use one of ${FORCIBLE_TYPES.join(", ")}.`);
    }
    out[name] = type as ForcedType;
  }
  return out;
}

function parseOnBadRows(raw: string): "fail" | "skip" {
  const v = raw.trim().toLowerCase();
  if (v === "fail" || v === "skip") return v;
  throw badRequest(`The form field "onBadRows" must be "fail" or "skip"; got ${JSON.stringify(raw)}.`);
}

/**
 * Validates multipart text fields into ParseOptions. Fields other than the parsing options
 * (`name`, `description`, …) are ignored here; they belong to the route.
 * @throws ApiError 400 BAD_REQUEST naming the offending field.
 */
export function parseOptionsFrom(fields: Record<string, unknown>): ParseOptions {
  const options: ParseOptions = { ...DEFAULT_OPTIONS };
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
        options.header = parseHeader(raw);
        break;
      case "schema":
        options.schema = parseSchema(raw);
        break;
      case "onBadRows":
        options.onBadRows = parseOnBadRows(raw);
        break;
    }
  }
  return options;
}
