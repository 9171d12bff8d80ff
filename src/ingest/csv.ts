/**
 * CSV/TSV ingest: encoding → pre-scan (csv-scan.ts) → polars reads every column as String with
 * explicit, strict options (`scanCSV` + `collect`, off the event loop) → null values → whole-column
 * type inference (infer.ts) → typed frame.
 *
 * Column names never travel as object keys or as Polars column references: polars reads and
 * infers under positional placeholder names (a schema object with integer-like keys such as
 * `2019` would be reordered by JavaScript, polars applies a schema by position, and `pl.col("*")`
 * or `pl.col("^a$")` would be a pattern), and only the finished frame is renamed, literally, to
 * the header's names.
 *
 * Empty-string vs null rule: an unquoted empty field is null; a quoted `""` is an empty string in a
 * String column (and null in any other column). Blank lines are left out and counted in the notes.
 */
import { rm } from "node:fs/promises";
import pl from "nodejs-polars";
import { ApiError, badRequest, unparseable } from "../errors.ts";
import { lazyOf, nativeSeries } from "../frame/safe.ts";
import type { SourceInfo } from "../types.ts";
import { scanCsv, type CsvScan } from "./csv-scan.ts";
import { prepareText } from "./encoding.ts";
import { convert, decide, longFloatTexts, dtypeOf, fits, fitsForced, floatShaped, forcedLossExprs, narrowerCandidate, present, readVotes, verifyVotes, voteAggregates, columnAggregates, type Candidate, type ColumnVotes, type Inferred, type NumberFormat } from "./infer.ts";
import type { ForcedType, ParseOptions } from "./options.ts";
import { placeholderNames, positionalNames, renamedNote, uniqueNames } from "./names.ts";
import { plural, quotedList } from "./notes.ts";
import type { ColumnReport, IngestLimits, Parsed } from "./types.ts";
import { addStage, cpuSince, timed } from "../timing.ts";

const ROW_INDEX = "__ingest_row_index";

/**
 * The 422 for a failure of the reader itself (not of the file as we judged it), in our words:
 * the reader's own message names its internals (chunks, dtypes, paths), not the user's file.
 */
export function polarsFailure(err: unknown, what: string): ApiError {
  if (err instanceof ApiError) return err;
  return unparseable(`${what}. The file is damaged or uses a structure this service cannot read; check that it opens in a spreadsheet program and save it again.`);
}

