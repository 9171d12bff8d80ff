/**
 * Walks EVERY data file of the shared third-party corpus (../shared/corpus/MANIFEST.tsv) through
 * the parser sandbox (`createParser`, the same child processes the upload route uses) and asserts
 * the outcome the manifest documents:
 * - csv-spectrum and csvw: every value, against their expected JSON;
 * - parquet-testing's `*_expect.csv`: every value of the Parquet file, against the CSV;
 * - `rows=N cols=M [Python csv…]`, `footer: num_rows=…`, OOXML sheet counts and `<dimension>`s;
 * - the right 4xx for what must be refused (xlsb/ods 415, encrypted 422, known-bad Parquet 422,
 *   unsupported types 422 naming the column, ragged CSV rows 422 naming the line).
 * Where the service deliberately does something else, DEVIATIONS says what and why; nothing is
 * loosened silently. A summary (ok / expected error / mismatch) is printed and, on a full run,
 * written to docs/corpus-results.md. Skipped cleanly when ../shared/corpus is absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { ApiError } from "../src/errors.ts";
import { frameHeight, frameSeries, lazyOf } from "../src/frame/safe.ts";
import { DEFAULT_OPTIONS, type ParseOptions } from "../src/ingest/options.ts";
import { createParser, type Parser } from "../src/sandbox/parser.ts";
import type { SourceInfo } from "../src/types.ts";

const CORPUS = path.resolve(import.meta.dirname, "..", "..", "shared", "corpus");
const RESULTS = path.resolve(import.meta.dirname, "..", "docs", "corpus-results.md");

/** Parses in the sandbox like an upload and reads back the data file the child wrote. */
async function parseFrame(parser: Parser, upload: { path: string; originalName: string; sizeBytes: number }, options: ParseOptions): Promise<{ frame: pl.DataFrame; source: SourceInfo }> {
  const outPath = path.join(os.tmpdir(), `ds-corpus-${process.pid}-${Math.random().toString(36).slice(2)}.parquet`);
  try {
    const parsed = await parser.parse(upload, options, { outPath });
    return { frame: pl.readParquet(outPath), source: parsed.source };
  } finally {
    rmSync(outPath, { force: true });
  }
}
const present = existsSync(path.join(CORPUS, "MANIFEST.tsv"));

interface Row {
  rel: string;
  format: string;
  expected: string;
}

type Outcome =
  | { kind: "ok"; rows?: number; cols?: number; sheets?: number; sheet?: string; values?: "csv-spectrum" | "csvw" | "parquet-expect" }
  | { kind: "error"; status: number; code?: string; detailIncludes?: string };

interface Expectation {
  outcome: Outcome;
  /** Options of the upload (defaults otherwise). */
  options?: Partial<ParseOptions>;
  /** Where the expectation comes from: the manifest, or a deliberate deviation (with its reason). */
  basis: string;
  /** A second upload with onBadRows=skip and the rows it must give (ragged files). */
  skipRows?: number;
}

/**
 * Deliberate deviations from the manifest's expected outcome: file → what the service does, and
 * why. Each is asserted exactly; the reason is printed in the summary.
 */
