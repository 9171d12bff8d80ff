import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { frameJsonRows } from "../src/frame/safe.ts";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("no silent changes at the edges of inference", () => {
  it("keeps a decimal column with 2^53 + 1 as String rather than rounding it", async () => {
    const file = tmp.write("edge.csv", "f,g\n1.5,1.5\n9007199254740993,9007199254740992\n2.25,2.25\n");
    const { frame } = await parseUpload(file, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "f", dtype: "String" }, { name: "g", dtype: "Float64" }]);
    expect(JSON.parse(frameJsonRows(frame)).map((r: any) => r.f)).toEqual(["1.5", "9007199254740993", "2.25"]);
    const report: any = await inspectUpload(file, opts(), LIMITS);
    expect(report.columns[0]).toMatchObject({ name: "f", dtype: "String", counterexamples: ["9007199254740993"] });
  });

  it("lists leading-zero codes as the counterexamples that kept a column from Int64", async () => {
    const file = tmp.write("codes.csv", "code\n1\n2\n00123\n");
    const report: any = await inspectUpload(file, opts(), LIMITS);
    expect(report.columns[0]).toMatchObject({ name: "code", dtype: "String", counterexamples: ["00123"] });
  });

  it("keeps headers Polars would read as patterns (`*`, `^…$`) exactly, each with its own values", async () => {
    const file = tmp.write("names.csv", "a,*,^x$,^a$\n1,2,3,x\n");
    const { frame, source } = await parseUpload(file, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "a", dtype: "Int64" },
      { name: "*", dtype: "Int64" },
      { name: "^x$", dtype: "Int64" },
      { name: "^a$", dtype: "String" },
    ]);
    expect(source.renamedColumns).toBeUndefined();
    expect(await rowsOf(frame)).toEqual([[1, 2, 3, "x"]]);
  });
});