/** Every column as String, under placeholder names (`placeholders[i]` for column i). */
function scanStrings(path: string, scan: CsvScan, placeholders: string[], options: ParseOptions): pl.LazyDataFrame {
  const rowsFile = scan.rowsPath !== null;
  let rowIndex = ROW_INDEX;
  while (placeholders.includes(rowIndex)) rowIndex += "_";
  const filter = !rowsFile && scan.dropRows.length > 0;
  // Placeholder names are not integer-like, so this object keeps their (positional) order.
  const schema: Record<string, pl.DataType> = {};
  for (const p of placeholders) schema[p] = pl.String;
  let lf = pl.scanCSV(scan.rowsPath ?? path, {
    // The upload folder's path may contain glob characters; it is one file.
    glob: false,
    // The rows file holds only data records; the input has the header first.
    hasHeader: rowsFile ? false : options.header,
    sep: scan.delimiter,
    quoteChar: '"',
    eolChar: scan.eol,
    inferSchemaLength: 0,
    schema,
    ignoreErrors: false,
    // Bad rows were found by the pre-scan; they are only read (then dropped) in skip mode.
    truncateRaggedLines: !rowsFile && scan.badRecords > 0,
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
    const shown = names.slice(0, 50).map((n) => JSON.stringify(n)).join(", ");
    throw badRequest(`The form field "schema" names unknown column(s) ${unknown.slice(0, 10).map((n) => JSON.stringify(n)).join(", ")}; the file's columns are ${shown}${names.length > 50 ? ", …" : ""}.`, { columns: names.slice(0, 50) });
  }
  for (const [name, type] of Object.entries(schema)) forced.set(names.indexOf(name), type);
  return forced;
}

/** Forced Datetime accepts all-naive or all-offset values; the rest parse like inference. */
function forcedCandidates(type: ForcedType): Candidate[] {
  if (type === "Datetime") return ["Datetime", "DatetimeNs", "DatetimeUTC", "DatetimeNsUTC"];
  if (type === "Duration") return ["Duration", "DurationNs"];
  return type === "String" ? [] : [type];
}

async function firstMisfit(lf: pl.LazyDataFrame, name: string, type: Candidate, nf: NumberFormat): Promise<string> {
  const c = pl.col(name);
  const df = await lf.select(c.filter(present(c).and(fitsForced(c, type, nf).not())).head(1).alias("x")).collect();
  const rec = df.toRecords()[0] as { x?: unknown } | undefined;
  return String(rec?.x ?? "");
}

async function counterexamples(lf: pl.LazyDataFrame, names: string[], targets: Map<number, Candidate>, nf: NumberFormat): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const type of new Set(targets.values())) {
    const indexes = [...targets].filter(([, t]) => t === type).map(([i]) => i);
    // The exact test (leading zeros, rounding), so every value that blocked the type is shown.
    const rec = await columnAggregates(
      lf,
      indexes.map((i) => names[i]!),
      [["x:", (c) => c.filter(present(c).and(fits(c, type, nf).not())).unique({ maintainOrder: true }).head(3), true]],
    );
    for (const i of indexes) {
      const v = rec[`x:${names[i]!}`];
      out.set(i, Array.isArray(v) ? v.map(String) : []);
    }
  }
  return out;
}

/** Replaces the user's null texts by nulls; returns the frame and, per column, how many. */
async function applyNullValues(lf: pl.LazyDataFrame, names: string[], values: string[] | undefined): Promise<{ lf: pl.LazyDataFrame; counts: number[] }> {
  if (!values || values.length === 0 || names.length === 0) return { lf, counts: names.map(() => 0) };
  const list = pl.lit(pl.Series("nullValues", values, pl.String));
  const counts = (await lf.select(pl.col(names).isIn(list).fillNull(false).sum().prefix("n:")).collect()).toRecords()[0] as Record<string, unknown>;
  const replaced = lf.withColumns(pl.when(pl.col(names).isIn(list)).then(pl.lit(null).cast(pl.String)).otherwise(pl.col(names)).keepName());
  return { lf: lazyOf(await replaced.collect()), counts: names.map((n) => Number(counts[`n:${n}`] ?? 0)) };
}

/**
 * Parses a CSV/TSV upload. `extension` decides only the sniffing preference (tab first for .tsv).
 * @throws ApiError 400/413/422.
 */
