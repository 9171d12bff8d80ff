/**
 * Wide CSV files are inferred on the long form (src/ingest/infer.ts `columnAggregates`,
 * `verifyLong`: from 32 columns on), narrow ones by multi-column expressions. Generated columns of
 * every inferred type, edge values and misfits included, must come out the same either way: each
 * column of a 40-column file against the same column in a 20-column file — dtype, every value (as
 * rendered), the inspect counterexamples and null counts.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Values of one kind, with a few that change the type (a misfit) or are empty. */
const KINDS: fc.Arbitrary<string>[] = [
  fc.integer({ min: -1e9, max: 1e9 }).map(String),
  fc.constantFrom("007", "-0", "+5", "9223372036854775807", "9223372036854775808"),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom("0.1", "0.30000000000000004", "0.1234567890123456789", "1e400", "1e-400", "NaN", "inf", "-Infinity", "1.000000000000000056e-01", "2.5"),
  fc.date({ min: new Date("1900-01-01"), max: new Date("2200-12-31"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.date({ min: new Date("1900-01-01"), max: new Date("2200-12-31"), noInvalidDate: true }).map((d) => d.toISOString().replace("Z", "").replace(/\.000$/, "")),
  fc.constantFrom("2024-01-02T03:04:05Z", "2024-01-02 03:04:05+0130", "2024-01-02T03:04:05.123456789", "2024-02-30", "12:34:56", "12:34:56.5", "PT1.5S", "-PT0.000001S"),
  fc.constantFrom("true", "FALSE", "True", "yes"),
  fc.constantFrom("", '""', "x", "N/A", "a,b", "ünï"),
];

/** A column: mostly one kind, sometimes mixed with another. */
const columnValues = (rows: number) =>
  fc.tuple(fc.nat({ max: KINDS.length - 1 }), fc.nat({ max: KINDS.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true })).chain(([a, b, mix]) =>
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }).chain((r) => (r < mix * 0.3 ? KINDS[b]! : KINDS[a]!)), { minLength: rows, maxLength: rows }),
  );

const quote = (v: string) => (v === "" || v === '""' ? v : /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

function csv(names: string[], columns: string[][], rows: number): string {
  const lines = [names.join(",")];
  for (let r = 0; r < rows; r++) lines.push(columns.map((c) => quote(c[r]!)).join(","));
  return `${lines.join("\n")}\n`;
}

let n = 0;
async function described(names: string[], columns: string[][], rows: number) {
  const file = tmp.write(`t${n++}.csv`, csv(names, columns, rows));
  const { frame } = await parseUpload(file, opts(), LIMITS);
  const report = await inspectUpload(file, opts(), LIMITS);
  const values = await rowsOf(frame);
  return names.map((_, i) => ({
    dtype: columnsOf(frame)[i]!.dtype,
    values: values.map((r) => r[i]),
    report: { dtype: report.columns[i]!.dtype, nullCount: report.columns[i]!.nullCount, counterexamples: report.columns[i]!.counterexamples },
  }));
}

describe("wide files (long-form inference) read like narrow ones", () => {
  it("each column of a 40-column file equals that column read alone", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(columnValues(rows), { minLength: 40, maxLength: 40 }))),
        async ([rows, columns]) => {
          const names = columns.map((_, i) => `c${i}`);
          const wide = await described(names, columns, rows);
          // two 20-column files: under the long form's threshold
          const narrow = [...(await described(names.slice(0, 20), columns.slice(0, 20), rows)), ...(await described(names.slice(20), columns.slice(20), rows))];
          for (let i = 0; i < columns.length; i++) expect(wide[i], `column ${i}: ${JSON.stringify(columns[i])}`).toEqual(narrow[i]);
        },
      ),
      { numRuns: Number(process.env.GEN_RUNS ?? 4), seed: Number(process.env.GEN_SEED ?? 13), endOnFailure: true },
    );
  });
});