describe("Float64 inference keeps every written digit or stays String", () => {
  const SEED = 20261203;
  const RUNS = Number(process.env.GEN_RUNS ?? 10);
  let n = 0;
  const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
  /** Column texts of doubles, in forms real writers use: shortest (JS, Python), %.17g, numpy's %.18e. */
  const form = fc.constantFrom("shortest", "precision17", "exponential18");
  const format = (d: number, f: string) => (f === "shortest" ? String(d) : f === "precision17" ? d.toPrecision(17) : d.toExponential(18));
  // JS drops the sign of -0 when formatting; writers such as Python keep it.
  const write = (d: number, f: string) => (Object.is(d, -0) ? `-${format(0, f)}` : format(d, f));
  // A value that is not already Int64-shaped (an integer column would be Int64, not Float64).
  const notIntegerText = (t: string) => !/^[+-]?(0|[1-9][0-9]*)$/.test(t);

  it("reads doubles written in full as Float64 with the exact same values (-0.0 and subnormals too)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(finite, { minLength: 1, maxLength: 20 }), form, async (values, f) => {
        const texts = values.map((d) => write(d, f));
        fc.pre(texts.some(notIntegerText));
        const file = tmp.write(`floats-${n++}.csv`, `v\n${texts.join("\n")}\n`);
        const { frame } = await parseUpload(file, opts(), LIMITS);
        expect(columnsOf(frame)).toEqual([{ name: "v", dtype: "Float64" }]);
        const got = (await rowsOf(frame)).map((r) => r[0]);
        expect(got).toEqual(values);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("keeps a column String when one value has digits a double cannot hold, and forcing Float64 counts the rounding", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(finite, { minLength: 1, maxLength: 10 }), finite, async (values, extra) => {
        fc.pre(extra !== 0);
        // The shortest text of `extra` with a digit appended far below its precision.
        const [mantissa, exponent] = extra.toExponential(16).split("e") as [string, string];
        const tooLong = `${mantissa}000000001e${exponent}`;
        const texts = [...values.map(String), tooLong];
        const file = tmp.write(`inexact-${n++}.csv`, `v\n${texts.join("\n")}\n`);
        const { frame, source } = await parseUpload(file, opts(), LIMITS);
        expect(columnsOf(frame)).toEqual([{ name: "v", dtype: "String" }]);
        expect((await rowsOf(frame)).map((r) => r[0])).toEqual(texts);
        expect(source.notes?.join(" ")).toContain('Column "v" was kept as String');
        const forced = await parseUpload(file, opts({ schema: { v: "Float64" } }), LIMITS);
        expect(columnsOf(forced.frame)).toEqual([{ name: "v", dtype: "Float64" }]);
        expect(forced.source.notes?.join(" ")).toMatch(/\(schema Float64\): 1 value rounded to the nearest Float64/);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it("names overflow, underflow and lost zeros of forced types", async () => {
    const file = tmp.write("forced.csv", "f,i\n1e400,00501\n1e-400,+7\n1.50,-0\n2.5,12\n");
    const { frame, source } = await parseUpload(file, opts({ schema: { f: "Float64", i: "Int64" } }), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "f", dtype: "Float64" },
      { name: "i", dtype: "Int64" },
    ]);
    expect((await rowsOf(frame)).map((r) => r[1])).toEqual([501, 7, 0, 12]);
    const notes = source.notes?.join("\n") ?? "";
    expect(notes).toContain('Column "f" (schema Float64): 1 value rounded to the nearest Float64 (e.g. "1e-400"); 1 value out of the Float64 range, read as ±infinity or 0 (e.g. "1e400"); 1 value lost leading zeros, trailing decimal zeros or a plus sign (e.g. "1.50")');
    expect(notes).toContain('Column "i" (schema Int64): 3 values lost leading zeros, trailing decimal zeros or a plus sign (e.g. "00501")');
  });
});

describe("the texts the CSV download writes read back with their types (round trip)", () => {
  const SEED = 20261204;
  const RUNS = Number(process.env.GEN_RUNS ?? 10);
  let n = 0;
  const NS = 1_000_000_000n;
  /** `[-]PTs[.f]S` with the fraction only when non-zero, as src/frame writes durations. */
  const iso = (count: bigint, perSecond: bigint) => {
    const neg = count < 0n;
    const abs = neg ? -count : count;
    const frac = abs % perSecond;
    const digits = String(perSecond).length - 1;
    return `${neg ? "-" : ""}PT${abs / perSecond}${frac === 0n ? "" : `.${String(frac).padStart(digits, "0").replace(/0+$/, "")}`}S`;
  };
  const pad = (v: bigint | number, w = 2) => String(v).padStart(w, "0");
  /** Naive datetime text of ns since the epoch, fraction only when non-zero (all 9 digits kept). */
  const datetimeText = (ns: bigint) => {
    const ms = Number((ns - (((ns % NS) + NS) % NS)) / 1_000_000n);
    const frac = ((ns % NS) + NS) % NS;
    const d = new Date(ms);
    const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return frac === 0n ? base : `${base}.${String(frac).padStart(9, "0")}`;
  };
  const timeText = (ns: bigint) => {
    const s = ns / NS;
    const frac = ns % NS;
    const base = `${pad(s / 3600n)}:${pad((s / 60n) % 60n)}:${pad(s % 60n)}`;
    return frac === 0n ? base : `${base}.${String(frac).padStart(9, "0")}`;
  };
  // Datetime(ns) from 1970 on (Date handles those exactly); Time within a day; durations of ±30 years.
  const datetimeNs = fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n });
  const timeNs = fc.bigInt({ min: 0n, max: 86_399_999_999_999n });
  const durationNs = fc.bigInt({ min: -946_080_000_000_000_000n, max: 946_080_000_000_000_000n });
  const floats = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(Number.NaN, Infinity, -Infinity));
  const floatText = (d: number) => (Number.isNaN(d) ? "NaN" : d === Infinity ? "inf" : d === -Infinity ? "-inf" : Object.is(d, -0) ? "-0.0" : String(d));

  it("Datetime(ns), Time, Duration(ns) and Float64 with NaN/±inf, several columns at once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(datetimeNs, timeNs, durationNs, floats), { minLength: 1, maxLength: 12 }), async (rows) => {
        // One value with nanoseconds in each nanosecond column keeps it from a coarser unit.
        const all = [...rows, [1n, 1n, 1n, 1.5] as [bigint, bigint, bigint, number]];
        const text = `dt,t,d,f\n${all.map(([a, b, c, d]) => `${datetimeText(a)},${timeText(b)},${iso(c, NS)},${floatText(d)}`).join("\n")}\n`;
        const { frame } = await parseUpload(tmp.write(`temporal-${n++}.csv`, text), opts(), LIMITS);
        expect(columnsOf(frame)).toEqual([
          { name: "dt", dtype: "Datetime(ns)" },
          { name: "t", dtype: "Time" },
          { name: "d", dtype: "Duration(ns)" },
          { name: "f", dtype: "Float64" },
        ]);
        const got = await rowsOf(frame);
        expect(got.map((r) => [BigInt(r[0] as string), BigInt(r[1] as string), BigInt(r[2] as string)])).toEqual(all.map(([a, b, c]) => [a, b, c]));
        const shown = (d: number) => (Number.isNaN(d) ? "NaN" : d === Infinity ? "inf" : d === -Infinity ? "-inf" : d);
        expect(got.map((r) => r[3])).toEqual(all.map((r) => shown(r[3])));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("keeps microsecond units when no value needs nanoseconds, and refuses nanoseconds past 2262 (String)", async () => {
    const { frame } = await parseUpload(tmp.write("us.csv", "dt,d\n2024-01-02T03:04:05.123456,PT1.5S\n9999-12-31T23:59:59,-PT0.000001S\n"), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "dt", dtype: "Datetime(us)" },
      { name: "d", dtype: "Duration(us)" },
    ]);
    const beyond = await parseUpload(tmp.write("ns-beyond.csv", "dt\n2262-04-11T23:47:16.854775808\n"), opts(), LIMITS);
    expect(columnsOf(beyond.frame)).toEqual([{ name: "dt", dtype: "String" }]);
  });
});