export async function parseCsv(filePath: string, extension: string, options: ParseOptions, limits: IngestLimits, wantReport: boolean): Promise<Parsed> {
  const text = await timed("decode", () => prepareText(filePath, options.encoding));
  const rowsPath = `${text.path}.rows`;
  try {
    const scan = await timed("prescan", () => scanCsv(text.path, extension === "tsv" || extension === "tab", {
      delimiter: options.delimiter,
      header: options.header,
      onBadRows: options.onBadRows,
      maxColumns: limits.maxColumns,
      maxRows: limits.maxRows,
      skipLines: options.skipRows,
      commentPrefix: options.commentPrefix,
      quoting: options.quoting,
      rowsPath,
    }));
    if (options.decimalComma && scan.delimiter === ",") {
      throw badRequest('decimalComma=true needs a delimiter other than a comma, but this file\'s delimiter is ","; give the real one with delimiter= (e.g. delimiter=;).');
    }
    const decimalComma = options.decimalComma === true;
    const named = options.header ? uniqueNames(scan.firstRecord) : { names: positionalNames(scan.columnCount), renamed: [] };
    const names = named.names;
    const forced = resolveForced(options.schema, names);

    // Polars works on the placeholders `cols`; `names` are for people (notes, errors, report).
    const cols = placeholderNames(names.length, names);
    let strings: pl.DataFrame;
    try {
      strings = await timed("parse", () => scanStrings(text.path, scan, cols, options).collect());
    } catch (err) {
      throw polarsFailure(err, "The CSV file could not be read");
    }
    // "infer": null values, the type votes and their whole-column verification, the notes
    const inferStart = performance.now();
    const inferCpu = process.cpuUsage();
    const nulled = await applyNullValues(lazyOf(strings), cols, options.nullValues);
    const lf = nulled.lf;
    // The votes and the forced types' parse checks look at shapes and parses only; the exactness
    // of long float texts (`accepted`) matters only where a Float64 is still possible, found next.
    const shapes: NumberFormat = { decimalComma };
    const forcedExprs: pl.Expr[] = [];
    for (const [i, type] of forced) {
      const c = pl.col(cols[i]!);
      forcedCandidates(type).forEach((cand) => forcedExprs.push(present(c).and(fitsForced(c, cand, shapes).not()).sum().alias(`f${i}_${cand}`)));
    }
    const voteRow = {
      ...((await lf.select([pl.len().alias("n"), ...forcedExprs]).collect()).toRecords()[0] as Record<string, unknown>),
      ...(await columnAggregates(lf, cols, voteAggregates(shapes))),
    };
    const rowCount = Number(voteRow.n);
    if (rowCount !== scan.rows) {
      throw unparseable(`The file could not be read consistently (the pre-scan counted ${scan.rows} rows, the parser ${rowCount}); check its quoting, or try quoting=lenient.`);
    }
    const votes = readVotes(voteRow, cols);
    // Float64 exactness is asked of: columns whose sample did not rule Float64 out (verification,
    // the "kept as String" note), forced columns (their loss notes), and every column for a report
    // (the counterexamples of a String column count every candidate). Text columns, whose long
    // values are the costly part of this pass, are left out of an upload's.
    const floatColumns = wantReport ? cols : cols.filter((_, i) => forced.has(i) || (votes[i]!.present > 0 && votes[i]!.sampleMisfits.Float64 === 0));
    const floatTexts = await longFloatTexts(lf, floatColumns, shapes);
    const nf: NumberFormat = { decimalComma, accepted: floatTexts.accepted };
    const verified = await verifyVotes(lf, cols, votes, { skip: new Set(forced.keys()), narrower: wantReport, numbers: nf, simpleFloats: floatTexts.simpleColumns });

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
        const example = await firstMisfit(lf, cols[i]!, forcedCandidates(type)[0]!, nf);
        const hint = type === "Datetime" ? " (datetimes must all have a UTC offset or all have none)" : "";
        throw unparseable(`Column ${JSON.stringify(names[i])} cannot be read as ${type}: the value ${JSON.stringify(example)} does not parse${hint}.`, { column: names[i] });
      }
      types.push(fitting);
    }

    addStage("infer", performance.now() - inferStart, cpuSince(inferCpu));
    let frame: pl.DataFrame;
    const convertStart = performance.now();
    const convertCpu = process.cpuUsage();
    try {
      // Columns verified by inference are already typed; forced ones are converted here.
      const mapping: Record<string, string> = Object.create(null) as Record<string, string>;
      cols.forEach((p, i) => (mapping[p] = names[i]!));
      frame = await verified.frame
        .select(
          cols.map((p, i) => {
            const typed = verified.typed.get(i);
            return typed === undefined ? convert(p, types[i]!, nf) : pl.col(typed).alias(p);
          }),
        )
        // The only place the real names meet Polars: a rename takes them literally.
        .rename(mapping)
        .collect();
    } catch (err) {
      throw polarsFailure(err, "The CSV file could not be converted");
    }
    addStage("convert", performance.now() - convertStart, cpuSince(convertCpu));
    const notesStart = performance.now();
    const notesCpu = process.cpuUsage();

    const notes = [...text.notes];
    if (scan.skippedLines > 0) notes.push(`The first ${plural(scan.skippedLines, "line")} ${scan.skippedLines === 1 ? "was" : "were"} left out (skipRows/headerRow); the ${options.header ? "header" : "first row"} was read from line ${scan.firstRecordLine}.`);
    if (scan.commentLines > 0) notes.push(`${plural(scan.commentLines, "comment line")} (starting with ${JSON.stringify(options.commentPrefix)}) ${scan.commentLines === 1 ? "was" : "were"} left out.`);
    if (scan.blankLines > 0) notes.push(`${plural(scan.blankLines, "blank line")} ${scan.blankLines === 1 ? "was" : "were"} skipped.`);
    if (scan.badRecords > 0) {
      notes.push(`${plural(scan.badRecords, "row")} with the wrong number of fields ${scan.badRecords === 1 ? "was" : "were"} left out (onBadRows=skip); see skippedLines.`);
    }
    if (scan.literalQuoteFields > 0) {
      notes.push(`${plural(scan.literalQuoteFields, "field")} ${scan.literalQuoteFields === 1 ? "holds" : "hold"} quote characters outside quoting; ${options.quoting === "none" ? "quoting=none" : "quoting=lenient"} read them as ordinary characters.`);
    }
    if (scan.afterQuoteFields > 0) {
      notes.push(`${plural(scan.afterQuoteFields, "quoted field")} ${scan.afterQuoteFields === 1 ? "has" : "have"} text after the closing quote; quoting=lenient kept it as part of the field (as Python's csv module does).`);
    }
    if (scan.longestQuoted) {
      notes.push(`The quoted field starting on line ${scan.longestQuoted.line} spans ${scan.longestQuoted.lines} lines; if quotes in this file are not meant as CSV quoting, upload with quoting=none.`);
    }
    nulled.counts.forEach((n, i) => {
      if (n > 0) notes.push(`Column ${JSON.stringify(names[i])}: ${plural(n, "value")} listed in nullValues ${n === 1 ? "was" : "were"} read as null.`);
    });
    types.forEach((t, i) => {
      const empties = votes[i]!.emptyStrings;
      if (t !== "String" && empties > 0) notes.push(`Column ${JSON.stringify(names[i])}: ${plural(empties, "empty string value")} ("") read as null.`);
    });
    notes.push(...(await lossNotes(lf, cols, names, types, votes, forced, nf)));
    notes.push(...(await signNotes(lf, cols, names, types, forced)));
    if (nf.decimalComma) {
      const commaColumns = names.filter((_, i) => types[i] === "Float64" && !forced.has(i));
      if (commaColumns.length > 0) notes.push(`Numbers with a decimal comma (decimalComma=true) were read in column(s) ${quotedList(commaColumns)}.`);
    }
    const renamed = renamedNote(named.renamed);
    if (renamed) notes.push(renamed);

    const source: Partial<SourceInfo> = {
      format: scan.delimiter === "\t" ? "tsv" : "csv",
      encoding: text.encoding,
      delimiter: scan.delimiter,
      header: options.header,
      ...(named.renamed.length > 0 ? { renamedColumns: named.renamed } : {}),
      ...(scan.badRecords > 0 ? { skippedRows: scan.badRecords, skippedLines: scan.badSample.map((b) => b.line) } : {}),
      notes,
    };
    const report = wantReport ? await buildReport(lf, cols, names, types, votes, forced, nf) : undefined;
    addStage("infer", performance.now() - notesStart, cpuSince(notesCpu));
    return { frame, source, report };
  } finally {
    if (text.tempPath) await rm(text.tempPath, { force: true });
    await rm(rowsPath, { force: true });
  }
}

