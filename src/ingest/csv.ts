/**
 * CSV/TSV ingest: encoding → pre-scan (csv-scan.ts) → polars reads every column as String with
 * explicit, strict options (`scanCSV` + `collect`, off the event loop) → whole-column type inference
 * (infer.ts) → typed frame.
 *
 * Empty-string vs null rule: an unquoted empty field is null; a quoted `""` is an empty string in a
 * String column (and null in any other column). Blank lines are left out and counted in the notes.
 */
import { rm } from "node:fs/promises";
import pl from "nodejs-polars";
import { ApiError, badRequest, excerpt, unparseable } from "../errors.ts";
import { lazyOf } from "../frame/safe.ts";
import type { SourceInfo } from "../types.ts";
import { scanCsv, type CsvScan } from "./csv-scan.ts";
import { prepareText } from "./encoding.ts";
import { convert, decide, dtypeOf, fits, fitsForced, narrowerCandidate, present, readVotes, verifyVotes, voteExprs, type Candidate, type ColumnVotes, type Inferred } from "./infer.ts";
import type { ForcedType, ParseOptions } from "./options.ts";
import { positionalNames, uniqueNames } from "./names.ts";
import type { ColumnReport, IngestLimits, Parsed } from "./types.ts";

const ROW_INDEX = "__ingest_row_index";

/** Wraps anything polars throws into a short 422 (no paths, no megabyte messages). */
export function polarsFailure(err: unknown, what: string): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return unparseable(`${what}: ${excerpt(message)}`);
}

function scanFrame(path: string, scan: CsvScan, names: string[], options: ParseOptions): pl.LazyDataFrame {
  let rowIndex = ROW_INDEX;
  while (names.includes(rowIndex)) rowIndex += "_";
  const filter = scan.dropRows.length > 0;
  let lf = pl.scanCSV(path, {
    // The upload folder's path may contain glob characters; it is one file.
    glob: false,
    hasHeader: options.header,
    sep: scan.delimiter,
    quoteChar: '"',
    eolChar: scan.eol,
    inferSchemaLength: 0,
    schema: Object.fromEntries(names.map((n) => [n, pl.String])),
    ignoreErrors: false,
    // Bad rows were found by the pre-scan; they are only read (then dropped) in skip mode.
    truncateRaggedLines: scan.badRecords > 0,
    missingUtf8IsEmptyString: false,
    raiseIfEmpty: false,
    ...(filter ? { rowIndexName: rowIndex } : {}),
  });
  if (filter) {
    lf = lf.filter(pl.col(rowIndex).isIn(pl.lit(pl.Series(scan.dropRows).cast(pl.UInt32))).not()).drop(rowIndex);
  }
  return lf;
}

function resolveForced(schema: ParseOptions["schema"], names: string[]): Map<number, ForcedType> {
  const forced = new Map<number, ForcedType>();
  if (!schema) return forced;
  const unknown = Object.keys(schema).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    const shown = names.slice(0, 20).map((n) => JSON.stringify(n)).join(", ");
    throw badRequest(`The form field "schema" names unknown column(s) ${unknown.map((n) => JSON.stringify(n)).join(", ")}; the file's columns are ${shown}${names.length > 20 ? ", …" : ""}.`);
  }
  for (const [name, type] of Object.entries(schema)) forced.set(names.indexOf(name), type);
  return forced;
}

/** Forced Datetime accepts all-naive or all-offset values; the rest parse like inference. */
function forcedCandidates(type: ForcedType): Candidate[] {
  return type === "Datetime" ? ["Datetime", "DatetimeUTC"] : type === "String" ? [] : [type];
}

async function firstMisfit(lf: pl.LazyDataFrame, name: string, type: Candidate): Promise<string> {
  const c = pl.col(name);
  const df = await lf.select(c.filter(present(c).and(fitsForced(c, type).not())).head(1).alias("x")).collect();
  const rec = df.toRecords()[0] as { x?: unknown } | undefined;
  return String(rec?.x ?? "");
}

async function counterexamples(lf: pl.LazyDataFrame, names: string[], targets: Map<number, Candidate>): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (targets.size === 0) return out;
  const exprs = [...targets].map(([i, type]) => {
    const c = pl.col(names[i]!);
    // The exact test (leading zeros, integers beyond 2^53), so every value that blocked the type is shown.
    return c.filter(present(c).and(fits(c, type).not())).unique({ maintainOrder: true }).head(3).implode().alias(`c${i}`);
  });
  const rec = (await lf.select(exprs).collect()).toRecords()[0] as Record<string, unknown> | undefined;
  for (const i of targets.keys()) {
    const v = rec?.[`c${i}`];
    out.set(i, Array.isArray(v) ? v.map(String) : []);
  }
  return out;
}

/**
 * Parses a CSV/TSV upload. `extension` decides only the sniffing preference (tab first for .tsv).
 * @throws ApiError 400/413/422.
 */