const DEVIATIONS: Record<string, { outcome: Outcome; why: string }> = {
  // --- CSV: csv-parser fixtures written for csv-parser-specific options we do not offer ---
  "csv-parser/test/fixtures/option-escape.csv": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "Line 2" },
    why: "uses a custom escape character (csv-parser `escape` option); RFC 4180 readers see text after a closing quote, which we refuse naming the line instead of guessing like Python's lenient reader",
  },
  "csv-parser/test/fixtures/option-maxRowBytes.csv": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "Line 4578" },
    why: "contains a malformed quoted field at line 4578 (csv-parser tests its byte limit with it); Python reads past it leniently, we refuse naming the line",
  },
  // --- Excel: the used range is recomputed from the non-empty cells (documented rule: a declared
  // <dimension> also counts formatted or empty cells, and can be forged, e.g. A1:XFD1048576). The
  // manifest gives the declared <dimension>; these files declare more than their cells fill.
  "calamine/tests/errors.xlsx": { outcome: { kind: "ok", rows: 6, cols: 1, sheets: 3 }, why: "declares A1:A20; cells fill A1:A7 (error cells, read as null)" },
  "calamine/tests/hyperlinks.xlsx": { outcome: { kind: "ok", rows: 7, cols: 2, sheets: 2 }, why: "declares A1:C8; column C holds only empty (styled) cells" },
  "calamine/tests/issue446.xlsx": { outcome: { kind: "ok", rows: 1, cols: 29, sheets: 1 }, why: "declares E1:AH6; rows 1-4 hold only empty strings, so the used range is E5:AH6" },
  "calamine/tests/issue_261.xlsx": { outcome: { kind: "ok", rows: 65, cols: 7, sheets: 1 }, why: "declares A1:H66; column H is empty" },
  "calamine/tests/issue_261_fixed_by_excel.xlsx": { outcome: { kind: "ok", rows: 65, cols: 7, sheets: 1 }, why: "declares A1:H66; column H is empty" },
  "calamine/tests/issue_553.xlsx": { outcome: { kind: "ok", rows: 18, cols: 1, sheets: 1 }, why: "declares A1:W890; cells fill B2:B20 only" },
  "calamine/tests/merge_cells.xlsx": { outcome: { kind: "ok", rows: 1, cols: 3, sheets: 1 }, why: "declares A1:D4 (merged areas); values sit in A1:C2" },
  "calamine/tests/merged_range.xlsx": { outcome: { kind: "ok", rows: 3, cols: 8, sheets: 2 }, why: "declares A1:H5; row 5 is empty (merged cells keep their value in the top-left cell)" },
  "calamine/tests/richtext-namespaced.xlsx": { outcome: { kind: "ok", rows: 0, cols: 8, sheets: 3 }, why: "declares A1:M3; only A1 and H1 hold values, so the sheet is a header row without data" },
  "calamine/tests/temperature-in-middle.xlsx": { outcome: { kind: "ok", rows: 2, cols: 2, sheets: 1 }, why: "declares A1:E10; the table sits in B4:C6" },
  "calamine/tests/empty_shared_string.xlsx": { outcome: { kind: "ok", rows: 0, cols: 1, sheets: 1 }, why: "A2 is an empty string, an empty cell by our rule, so only the header row remains" },
  // --- Excel: workbooks without any data are a 422 (documented rule), not an empty version ---
  "calamine/tests/empty_sheet.xlsx": { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" }, why: "its only sheet is empty; an upload without data is refused with a clear 422" },
  "calamine/tests/issue127.xlsx": { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" }, why: "all 8 sheets are empty (calamine's test lists sheet names only)" },
  "calamine/tests/picture.xlsx": { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" }, why: "holds pictures only, no cells" },
  "calamine/tests/vba.xlsm": { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" }, why: "its sheets have empty <sheetData/>; calamine's test reads the VBA project, which is never run or read here" },
  "calamine/tests/issue281.xlsm": { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" }, why: "its sheets have no cells; calamine's test reads the VBA project only" },
  // --- Parquet ---
  "parquet-testing/bad_data/ARROW-GH-43605.parquet": { outcome: { kind: "ok", rows: 21186, cols: 1 }, why: "the manifest allows either; polars decodes the bit-width-0 RLE dictionary indices leniently and every footer check holds" },
  // --- Excel: sheets SheetJS 0.18.5 sees as empty ---
  "calamine/tests/capitalized_wbook_stream.xls": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" },
    why: "the BIFF stream is named WORKBOOK (capitalised); SheetJS 0.18.5 finds the sheet list but no cells. A clear 422, not wrong data",
  },
  "calamine/tests/misc_biff5_parsing.xls": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" },
    why: "BIFF5 workbook whose cells SheetJS 0.18.5 does not read (calamine's test checks defined names and empty sheets only)",
  },
  "calamine/tests/picture.xls": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" },
    why: "holds pictures only, no cells (calamine's test reads the pictures); a workbook without data is a 422",
  },
  "calamine/tests/issue343.xls": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" },
    why: "its only cell (A1) is empty; a workbook without data is a 422",
  },
  "calamine/tests/issue127.xls": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "every sheet is empty" },
    why: "every sheet is empty (calamine's test only lists sheet names); a workbook without data is a 422",
  },
  // --- Parquet: readable files nodejs-polars 0.26.1 cannot read (a clear 422, never garbage) ---
  "parquet-testing/data/dict-page-offset-zero.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "SortingColumn" },
    why: "valid file; polars' Parquet reader rejects its metadata (SortingColumn.descending missing)",
  },
  "parquet-testing/data/concatenated_gzip_members.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "could not be read" },
    why: "valid file; polars' gzip decoder stops after the first gzip member",
  },
  "parquet-testing/data/byte_stream_split_extended.gzip.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "ByteStreamSplit" },
    why: "valid file; polars does not decode BYTE_STREAM_SPLIT for FIXED_LEN_BYTE_ARRAY columns",
  },
  "parquet-testing/data/floating_orders_nan_count.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "Float32" },
    why: "valid file; polars reads its FLOAT16 column as raw bytes, which cannot be turned into numbers here",
  },
  "parquet-testing/data/binary_truncated_min_max.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "not UTF-8" },
    why: "binary columns that are not UTF-8 text: the service stores tables of text/numbers/dates, not raw bytes",
  },
  "parquet-testing/data/fixed_length_byte_array.parquet": {
    outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "flba_field" },
    why: "FIXED_LEN_BYTE_ARRAY without annotation holds raw bytes (not UTF-8): unsupported type, named",
  },
};