/**
 * Notes on values a type would not keep: columns left String because some numbers would not
 * survive as Float64; forced Int64/Float64 columns that round, overflow or drop leading/trailing
 * zeros; UTC offsets converted away.
 */
async function lossNotes(lf: pl.LazyDataFrame, cols: string[], names: string[], types: Inferred[], votes: ColumnVotes[], forced: Map<number, ForcedType>, nf: NumberFormat): Promise<string[]> {
  const exprs: pl.Expr[] = [];
  const stayedString: number[] = [];
  const forcedNumeric: [number, "Int64" | "Float64"][] = [];
  const utc: number[] = [];
  types.forEach((t, i) => {
    const c = pl.col(cols[i]!);
    const forcedType = forced.get(i);
    // The sample's shapes tell which String columns may be all numbers; only those are counted.
    if (forcedType === undefined && t === "String" && votes[i]!.present > 0 && votes[i]!.sampleMisfits.Float64 === 0) {
      // Were all values numbers, some of which would not survive as Float64?
      stayedString.push(i);
      const shaped = present(c).and(floatShaped(c, nf));
      const lost = shaped.and(fits(c, "Float64", nf).not());
      exprs.push(shaped.sum().alias(`s${i}:shaped`), lost.sum().alias(`s${i}:lost`), c.filter(lost).head(1).implode().alias(`s${i}:x`));
    }
    if ((forcedType === "Int64" || forcedType === "Float64") && (t === "Int64" || t === "Float64")) {
      forcedNumeric.push([i, t]);
      exprs.push(...forcedLossExprs(c, t, `f${i}`, nf));
    }
    if (t === "DatetimeUTC" || t === "DatetimeNsUTC") {
      utc.push(i);
      exprs.push(present(c).and(c.str.contains("(Z|[+-]00:?00)$").not()).fillNull(false).sum().alias(`u${i}`));
    }
  });
  if (exprs.length === 0) return [];
  const row = (await lf.select(exprs).collect()).toRecords()[0] as Record<string, unknown>;
  const first = (key: string) => {
    const v = row[key];
    return Array.isArray(v) && v.length > 0 ? JSON.stringify(String(v[0])) : null;
  };
  const notes: string[] = [];
  for (const i of stayedString) {
    const shaped = Number(row[`s${i}:shaped`] ?? 0);
    const lost = Number(row[`s${i}:lost`] ?? 0);
    if (shaped === votes[i]!.present && lost > 0) {
      notes.push(`Column ${JSON.stringify(names[i])} was kept as String: ${plural(lost, "number")} would not survive as Float64 (rounded or out of range, e.g. ${first(`s${i}:x`)}). Force schema={${JSON.stringify(names[i])}: "Float64"} to accept the rounding.`);
    }
  }
  for (const [i, t] of forcedNumeric) {
    const parts: string[] = [];
    const n = (kind: string) => Number(row[`f${i}:${kind}:n`] ?? 0);
    if (n("rounded") > 0) parts.push(`${plural(n("rounded"), "value")} rounded to the nearest Float64 (e.g. ${first(`f${i}:rounded:x`)})`);
    if (n("overflowed") > 0) parts.push(`${plural(n("overflowed"), "value")} out of the Float64 range, read as ±infinity or 0 (e.g. ${first(`f${i}:overflowed:x`)})`);
    if (n("formLost") > 0) parts.push(`${plural(n("formLost"), "value")} lost leading zeros, trailing decimal zeros or a plus sign (e.g. ${first(`f${i}:formLost:x`)})`);
    if (parts.length > 0) notes.push(`Column ${JSON.stringify(names[i])} (schema ${t}): ${parts.join("; ")}; the original text is not kept.`);
  }
  for (const i of utc) {
    const converted = Number(row[`u${i}`] ?? 0);
    if (converted > 0) notes.push(`Column ${JSON.stringify(names[i])}: ${plural(converted, "timestamp")} with a UTC offset other than Z ${converted === 1 ? "was" : "were"} converted to UTC; the offsets are not kept.`);
  }
  return notes;
}