export async function parseCsv(filePath: string, extension: string, options: ParseOptions, limits: IngestLimits, wantReport: boolean): Promise<Parsed> {
  const text = await prepareText(filePath, options.encoding);
  try {
    const scan = await scanCsv(text.path, extension === "tsv" || extension === "tab", {
      delimiter: options.delimiter,
      header: options.header,
      onBadRows: options.onBadRows,
      maxColumns: limits.maxColumns,
      maxRows: limits.maxRows,
    });
    const named = options.header ? uniqueNames(scan.firstRecord) : { names: positionalNames(scan.columnCount), renamed: [] };
    const names = named.names;
    const forced = resolveForced(options.schema, names);

    let strings: pl.DataFrame;
    try {
      strings = await scanFrame(text.path, scan, names, options).collect();
    } catch (err) {
      throw polarsFailure(err, "The CSV file could not be read");
    }
    const lf = lazyOf(strings);

    const forcedExprs: pl.Expr[] = [];
    for (const [i, type] of forced) {
      const c = pl.col(names[i]!);
      forcedCandidates(type).forEach((cand) => forcedExprs.push(present(c).and(fitsForced(c, cand).not()).sum().alias(`f${i}_${cand}`)));
    }
    const voteRow = (await lf.select([pl.len().alias("n"), ...voteExprs(names), ...forcedExprs]).collect()).toRecords()[0] as Record<string, unknown>;
    const rowCount = Number(voteRow.n);
    if (rowCount !== scan.rows) {
      throw unparseable(`The file could not be read consistently (the pre-scan counted ${scan.rows} rows, the parser ${rowCount}); check its quoting.`);
    }
    const votes = readVotes(voteRow, names);
    const verified = await verifyVotes(lf, names, votes, { skip: new Set(forced.keys()), narrower: wantReport });

    const types: Inferred[] = [];
    for (let i = 0; i < names.length; i++) {
      const type = forced.get(i);
      if (type === undefined) {
        types.push(decide(votes[i]!));
        continue;
      }
      if (type === "String") {
        types.push("String");
        continue;
      }
      const fitting = forcedCandidates(type).find((cand) => Number(voteRow[`f${i}_${cand}`]) === 0);
      if (!fitting) {
        const example = await firstMisfit(lf, names[i]!, forcedCandidates(type)[0]!);
        const hint = type === "Datetime" ? " (datetimes must all have a UTC offset or all have none)" : "";
        throw unparseable(`Column ${JSON.stringify(names[i])} cannot be read as ${type}: the value ${JSON.stringify(example)} does not parse${hint}.`, { column: names[i] });
      }
      types.push(fitting);
    }

    let frame: pl.DataFrame;
    try {
      // Columns verified by inference are already typed; forced ones are converted here.
      frame = await verified.frame
        .select(
          names.map((n, i) => {
            const typed = verified.typed.get(i);
            return typed === undefined ? convert(n, types[i]!) : pl.col(typed).alias(n);
          }),
        )
        .collect();
    } catch (err) {
      throw polarsFailure(err, "The CSV file could not be converted");
    }

    const notes = [...text.notes];
    if (scan.blankLines > 0) notes.push(`${scan.blankLines} blank line${scan.blankLines === 1 ? " was" : "s were"} skipped.`);
    if (scan.badRecords > 0) {
      notes.push(`${scan.badRecords} row${scan.badRecords === 1 ? "" : "s"} with the wrong number of fields ${scan.badRecords === 1 ? "was" : "were"} left out (onBadRows=skip); see skippedLines.`);
    }
    types.forEach((t, i) => {
      const empties = votes[i]!.emptyStrings;
      if (t !== "String" && empties > 0) notes.push(`Column ${JSON.stringify(names[i])}: ${empties} empty string value${empties === 1 ? "" : "s"} ("") read as null.`);
    });
    if (named.renamed.length > 0) notes.push(`${named.renamed.length} empty or repeated column name${named.renamed.length === 1 ? " was" : "s were"} renamed; see renamedColumns.`);

    const source: Partial<SourceInfo> = {
      format: scan.delimiter === "\t" ? "tsv" : "csv",
      encoding: text.encoding,
      delimiter: scan.delimiter,
      header: options.header,
      ...(named.renamed.length > 0 ? { renamedColumns: named.renamed } : {}),
      ...(scan.badRecords > 0 ? { skippedRows: scan.badRecords, skippedLines: scan.badSample.map((b) => b.line) } : {}),
      notes,
    };
    const report = wantReport ? await buildReport(lf, names, types, votes, forced) : undefined;
    return { frame, source, report };
  } finally {
    if (text.tempPath) await rm(text.tempPath, { force: true });
  }
}

async function buildReport(lf: pl.LazyDataFrame, names: string[], types: Inferred[], votes: ColumnVotes[], forced: Map<number, ForcedType>): Promise<ColumnReport[]> {
  const targets = new Map<number, Candidate>();
  types.forEach((t, i) => {
    if (forced.has(i)) return;
    const narrower = narrowerCandidate(votes[i]!, t);
    if (narrower) targets.set(i, narrower);
  });
  const examples = await counterexamples(lf, names, targets);
  return names.map((name, i) => ({
    name,
    dtype: dtypeOf(types[i]!),
    nullCount: 0, // filled from the typed frame by the caller
    counterexamples: examples.get(i) ?? [],
  }));
}

