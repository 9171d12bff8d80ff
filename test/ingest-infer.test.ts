/**
 * Type inference holds for the whole column, not only for the first rows that inference looks at
 * first: one odd value after 100k ordinary ones decides the type, and inspect names it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const ROWS = 100_000;

/** A one-column CSV: `ROWS` values made by `value`, then `last` (when given). */
function column(name: string, value: (i: number) => string, last?: string) {
  const lines = ["v"];
  for (let i = 0; i < ROWS; i++) lines.push(value(i));
  if (last !== undefined) lines.push(last);
  return tmp.write(`${name}.csv`, `${lines.join("\n")}\n`);
}

const int = (i: number) => String(i + 1);
const naive = (i: number) => `2024-01-${String((i % 28) + 1).padStart(2, "0")}T10:${String(i % 60).padStart(2, "0")}:00`;

async function inferred(upload: ReturnType<typeof column>): Promise<{ dtype: string; counterexamples: string[] }> {
  const report = await inspectUpload(upload, opts(), LIMITS);
  const { frame } = await parseUpload(upload, opts(), LIMITS);
  // The stored frame and the dry run agree on the type.
  expect(columnsOf(frame)[0]!.dtype).toBe(report.columns[0]!.dtype);
  return { dtype: report.columns[0]!.dtype, counterexamples: report.columns[0]!.counterexamples };
}

describe("inference over the whole column", () => {
  it("keeps a numeric column String when its last value is N/A, and names that value", async () => {
    expect(await inferred(column("na-last", int, "N/A"))).toEqual({ dtype: "String", counterexamples: ["N/A"] });
  });

  it("keeps an integer column String when its last value has a leading zero", async () => {
    expect((await inferred(column("zero-last", int, "00123"))).dtype).toBe("String");
  });

  it("keeps a datetime column String when one value at the end has an offset", async () => {
    expect(await inferred(column("offset-last", naive, "2024-03-01T10:00:00+02:00"))).toEqual({ dtype: "String", counterexamples: ["2024-03-01T10:00:00+02:00"] });
  });

  it("reads a column of offset datetimes as UTC, converted", async () => {
    const upload = column("offsets", (i) => `${naive(i)}${i % 2 === 0 ? "Z" : "+0130"}`);
    const { frame } = await parseUpload(upload, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "v", dtype: "Datetime(us, UTC)" }]);
    expect((await rowsOf(frame)).slice(0, 2)).toEqual([["2024-01-01T10:00:00Z"], ["2024-01-02T08:31:00Z"]]);
  });

  it("makes a column of integers Float64 when a decimal comes last, and names the decimal", async () => {
    expect(await inferred(column("decimal-last", int, "2.5"))).toEqual({ dtype: "Float64", counterexamples: ["2.5"] });
  });

  it("keeps a column String when an integer beyond Int64 comes last (as a float it would lose digits)", async () => {
    expect(await inferred(column("huge-last", int, "99999999999999999999"))).toEqual({ dtype: "String", counterexamples: ["99999999999999999999"] });
  });

  it("keeps a float column String when an integer-looking value beyond 2^53 comes last", async () => {
    expect((await inferred(column("inexact-last", (i) => `${i}.5`, "90071992547409930"))).dtype).toBe("String");
  });

  it("keeps Int64 for integers beyond 2^53 that fit Int64, served exactly", async () => {
    const upload = column("big-int-last", int, "9223372036854775807");
    const { frame } = await parseUpload(upload, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "v", dtype: "Int64" }]);
    expect((await rowsOf(frame)).at(-1)).toEqual(["9223372036854775807"]);
  });

  it("keeps a boolean column String when the last value is not true/false", async () => {
    expect(await inferred(column("bool-last", (i) => (i % 3 === 0 ? "TRUE" : "false"), "yes"))).toEqual({ dtype: "String", counterexamples: ["yes"] });
  });

  it("keeps a date column String when the last date is not a calendar date", async () => {
    expect(await inferred(column("bad-date-last", (i) => `2024-02-${String((i % 28) + 1).padStart(2, "0")}`, "2024-02-30"))).toEqual({ dtype: "String", counterexamples: ["2024-02-30"] });
  });

  it("makes a date column Datetime only when every value has a time (a lone datetime keeps it String)", async () => {
    expect(await inferred(column("date-then-datetime", (i) => `2024-02-${String((i % 28) + 1).padStart(2, "0")}`, "2024-02-01 10:00:00"))).toEqual({
      dtype: "String",
      counterexamples: ["2024-02-01 10:00:00"],
    });
  });

  it("infers a column whose first rows are all empty from the values further down", async () => {
    const lines = ["v,k"];
    for (let i = 0; i < ROWS; i++) lines.push(`${i < ROWS - 2 ? "" : String(i)},x`);
    const { frame } = await parseUpload(tmp.write("late-values.csv", `${lines.join("\n")}\n`), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "v", dtype: "Int64" },
      { name: "k", dtype: "String" },
    ]);
    expect((await rowsOf(frame)).slice(-3)).toEqual([
      [null, "x"],
      [ROWS - 2, "x"],
      [ROWS - 1, "x"],
    ]);
  });

  it("shows no counterexamples for a text column no narrower type fits", async () => {
    expect(await inferred(column("text", (i) => `item ${i}`))).toEqual({ dtype: "String", counterexamples: [] });
  });
});