/**
 * Notes on inferred Int64/Float64 columns whose text a number does not keep (QA finding Q3): a
 * plus sign (`+1` is 1) and, for Int64, `-0` (read as 0; a Float64 keeps -0.0). The value is the
 * same number, so the column keeps its type, but the text changes: said, as for forced types.
 * One expression per type over all its columns (Polars expands it), so cost does not grow with
 * the column count; examples are fetched only for the columns that have such values.
 */
async function signNotes(lf: pl.LazyDataFrame, cols: string[], names: string[], types: Inferred[], forced: Map<number, ForcedType>): Promise<string[]> {
  const of = (t: Inferred) => types.flatMap((type, i) => (type === t && !forced.has(i) ? [i] : []));
  const ints = of("Int64");
  const floats = of("Float64");
  // A prefix test and an equality, not regexes (`^\+`, `^-0$`): the same answers at a fraction of the cost.
  const count = (idx: number[], test: (c: pl.Expr) => pl.Expr, suffix: string) =>
    idx.length === 0 ? [] : [test(pl.col(idx.map((i) => cols[i]!))).fillNull(false).sum().suffix(suffix)];
  const plusSign = (c: pl.Expr) => c.str.startsWith("+");
  const minusZero = (c: pl.Expr) => c.eq(pl.lit("-0"));
  const exprs = [...count(ints, plusSign, ":plus"), ...count(floats, plusSign, ":plus"), ...count(ints, minusZero, ":minusZero")];
  if (exprs.length === 0) return [];
  const counts = new Map(nativeSeries(await lf.select(exprs).collect()).map((s) => [s.name, Number(s.toArray()[0] ?? 0)]));
  const flagged = [...ints, ...floats].filter((i) => (counts.get(`${cols[i]}:plus`) ?? 0) + (counts.get(`${cols[i]}:minusZero`) ?? 0) > 0);
  if (flagged.length === 0) return [];
  const examples = await lf.select(flagged.map((i) => pl.col(cols[i]!).filter(plusSign(pl.col(cols[i]!)).fillNull(false)).head(1).implode().alias(`${cols[i]}:x`))).collect();
  const example = new Map(nativeSeries(examples).map((s) => [s.name, (s.toArray()[0] as unknown[] | null)?.[0]]));
  return flagged.map((i) => {
    const plus = counts.get(`${cols[i]}:plus`) ?? 0;
    const minusZero = counts.get(`${cols[i]}:minusZero`) ?? 0;
    const parts: string[] = [];
    if (plus > 0) parts.push(`${plural(plus, "value")} written with a plus sign (e.g. ${JSON.stringify(String(example.get(`${cols[i]}:x`)))}) ${plus === 1 ? "was" : "were"} read without it`);
    if (minusZero > 0) parts.push(`${plural(minusZero, "value")} written as -0 ${minusZero === 1 ? "was" : "were"} read as 0`);
    return `Column ${JSON.stringify(names[i])} (${types[i]}): ${parts.join("; ")}; the original text is not kept. Upload with schema={${JSON.stringify(names[i])}: "String"} to keep it.`;
  });
}

async function buildReport(lf: pl.LazyDataFrame, cols: string[], names: string[], types: Inferred[], votes: ColumnVotes[], forced: Map<number, ForcedType>, nf: NumberFormat): Promise<ColumnReport[]> {
  const targets = new Map<number, Candidate>();
  types.forEach((t, i) => {
    if (forced.has(i)) return;
    const narrower = narrowerCandidate(votes[i]!, t);
    if (narrower) targets.set(i, narrower);
  });
  const examples = await counterexamples(lf, cols, targets, nf);
  return names.map((name, i) => ({
    name,
    dtype: dtypeOf(types[i]!),
    nullCount: 0, // filled from the typed frame by the caller
    counterexamples: examples.get(i) ?? [],
  }));
}
