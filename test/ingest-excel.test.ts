/**
 * Excel values, not display formats (issue 10): workbooks written by SheetJS from generated values
 * with generated number formats; every number comes back as its exact value (or, in text columns,
 * its shortest round-trip text), times of day as Time and elapsed times as Duration, to the ms.
 */
import fc from "fast-check";
import XLSX from "xlsx";
import { afterAll, describe, expect, it } from "vitest";
import { parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const SEED = 20261206;
const RUNS = Number(process.env.GEN_RUNS ?? 10);
let n = 0;

/** Display formats that change how a number looks, never what it is. */
const numberFormat = fc.constantFrom("General", "0", "0.00", "0%", "0.00%", "#,##0", "#,##0.00", "0.00E+00", '"$"#,##0.00', "# ?/?", "@");
// SheetJS writes -0 as 0: the file cannot hold it, so it is not generated.
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }).filter((v) => !Object.is(v, -0));

function book(rows: (XLSX.CellObject | null)[][]): Buffer {
  const ws: XLSX.WorkSheet = {};
  rows.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell) ws[XLSX.utils.encode_cell({ r, c })] = cell;
    }),
  );
  ws["!ref"] = XLSX.utils.encode_range({ s: { r: 0, c: 0 }, e: { r: rows.length - 1, c: Math.max(...rows.map((r) => r.length)) - 1 } });
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, ws, "Data");
  return XLSX.write(wb, { type: "buffer", bookType: "xlsx" }) as Buffer;
}

const str = (v: string): XLSX.CellObject => ({ t: "s", v });
const num = (v: number, z: string): XLSX.CellObject => ({ t: "n", v, z });
const exactText = (v: number) => String(v);

describe("Excel numbers are values, whatever their display format", () => {
  it("numeric columns keep exact values; a column mixing numbers and text holds each number's shortest round-trip text", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(finite, numberFormat), { minLength: 1, maxLength: 8 }), async (cells) => {
        const rows = [[str("value"), str("mixed")], ...cells.map(([v, z]) => [num(v, z), num(v, z)]), [num(1.5, "General"), str("N/A")]];
        const { frame, source } = await parseUpload(tmp.write(`numbers-${n++}.xlsx`, book(rows)), opts(), LIMITS);
        const all = [...cells.map(([v]) => v), 1.5];
        const integral = all.every((v) => Number.isSafeInteger(v));
        expect(columnsOf(frame)).toEqual([
          { name: "value", dtype: integral ? "Int64" : "Float64" },
          { name: "mixed", dtype: "String" },
        ]);
        const got = await rowsOf(frame);
        expect(got.map((r) => r[0])).toEqual(all);
        expect(got.map((r) => r[1])).toEqual([...cells.map(([v]) => exactText(v)), "N/A"]);
        expect(source.notes?.join(" ")).toContain('Column "mixed" mixes numbers');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("schema={col: String} gives each number's exact text, not its display (0.25 stays \"0.25\", not \"25%\")", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(finite, numberFormat), { minLength: 1, maxLength: 8 }), async (cells) => {
        const rows = [[str("v")], ...cells.map(([v, z]) => [num(v, z)])];
        const { frame } = await parseUpload(tmp.write(`forced-${n++}.xlsx`, book(rows)), opts({ schema: { v: "String" } }), LIMITS);
        expect(columnsOf(frame)).toEqual([{ name: "v", dtype: "String" }]);
        expect((await rowsOf(frame)).map((r) => r[0])).toEqual(cells.map(([v]) => exactText(v)));
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });
});

