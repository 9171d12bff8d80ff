/**
 * Request fields that several routes share, written once: the path of a version, the query of a
 * version's rows (columns, sort, filter), and the upload form (parsing options, name, description).
 */
import { z } from "zod";
import { DOWNLOAD_FORMATS } from "../frame/download.ts";
import { MAX_PAGE_LIMIT } from "../frame/page.ts";
import { FILTER_OPS } from "../frame/query.ts";
import { datasetIdPath, int, oneOf, repeated, text, versionPath } from "../http/params.ts";
import { datasetDescription, datasetName } from "../schemas.ts";
import { OPTION_FIELDS, type OptionField } from "../ingest/options.ts";

export const DatasetPath = z.object({ datasetId: datasetIdPath() });
export const VersionPath = z.object({ datasetId: datasetIdPath(), version: versionPath() });

export const offset = int({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, description: "Rows to skip." });
export const pageLimit = int({ min: 1, max: MAX_PAGE_LIMIT, default: 100, description: `Rows per page, at most ${MAX_PAGE_LIMIT.toLocaleString("en")}.` });

export const columns = text({ description: "Projection, in this order: `a,b,c`. Default: every column in file order.", maxLength: 100_000 });
export const sort = text({ description: "`a,-b`: ascending `a`, then descending `b`; nulls last; ties keep file order. Default: file order.", maxLength: 100_000 });
export const filter = repeated({
  description:
    `\`column:op:value\`, repeatable; every filter must hold. Ops: ${FILTER_OPS.map((o) => `\`${o}\``).join(", ")}. ` +
    "Comparisons use the column's type (`Date` values look like `2024-01-31`; `Boolean` is `true` or `false`); `in` takes values separated by `|`; " +
    "`isnull`/`notnull` take no value. A null matches no comparison. Example: `city:eq:Paris`.",
});
export const q = text({
  description: "Search: rows where any String column contains this text, ignoring case (Unicode full case folding; see the README's folding rule). Empty: no search.",
  maxLength: 10_000,
});
export const rowShape = oneOf(["objects", "arrays"], { description: "`arrays`: each row as an array in `columns` order instead of an object.", default: "objects" });
export const downloadFormat = oneOf(DOWNLOAD_FORMATS, {
  description: "File format. Default: `csv` for CSV/TSV sources, `parquet` for Parquet and Excel sources. `arrow` is an Arrow IPC file (Feather v2).",
});

/*
 * Ingest owns the parsing options (their names, help text and how values are read,
 * `parseOptionsFrom`); the routes take their form fields from that one list (`OPTION_FIELDS`),
 * refuse unknown ones, and let ingest judge the values.
 */
/**
 * The form field of one option: text, shape only (ingest reads the value and names what is wrong).
 * For Swagger UI's "Try it out": choices list the default first (it preselects the first), and
 * free fields have an empty example (else it pre-fills the word "string"; empty means absent).
 */
function optionField(f: OptionField) {
  const description = `${f.help} (${f.formats}.)`;
  const choices = f.enum ?? (f.type === "boolean" ? ["true", "false"] : undefined);
  const meta = choices
    ? { enum: f.default === undefined ? [...choices] : [f.default, ...choices.filter((c) => c !== f.default)], ...(f.default === undefined ? {} : { default: f.default }) }
    : f.type === "integer"
      ? { pattern: "^[0-9]+$", example: "", ...(f.default === undefined ? {} : { "x-default": f.default }) }
      : { example: "" };
  return z.string().max(64 * 1024, { error: "must be at most 65536 characters long" }).optional().openapi({ type: "string", description, ...meta } as object);
}

/** The parsing options of upload, inspect and add-version, as form fields. */
export const parseOptionFields: Record<string, ReturnType<typeof optionField>> = Object.fromEntries(OPTION_FIELDS.map((f) => [f.name, optionField(f)]));

/** Upload and inspect: the parsing options plus the dataset's name and description. */
export const UploadForm = z.object({
  name: datasetName.optional().openapi({ description: "Display name, unique ignoring case; 1–200 characters. Default: the file name without its extension.", example: "" }),
  description: datasetDescription.optional().openapi({ description: "Free text, at most 10,000 characters.", example: "" }),
  ...parseOptionFields,
});

/** Add-version: the parsing options only (name and description belong to the dataset: PATCH). */
export const VersionForm = z.object(parseOptionFields);
