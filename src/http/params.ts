/**
 * Building blocks for the parameters of route definitions (src/routes/): each takes the text a
 * client sent (query strings and form fields are text) and gives the handler a typed value, with
 * the OpenAPI type, range, default and help text attached. Messages start with "must …": the
 * validator (http/validate.ts) puts the parameter's name and the value it got around them.
 */
import { z } from "zod";
import "../schemas.ts"; // extends zod with .openapi()
import type { VersionSelector } from "../storage/types.ts";

interface Doc {
  description: string;
  /** Shown in Swagger UI's "Try it out" form; "" leaves the field empty (and empty means absent). */
  example?: string;
}

/** A whole number in [min, max]; absent → the default. */
export function int(doc: Doc & { min: number; max: number; default: number }) {
  const rule = `must be a whole number from ${doc.min} to ${doc.max}`;
  return z
    .string()
    .regex(/^\d{1,16}$/, { error: rule })
    .transform(Number)
    .pipe(z.number().int().min(doc.min, { error: rule }).max(doc.max, { error: rule }))
    .optional()
    .transform((v) => v ?? doc.default)
    // The default is stated as `x-default`, not `default`: Swagger UI pre-fills defaults and would
    // then send `offset=0` with a pasted cursor, which contradicts it.
    .openapi({ type: "integer", minimum: doc.min, maximum: doc.max, "x-default": doc.default, description: `${doc.description} Default ${doc.default}.`, ...(doc.example === undefined ? {} : { example: doc.example }) } as object);
}

/** Free text, optional, at most `maxLength` characters. */
export function text(doc: Doc & { maxLength?: number }) {
  const max = doc.maxLength ?? 10_000;
  return z
    .string()
    .max(max, { error: `must be at most ${max} characters long` })
    .optional()
    .openapi({ description: doc.description, ...(doc.example === undefined ? {} : { example: doc.example }) });
}

/**
 * One of a few lower-case words, exactly as documented (the same rule as the upload form's
 * booleans and enumerations, ingest/options.ts): `CSV` or ` csv` is a 400 that lists the values
 * and names the one meant. Absent stays absent (the handler applies the documented default).
 */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, doc: Doc & { default?: T[number] }) {
  const rule = `must be ${values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(", ")}`} (lower case)`;
  // validate.ts names the value meant when only case or spaces differ
  const word = z.enum(values, { error: rule });
  const meta = { description: doc.description, ...(doc.default === undefined ? {} : { default: doc.default }) };
  // Swagger UI preselects an enum's first value: keep the default first so "Try it out" sends it.
  const ordered = doc.default === undefined ? [...values] : [doc.default, ...values.filter((v) => v !== doc.default)];
  return word.optional().openapi({ ...meta, type: "string", enum: ordered });
}

/** A repeatable parameter (`filter=…&filter=…`): every value, in order; none when absent. */
export function repeated(doc: Doc & { maxLength?: number }) {
  const max = doc.maxLength ?? 100_000;
  return z
    .array(z.string().max(max, { error: `must be at most ${max} characters long` }))
    .optional()
    .transform((v) => v ?? [])
    .openapi({ description: doc.description });
}

/** A server-made dataset id in a path. */
export function datasetIdPath() {
  return z.string().min(1).openapi({
    description: "The dataset's id (server-made, URL-safe; e.g. from the upload's answer or `GET /api/datasets?name=…`). Not its name.",
    example: "",
  });
}

const VERSION_RULE = /^[1-9]\d{0,14}$/;

/** `{version}`: a positive integer or `latest`; anything else names no version (a 404, like any unknown path). */
export function versionPath() {
  return z
    .string()
    .refine((raw) => raw === "latest" || VERSION_RULE.test(raw), { error: (issue) => `No version ${JSON.stringify(String(issue.input).slice(0, 40))}: versions are positive integers or "latest".` })
    .transform((raw): VersionSelector => (raw === "latest" ? "latest" : Number(raw)))
    .openapi({ type: "string", pattern: "^(latest|[1-9][0-9]{0,14})$", description: "A version number, or `latest` for the highest one.", example: "latest" });
}