describe("Excel times and durations", () => {
  const msOfDay = fc.integer({ min: 0, max: 86_399_999 });
  const elapsedMs = fc.integer({ min: -10 * 86_400_000, max: 400 * 86_400_000 });
  const clockFormat = fc.constantFrom("hh:mm:ss", "h:mm AM/PM", "h:mm:ss AM/PM", "mm:ss.000", "hh:mm");
  const elapsedFormat = fc.constantFrom("[h]:mm:ss", "[hh]:mm", "[mm]:ss", "[s]", "[h]:mm:ss.000");

  it("a time-of-day format gives Time and an elapsed format Duration(ms), exact to the millisecond", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(msOfDay, clockFormat, elapsedMs, elapsedFormat), { minLength: 1, maxLength: 8 }), async (cells) => {
        const rows = [[str("clock"), str("elapsed")], ...cells.map(([t, tz, d, dz]) => [num(t / 86_400_000, tz), num(d / 86_400_000, dz)])];
        const { frame } = await parseUpload(tmp.write(`times-${n++}.xlsx`, book(rows)), opts(), LIMITS);
        expect(columnsOf(frame)).toEqual([
          { name: "clock", dtype: "Time" },
          { name: "elapsed", dtype: "Duration(ms)" },
        ]);
        const got = await rowsOf(frame);
        expect(got.map((r) => Number(r[0]) / 1e6)).toEqual(cells.map(([t]) => t));
        expect(got.map((r) => Number(r[1]))).toEqual(cells.map(([, , d]) => d));
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it("never merges serial 60 (1900-02-29, which did not exist) into 1900-02-28", async () => {
    const { frame, source } = await parseUpload(tmp.write("serial60.xlsx", book([[str("d")], [num(59, "yyyy-mm-dd")], [num(60, "yyyy-mm-dd")], [num(60.5, "yyyy-mm-dd hh:mm")], [num(61, "yyyy-mm-dd")]])), opts(), LIMITS);
    expect((await rowsOf(frame)).map((r) => r[0])).toEqual(["1900-02-28", null, null, "1900-03-01"]);
    expect(source.notes?.join(" ")).toContain("2 cells hold serial 60, Excel's fictitious date 1900-02-29");
    expect(source.notes?.join(" ")).toContain("(A3, A4)");
  });
});

describe("options that do not apply", () => {
  it("CSV-only options sent with a workbook are ignored and said so", async () => {
    const { source } = await parseUpload(tmp.write("opts.xlsx", book([[str("a")], [num(1, "General")]])), opts({ delimiter: ";", quoting: "lenient", decimalComma: true }), LIMITS);
    expect(source.notes).toContain("The options delimiter, decimalComma, quoting do not apply to Excel files and were ignored.");
  });
});

describe("dates Excel itself cannot show", () => {
  it("a date-formatted number beyond 9999-12-31 (Excel shows ####) is read as the number, noted", async () => {
    const { frame, source } = await parseUpload(tmp.write("undated.xlsx", book([[str("d")], [num(45293, "yyyy-mm-dd")], [num(100_000_000, "yyyy-mm-dd")]])), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "d", dtype: "String" }]);
    expect((await rowsOf(frame)).map((r) => r[0])).toEqual(["2024-01-02", "100000000"]);
    expect(source.notes?.join(" ")).toContain("1 cell formatted as a date holds a number outside Excel's date range");
  });

  it("Excel's East Asian built-in date and time formats (ids 27–36, 50–58, stored without their text) give dates and times (QA Q26)", async () => {
    // The workbook's own table (wb.SSF) makes SheetJS write these two codes as the built-in ids 31
    // and 33, with no <numFmt> text, as East Asian Excel writes them.
    const ws: XLSX.WorkSheet = { A1: str("d"), B1: str("t"), C1: str("n"), A2: num(45000.25, 'yyyy"年"m"月"d"日"'), B2: num(0.25, 'h"時"mm"分"ss"秒"'), C2: num(45000.25, "General") };
    ws["!ref"] = "A1:C2";
    const wb = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(wb, ws, "Data");
    (wb as { SSF?: Record<number, string> }).SSF = { 31: 'yyyy"年"m"月"d"日"', 33: 'h"時"mm"分"ss"秒"' };
    const buf = XLSX.write(wb, { type: "buffer", bookType: "xlsx" }) as Buffer;
    const styles = (XLSX.read(buf, { type: "buffer", bookFiles: true }) as unknown as { files: Record<string, { content: Uint8Array }> }).files["xl/styles.xml"];
    const xml = Buffer.from(styles?.content ?? []).toString("utf8");
    expect(xml).toMatch(/<xf numFmtId="31"/);
    expect(xml).toMatch(/<xf numFmtId="33"/);
    expect(xml).not.toMatch(/<numFmt numFmtId="3[13]"/);
    const { frame } = await parseUpload(tmp.write("cjk.xlsx", buf), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "d", dtype: "Datetime(us)" },
      { name: "t", dtype: "Time" },
      { name: "n", dtype: "Float64" },
    ]);
  });

  it("an elapsed-time number too large for exact milliseconds is read as the number, noted, never as 0 (QA Q25)", async () => {
    const rows = [[str("d"), str("huge")], [num(1.5, "[h]:mm:ss"), num(1e308, "[h]:mm:ss")], [num(1e10, "[h]:mm:ss"), num(-1.1e11, "[h]:mm:ss")]];
    const { frame, source } = await parseUpload(tmp.write("unelapsed.xlsx", book(rows)), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "d", dtype: "String" },
      { name: "huge", dtype: "Float64" },
    ]);
    const got = await rowsOf(frame);
    expect(got.map((r) => r[0])).toEqual(["PT129600S", "10000000000"]);
    expect(got.map((r) => r[1])).toEqual([1e308, -1.1e11]);
    expect(source.notes?.join(" ")).toContain("3 cells formatted as elapsed time ([h]:mm:ss) hold numbers of days too large for an exact duration");
  });
});