function parseManifest(): Row[] {
  const lines = readFileSync(path.join(CORPUS, "MANIFEST.tsv"), "utf8").trimEnd().split("\n").slice(1);
  return lines.map((l) => {
    const [rel = "", , , format = "", , expected = ""] = l.split("\t");
    return { rel, format, expected };
  });
}

/** Column index (0-based) of letters like "AB". */
function colIndex(letters: string): number {
  return [...letters].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
}

/** Rows × columns of an A1-style range ("A3:D10" → 8 × 4, "B2" → 1 × 1). */
function rangeSize(ref: string): { rows: number; cols: number } {
  const [a, b = a] = ref.split(":") as [string, string?];
  const m1 = /^([A-Z]+)(\d+)$/.exec(a)!;
  const m2 = /^([A-Z]+)(\d+)$/.exec(b!)!;
  return { rows: Number(m2[2]) - Number(m1[2]) + 1, cols: colIndex(m2[1]!) - colIndex(m1[1]!) + 1 };
}

/** The documented outcome of one file, from the manifest's text (or DEVIATIONS). */
function expectationFor(row: Row): Expectation {
  const deviation = DEVIATIONS[row.rel];
  if (deviation) return { outcome: deviation.outcome, basis: `deviation: ${deviation.why}` };
  const e = row.expected;
  const err = (status: number, code: string, detailIncludes?: string): Expectation => ({ outcome: { kind: "error", status, code, detailIncludes }, basis: "manifest" });
  if (row.format === "ods" || row.format === "xlsb") return err(415, "UNSUPPORTED_FORMAT");
  if (row.format.includes("encrypted") || /password-protected/.test(e)) return err(422, "UNPARSEABLE_FILE", "encrypted");
  if (/zip archive but not a workbook/.test(e)) return err(415, "UNSUPPORTED_FORMAT");
  if (/not an OLE2 or zip file: should be rejected/.test(e)) return err(415, "UNSUPPORTED_FORMAT");
  if (row.format === "parquet") {
    const nested = /nested cols: ([^ ,[]+)/.exec(e);
    if (/GEOMETRY\/GEOGRAPHY|VARIANT/.test(e)) return err(422, "UNPARSEABLE_FILE", "does not support");
    if (/KNOWN-BAD|should be rejected|DECOMPRESSION BOMB|footer read fails/.test(e)) return err(422, "UNPARSEABLE_FILE");
    if (/unknown LogicalType/.test(e)) return err(422, "UNPARSEABLE_FILE", "UNKNOWN");
    if (nested) return err(422, "UNPARSEABLE_FILE", JSON.stringify(nested[1]));
    const footer = /footer: num_rows=(\d+) top-level cols=(\d+)/.exec(e);
    const expect = /expected (?:values )?at parquet-testing\/data\/\S+_expect\.csv/.test(e);
    if (footer) return { outcome: { kind: "ok", rows: Number(footer[1]), cols: Number(footer[2]), values: expect ? "parquet-expect" : undefined }, basis: "manifest (footer)" };
  }
  if (row.format.startsWith("csv")) {
    const m = /rows=(\d+) cols=(\d+) \[Python csv/.exec(e);
    const rows = m ? Number(m[1]) : undefined;
    const cols = m ? Number(m[2]) : undefined;
    const ragged = /ragged rows: field counts \{([^}]*)\} vs header (\d+)/.exec(e);
    if (ragged && rows !== undefined) {
      // Our documented rule: a row with the wrong field count is a 422 naming its line (nothing
      // stored); with onBadRows=skip the others are kept, i.e. Python's count minus the ragged rows.
      const header = Number(ragged[2]);
      const bad = ragged[1]!.split(",").map((p) => p.split(":").map((x) => Number(x.trim()))).filter(([fields]) => fields !== header).reduce((s, [, n]) => s + (n ?? 0), 0);
      return { outcome: { kind: "error", status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "Line " }, basis: "manifest (ragged rows → 422 by default)", skipRows: rows - bad };
    }
    const values = row.rel.startsWith("csv-spectrum/") ? "csv-spectrum" : row.rel.startsWith("csvw/") ? "csvw" : undefined;
    return { outcome: { kind: "ok", rows, cols, values }, basis: "manifest (Python csv)" };
  }
  if (row.format === "xlsx" || row.format === "xlsm") {
    const sheets = /OOXML zip: sheets=(\d+)/.exec(e);
    const dim = /sheet1\.xml <dimension>=([A-Z]+\d+(?::[A-Z]+\d+)?)/.exec(e);
    const size = dim && !/issue_174/.test(row.rel) ? rangeSize(dim[1]!) : null;
    return { outcome: { kind: "ok", sheets: sheets ? Number(sheets[1]) : undefined, rows: size ? size.rows - 1 : undefined, cols: size?.cols }, basis: "manifest (OOXML)" };
  }
  if (row.format === "xls") {
    if (/should be rejected/.test(e)) return err(422, "UNPARSEABLE_FILE");
    const sheet = /1 sheet named '([^']+)'/.exec(e) ?? /sheet '([^']+)' size/.exec(e);
    const size = /size (\d+)x(\d+)/.exec(e);
    return { outcome: { kind: "ok", sheet: sheet?.[1], rows: size ? Number(size[1]) - 1 : undefined, cols: size ? Number(size[2]) : undefined }, basis: "manifest (OLE2)" };
  }
  return { outcome: { kind: "ok" }, basis: "manifest" };
}

/** Every value of a frame as text (null stays null), column by column. */
async function textColumns(frame: pl.DataFrame): Promise<(string | null)[][]> {
  const names = frameSeries(frame).map((s) => s.name);
  const df = await lazyOf(frame).select(names.map((n, i) => pl.col(n).cast(pl.String).alias(`c${i}`))).collect();
  return frameSeries(df).map((s) => [...(s.toArray() as (string | null)[])]);
}

/** Rows as arrays of text, for comparing with expected JSON. */
async function textRows(frame: pl.DataFrame): Promise<(string | null)[][]> {
  const cols = await textColumns(frame);
  const height = frameHeight(frame);
  return Array.from({ length: height }, (_, r) => cols.map((c) => c[r] ?? null));
}

type Verdict = "ok" | "expected error" | "mismatch";
const results: { rel: string; verdict: Verdict; got: string; basis: string }[] = [];

describe.skipIf(!present)("third-party corpus walk (through the parser sandbox)", () => {
  const rows = present ? parseManifest().filter((r) => !/^(md|json)/.test(r.format) && r.format !== "format") : [];
  let parser: Parser;
  let uploadDir: string;

  beforeAll(() => {
    uploadDir = mkdtempSync(path.join(os.tmpdir(), "corpus-uploads-"));
    parser = createParser(loadConfig({ UPLOAD_DIR: uploadDir, PARSE_TIMEOUT_MS: "30000", PARSE_MEMORY_MB: "2048", PARSE_WORKERS: "2", LOG_LEVEL: "silent" }, {}));
  });

  afterAll(async () => {
    await parser?.close();
    if (uploadDir) rmSync(uploadDir, { recursive: true, force: true });
    if (results.length === 0) return;
    const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
    const summary = `files: ${results.length} — ok: ${count("ok")}, expected error: ${count("expected error")}, mismatches: ${count("mismatch")}`;
    console.log(`\ncorpus walk: ${summary}\n${results.filter((r) => r.verdict === "mismatch").map((r) => `  MISMATCH ${r.rel}: ${r.got}`).join("\n")}`);
    // Written only by a full walk, so a filtered run (-t) never truncates the document.
    if (results.length === rows.length) writeFileSync(RESULTS, resultsDocument(summary));
  });

  for (const row of rows) {
    const exp = expectationFor(row);
    const label = exp.outcome.kind === "ok" ? "reads" : `answers ${exp.outcome.status}`;
    it(`${label} ${row.rel}`, async () => {
      const file = path.join(CORPUS, row.rel);
      const upload = { path: file, originalName: path.basename(file), sizeBytes: statSync(file).size };
      let got = "";
      try {
        const outcome = exp.outcome;
        if (outcome.kind === "error") {
          let error: unknown = null;
          try {
            await parseFrame(parser, upload, { ...DEFAULT_OPTIONS, ...exp.options });
          } catch (err) {
            error = err;
          }
          got = error instanceof ApiError ? `${error.status} ${error.code}: ${error.message.slice(0, 120)}` : "read without error";
          expect(error).toBeInstanceOf(ApiError);
          const api = error as ApiError;
          expect(api.status).toBe(outcome.status);
          if (outcome.code) expect(api.code).toBe(outcome.code);
          if (outcome.detailIncludes) expect(api.message).toContain(outcome.detailIncludes);
          if (exp.skipRows !== undefined) {
            const skipped = await parseFrame(parser, upload, { ...DEFAULT_OPTIONS, onBadRows: "skip" });
            got += `; onBadRows=skip: ${frameHeight(skipped.frame)} rows`;
            expect(frameHeight(skipped.frame)).toBe(exp.skipRows);
          }
          results.push({ rel: row.rel, verdict: "expected error", got, basis: exp.basis });
          return;
        }
        const options: Partial<ParseOptions> = { ...exp.options };
        if (outcome.values === "csvw" && /test019/.test(row.rel)) options.header = false;
        const { frame, source } = await parseFrame(parser, upload, { ...DEFAULT_OPTIONS, ...options });
        const height = frameHeight(frame);
        const width = frameSeries(frame).length;
        got = `${height} rows × ${width} cols${source.sheet ? `, sheet ${JSON.stringify(source.sheet)}` : ""}${source.sheets ? ` of ${source.sheets.length}` : ""}`;
        // Python's counts exclude the first row, which header=false keeps as data.
        if (outcome.rows !== undefined) expect(height).toBe(outcome.rows + (options.header === false ? 1 : 0));
        if (outcome.cols !== undefined) expect(width).toBe(outcome.cols);
        if (outcome.sheets !== undefined) expect(source.sheets?.length).toBe(outcome.sheets);
        if (outcome.sheet !== undefined) expect(source.sheet).toBe(outcome.sheet);
        if (outcome.values) {
          await compareValues(row.rel, outcome.values, frame);
          got += ", every value equal";
        }
        results.push({ rel: row.rel, verdict: "ok", got, basis: exp.basis });
      } catch (err) {
        results.push({ rel: row.rel, verdict: "mismatch", got: got || String(err).slice(0, 200), basis: exp.basis });
        throw err;
      }
    });
  }

  async function compareValues(rel: string, kind: "csv-spectrum" | "csvw" | "parquet-expect", frame: pl.DataFrame): Promise<void> {
    const names = frameSeries(frame).map((s) => s.name);
    const got = await textRows(frame);
    if (kind === "csv-spectrum") {
      // Unquoted empty fields are null by our rule; csv-spectrum writes them as "".
      const expected = JSON.parse(readFileSync(path.join(CORPUS, rel.replace("/csvs/", "/json/").replace(/\.csv$/, ".json")), "utf8")) as Record<string, string>[];
      expect(names).toEqual(Object.keys(expected[0] ?? {}));
      expect(got.map((r) => r.map((v) => v ?? ""))).toEqual(expected.map((o) => Object.values(o)));
      return;
    }
    if (kind === "csvw") {
      const doc = JSON.parse(readFileSync(path.join(CORPUS, rel.replace(/\.csv$/, ".json")), "utf8")) as { tables: { row: { describes: Record<string, unknown>[] }[] }[] };
      const expected = doc.tables[0]!.row.map((r) => Object.values(r.describes[0] ?? {}).map((v) => String(v)));
      expect(got.map((r) => r.map((v) => v ?? ""))).toEqual(expected);
      return;
    }
    // parquet-expect: the Parquet file's values equal its *_expect.csv, read through the same sandbox.
    const csvPath = path.join(CORPUS, rel.replace(/\.parquet$/, "_expect.csv"));
    const csv = await parseFrame(parser, { path: csvPath, originalName: path.basename(csvPath), sizeBytes: statSync(csvPath).size }, { ...DEFAULT_OPTIONS });
    // Compared by position: the CSVs' headers carry stray spaces and colons ("c_customer_sk:").
    expect(frameSeries(csv.frame).length).toBe(names.length);
    expect(got).toEqual(await textRows(csv.frame));
  }
});

function resultsDocument(summary: string): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    "# Corpus results",
    "",
    "Generated by `test/corpus.test.ts` (a full walk of `../shared/corpus/MANIFEST.tsv` through the",
    "parser sandbox, `PARSE_MEMORY_MB=2048`). Run: `PATH=$PWD/node_modules/.bin:$PATH npx vitest run test/corpus.test.ts`.",
    "",
    `**${summary}**`,
    "",
    "Expected errors are the documented refusals (unsupported formats and types, encrypted or damaged",
    "files, ragged CSV rows). Rows marked *deviation* are deliberate differences from the manifest, with",
    "the reason; they are asserted exactly, like the rest.",
    "",
    "| file | verdict | outcome | basis |",
    "| --- | --- | --- | --- |",
    ...results.map((r) => `| ${r.rel} | ${r.verdict} | ${esc(r.got)} | ${esc(r.basis)} |`),
    "",
  ];
  return lines.join("\n");
}
