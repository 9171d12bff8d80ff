/**
 * Strict request validation against a route's zod schemas (src/routes/). Every failure is a 400
 * (a 404 for path segments) that names the parameter and says how to fix it:
 * - an unknown name is refused, with the closest known one ("did you mean `delimiter`?") and the
 *   list of names the route takes;
 * - a single-valued parameter given twice is refused; repeatable ones (`filter`) are lists;
 * - an empty value counts as absent (HTML forms and Swagger UI send blank inputs);
 * - a value that does not fit says what was expected and what came.
 */
import { z } from "zod";
import { ApiError, badRequest } from "../errors.ts";
import { closest } from "../suggest.ts";

export type InputKind = "query" | "form" | "body" | "path";

const NOUN: Record<InputKind, string> = { query: "query parameter", form: "form field", body: "JSON field", path: "path segment" };

/** Names people reach for from other APIs, and what this one calls them (used only when the route takes the target). */
const SYNONYMS: Record<string, string> = {
  orderby: "sort", order: "sort", sortby: "sort", ordering: "sort",
  page: "offset", start: "offset", skip: "offset",
  pagesize: "limit", perpage: "limit", size: "limit", count: "limit", max: "limit", top: "limit",
  fields: "columns", select: "columns", cols: "columns", column: "columns",
  where: "filter", filters: "filter", query: "filter",
  sep: "delimiter", separator: "delimiter", delim: "delimiter", delimitor: "delimiter",
  charset: "encoding", sheetname: "sheet", headers: "header", hasheader: "header",
  type: "format", output: "format", filename: "name", title: "name",
};

export interface ValidateOptions {
  /** The route, for messages: `GET /api/datasets/{datasetId}/versions/{version}/data`. */
  route: string;
  /** A sentence for a specific unknown name, replacing the generic hint (e.g. `name` on add-version). */
  hints?: Readonly<Record<string, string>>;
}

/** What to suggest for an unknown name: a synonym, else the closest declared name. */
export function suggestionFor(name: string, known: readonly string[]): string | null {
  const synonym = SYNONYMS[name.toLowerCase().replace(/[\s_.-]+/g, "")];
  if (synonym !== undefined && known.includes(synonym)) return synonym;
  return closest(name.replace(/\[\]$/, ""), known);
}

/** Whether a parameter takes several values (`filter=a&filter=b`): its schema is a list. */
export function isRepeatable(schema: z.ZodType): boolean {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s instanceof z.ZodArray;
  }
}

/** A value for a message: strings quoted, other JSON as written; cut when long. */
function shown(value: unknown): string {
  const cut = (t: string) => (t.length > 60 ? `${t.slice(0, 60)}…` : t);
  return typeof value === "string" ? JSON.stringify(cut(value)) : cut(JSON.stringify(value) ?? String(value));
}

/** "must be …" for a zod issue (our builders already phrase theirs so). */
function phrase(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith("must ")) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return `must be ${issue.expected === "object" ? "a JSON object" : `a ${issue.expected}`}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "string" ? `must be at least ${String(issue.minimum)} character(s) long` : `must be at least ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "string" ? `must be at most ${String(issue.maximum)} characters long` : `must be at most ${String(issue.maximum)}`;
    default:
      return `is not valid (${issue.message})`;
  }
}

/**
 * Validates one part of a request (`raw`: Express's `req.query`, multer's `req.body`, a parsed
 * JSON body, `req.params`) against `schema`, strictly. Returns the schema's typed output.
 * @throws ApiError 400 BAD_REQUEST (404 NOT_FOUND for path segments) naming what is wrong.
 */
export function validateInput<T extends z.ZodObject>(schema: T, raw: unknown, kind: InputKind, options: ValidateOptions): z.output<T> {
  const noun = NOUN[kind];
  if (kind === "body" && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
    throw badRequest(`${options.route} takes a JSON object${describeFields(schema)}; got ${Array.isArray(raw) ? "an array" : raw === null ? "null" : `a ${typeof raw}`}.`);
  }
  const shape = schema.shape as Record<string, z.ZodType>;
  const known = Object.keys(shape);
  const input: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const field = shape[name];
    if (field === undefined) {
      unknown.push(name);
      continue;
    }
    if (kind === "body") {
      input[name] = value;
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v !== "string")) throw badRequest(`The ${noun} ${JSON.stringify(name)} must be plain text.`, { parameter: name });
    const present = (values as string[]).filter((v) => v !== "");
    if (isRepeatable(field)) {
      if (present.length > 0) input[name] = present;
    } else if (values.length > 1) {
      throw badRequest(`The ${noun} ${JSON.stringify(name)} is given ${values.length} times; give it once.`, { parameter: name });
    } else if (present.length === 1) {
      input[name] = present[0];
    }
  }
  if (unknown.length > 0) throw unknownNames(unknown, known, kind, options);

  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const name = String(issue.path[0] ?? "");
  if (kind === "path") throw new ApiError(404, "NOT_FOUND", issue.message);
  const where = issue.path.length > 1 ? `${JSON.stringify(name)} (at ${issue.path.slice(1).join(".")})` : JSON.stringify(name);
  const got = name in input ? `; got ${shown(input[name])}` : "";
  const meant = nearMiss(issue, input[name]);
  throw badRequest(`The ${noun} ${where} ${phrase(issue)}${got}${meant === undefined ? "" : ` (did you mean ${JSON.stringify(meant)}?)`}.`, { parameter: name, ...(meant === undefined ? {} : { didYouMean: meant }) });
}

/** For a value outside an enumeration: the allowed value it differs from only in case or spaces. */
function nearMiss(issue: z.core.$ZodIssue, value: unknown): string | undefined {
  if (issue.code !== "invalid_value" || typeof value !== "string") return undefined;
  const folded = value.trim().toLowerCase();
  return issue.values.find((v): v is string => typeof v === "string" && v === folded);
}

function describeFields(schema: z.ZodObject): string {
  const names = Object.keys(schema.shape);
  return names.length === 0 ? "" : ` with the fields ${names.map((n) => JSON.stringify(n)).join(", ")}`;
}

function unknownNames(names: string[], known: readonly string[], kind: InputKind, options: ValidateOptions): ApiError {
  const noun = NOUN[kind];
  const parts = names.slice(0, 10).map((name) => {
    const hint = options.hints?.[name];
    if (hint !== undefined) return `${JSON.stringify(name)}: ${hint}`;
    const hit = suggestionFor(name, known);
    return hit === null ? JSON.stringify(name) : `${JSON.stringify(name)} (did you mean ${JSON.stringify(hit)}?)`;
  });
  const takes = known.length === 0 ? `${options.route} takes no ${noun}s.` : `${options.route} takes: ${known.join(", ")}.`;
  const first = names[0] as string;
  const suggestion = suggestionFor(first, known);
  return badRequest(`Unknown ${noun}${names.length > 1 ? "s" : ""} ${parts.join(", ")}. ${takes}`, {
    parameter: first,
    ...(suggestion === null ? {} : { didYouMean: suggestion }),
    ...(names.length > 1 ? { unknown: names.slice(0, 50) } : {}),
    allowed: known,
  });
}
