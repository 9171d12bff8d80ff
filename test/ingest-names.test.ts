/**
 * Column names never scramble columns (issue 10): generated header names — integer-like (`2019`,
 * `0`, `-1`), names of internal things (`count`, `__row`, `__ingest_c0`, `p:x`), Polars patterns,
 * empty, duplicate, very long and Unicode — written by independent writers, read back column by
 * column: every column keeps its position, its (documented) name and its own values.
 */
import fc from "fast-check";
import XLSX from "xlsx";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { uniqueNames } from "../src/ingest/names.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const SEED = 20261201;
const RUNS = Number(process.env.GEN_RUNS ?? 10);

/** Header names people and programs write, weighted towards the ones that broke things. */
const nameArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -5, max: 3000 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom("count", "len", "index", "__row", "__ingest_c0", "__ingest_c1", "__typed0:x", "n", "p:x", "e:x", "row", "*", "^a$", "", " ", "0", "00", "1e3", "column_1", "constructor", "__proto__", "toString", "height", "columns") },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 200, maxLength: 400 }) },
);

/** A table: names, and per column either text or numbers, with a distinct value in every cell. */
const tableArb = fc.record({
  names: fc.array(nameArb, { minLength: 1, maxLength: 12 }),
  rows: fc.integer({ min: 1, max: 4 }),
  numeric: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
});

type Table = { names: string[]; rows: number; numeric: boolean[] };

function cell(t: Table, r: number, c: number): string | number {
  return t.numeric[c] ? r * 100 + c + 0.5 : `r${r}c${c}`;
}

/** RFC 4180 text with every field quoted (an independent, minimal writer). */
function csvText(t: Table, delimiter: string): string {
  const q = (v: string | number) => `"${String(v).replaceAll('"', '""')}"`;
  const lines = [t.names.map(q).join(delimiter)];
  for (let r = 0; r < t.rows; r++) lines.push(t.names.map((_, c) => (t.numeric[c] ? String(cell(t, r, c)) : q(cell(t, r, c)))).join(delimiter));
  return `${lines.join("\r\n")}\r\n`;
}

/** What the service must answer: names per the documented renaming rule, values by position. */
function expected(t: Table) {
  const { names } = uniqueNames(t.names);
  return {
    columns: names.map((name, c) => ({ name, dtype: t.numeric[c] ? "Float64" : "String" })),
    rows: Array.from({ length: t.rows }, (_, r) => t.names.map((_, c) => cell(t, r, c))),
  };
}

/** Names as they survive in text files: no byte-order mark at the very start (it is not data). */
const textSafe = (t: Table) => ({ ...t, names: t.names.map((n, i) => (i === 0 ? n.replace(/^\uFEFF+/, "") : n)) });

let counter = 0;

describe("generated header names keep every column in place", () => {
  it("CSV: names and values come back by position", async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async (raw) => {
        const t = textSafe(raw);
        const upload = tmp.write(`names-${counter++}.csv`, csvText(t, ","));
        const { frame, source } = await parseUpload(upload, opts({ delimiter: "," }), LIMITS);
        const want = expected(t);
        expect(columnsOf(frame)).toEqual(want.columns);
        expect(await rowsOf(frame)).toEqual(want.rows);
        expect(source.renamedColumns ?? []).toEqual(uniqueNames(t.names).renamed);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("TSV: the same with a sniffed tab delimiter", async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async (raw) => {
        const t = textSafe(raw);
        const upload = tmp.write(`names-${counter++}.tsv`, csvText(t, "\t"));
        const { frame } = await parseUpload(upload, opts({ delimiter: "\t" }), LIMITS);
        const want = expected(t);
        expect(columnsOf(frame)).toEqual(want.columns);
        expect(await rowsOf(frame)).toEqual(want.rows);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it("Excel (written by SheetJS): names and values come back by position", async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async (t) => {
        const aoa: (string | number)[][] = [t.names, ...Array.from({ length: t.rows }, (_, r) => t.names.map((_, c) => cell(t, r, c)))];
        const wb = XLSX.utils.book_new();
        XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(aoa), "Data");
        const upload = tmp.write(`names-${counter++}.xlsx`, XLSX.write(wb, { type: "buffer", bookType: "xlsx" }) as Buffer);
        const { frame } = await parseUpload(upload, opts(), LIMITS);
        const want = expected(t);
        // Excel numbers that are all whole are Int64; these never are (x.5).
        expect(columnsOf(frame)).toEqual(want.columns);
        expect(await rowsOf(frame)).toEqual(want.rows);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it("Parquet: columns keep their order whatever their names", async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, async (t) => {
        // Parquet needs distinct names; the file is written from Series, never from an object.
        const names = uniqueNames(t.names).names;
        const series = names.map((n, c) => pl.Series(n, Array.from({ length: t.rows }, (_, r) => cell(t, r, c)), t.numeric[c] ? pl.Float64 : pl.String));
        const path = `${tmp.dir}/names-${counter++}.parquet`;
        pl.DataFrame(series).writeParquet(path);
        const upload = tmp.write(path.split("/").pop()!, (await import("node:fs")).readFileSync(path));
        const { frame } = await parseUpload(upload, opts(), LIMITS);
        const want = expected({ ...t, names });
        expect(columnsOf(frame)).toEqual(want.columns);
        expect(await rowsOf(frame)).toEqual(want.rows);
      }),
      { seed: SEED + 3, numRuns: RUNS },
    );
  });

  it("inspect lists columns in file order and puts each preview value under its own name", async () => {
    const upload = tmp.write("years.csv", "country,2019,2020,2021\nFrance,1.5,2.5,3.5\n");
    const report = await inspectUpload(upload, opts(), LIMITS);
    expect(report.columns.map((c) => [c.name, c.dtype])).toEqual([
      ["country", "String"],
      ["2019", "Float64"],
      ["2020", "Float64"],
      ["2021", "Float64"],
    ]);
    // The preview is JSON text in file order; parsed here (JS moves integer-like keys first), each value sits under its own name.
    expect(JSON.parse(report.previewJson)).toEqual([{ country: "France", 2019: 1.5, 2020: 2.5, 2021: 3.5 }]);
    expect(report.previewJson.indexOf('"country"')).toBeLessThan(report.previewJson.indexOf('"2019"'));
  });
});
