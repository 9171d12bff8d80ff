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
export const rowShape = oneOf(["objects", "arrays"], { description: "`arrays`: each row as an array in `columns` order instead of an object.", default: "objects" });
export const downloadFormat = oneOf(DOWNLOAD_FORMATS, {
  description: "File format. Default: `csv` for CSV/TSV sources, `parquet` for Parquet and Excel sources. `arrow` is an Arrow IPC file (Feather v2).",
});

/** The parsing options of upload, inspect and add-version (interpreted by src/ingest/options.ts). */
export const parseOptionFields = {
  sheet: text({ description: "Excel: the sheet, by name (exact, then ignoring case) or 0-based index. Default: the first non-empty sheet.", example: "", maxLength: 1000 }),
  delimiter: text({ description: "CSV: one character, or `tab`, `comma`, `semicolon`, `pipe`. Default: detected among `,` `\\t` `;` `|`.", example: "", maxLength: 20 }),
  encoding: text({ description: "CSV: a text encoding label (`utf-8`, `utf-16le`, `windows-1252`, `latin1`, …). Default: detected (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252).", example: "", maxLength: 100 }),
  header: oneOf(["true", "false"], { description: "Whether the first row names the columns; `false` names them `column_1`, `column_2`, …", default: "true" }),
  schema: text({
    description: 'Forced column types, a JSON object: `{"zip": "String", "when": "Date"}`. Types: String, Int64, Float64, Boolean, Date, Datetime. An unknown column or type is a 400; a value that does not convert is a 422 quoting it.',
    example: "",
    maxLength: 64 * 1024,
  }),
  onBadRows: oneOf(["fail", "skip"], {
    description: "A row with the wrong number of fields: `fail` (a 422 naming its line; nothing is stored) or `skip` (left out, counted in `source.skippedRows`, first 100 line numbers in `source.skippedLines`).",
    default: "fail",
  }),
};

/** Upload and inspect: the parsing options plus the dataset's name and description. */
export const UploadForm = z.object({
  name: datasetName.optional().openapi({ description: "Display name, unique ignoring case; 1–200 characters. Default: the file name without its extension.", example: "" }),
  description: datasetDescription.optional().openapi({ description: "Free text, at most 10,000 characters.", example: "" }),
  ...parseOptionFields,
});

/** Add-version: the parsing options only (name and description belong to the dataset: PATCH). */
export const VersionForm = z.object(parseOptionFields);
