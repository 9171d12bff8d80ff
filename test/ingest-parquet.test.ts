/**
 * Parquet types beyond flat numbers and text (issue 10): List, Struct, Map, UUID, JSON, binary,
 * Decimal, Time, Duration and Spark INT96 — written by DuckDB (an independent writer) from
 * generated values, read back value by value; and the types still refused, named.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
let db: DuckDBInstance;
let con: DuckDBConnection;
beforeAll(async () => {
  db = await DuckDBInstance.create(":memory:");
  con = await db.connect();
});
afterAll(() => {
  con?.closeSync();
  tmp.cleanup();
});

const SEED = 20261205;
const RUNS = Number(process.env.GEN_RUNS ?? 10);
const CORPUS = path.resolve(import.meta.dirname, "..", "..", "shared", "corpus", "parquet-testing", "data");
let n = 0;

/** A SQL string literal. */
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Writes `select` to a Parquet file with DuckDB and parses it. */
async function viaDuckDb(select: string) {
  const file = path.join(tmp.dir, `duck-${n++}.parquet`);
  await con.run(`COPY (${select}) TO ${lit(file)} (FORMAT parquet)`);
  const upload = tmp.write(path.basename(file), readFileSync(file));
  return parseUpload(upload, opts(), LIMITS);
}

async function refusal(select: string): Promise<ApiError> {
  try {
    await viaDuckDb(select);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

const textArb = fc.string({ unit: "grapheme", maxLength: 8 });
const intArb = fc.integer({ min: -1_000_000, max: 1_000_000 });

describe("nested Parquet types are read, values intact", () => {
  it("lists, structs and maps written by DuckDB come back element by element", async () => {
    const rowArb = fc.record({
      list: fc.option(fc.array(fc.option(intArb, { nil: null }), { maxLength: 4 }), { nil: null }),
      struct: fc.option(fc.record({ x: fc.option(intArb, { nil: null }), y: fc.option(textArb, { nil: null }) }), { nil: null }),
      map: fc.option(fc.uniqueArray(fc.tuple(textArb, intArb), { maxLength: 3, selector: ([k]) => k }), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 6 }), async (rows) => {
        const sqlList = (l: (number | null)[] | null) => (l === null ? "NULL::INTEGER[]" : `[${l.map((v) => (v === null ? "NULL" : String(v))).join(", ")}]::INTEGER[]`);
        const sqlStruct = (s: { x: number | null; y: string | null } | null) =>
          s === null ? "NULL::STRUCT(x INTEGER, y VARCHAR)" : `{'x': ${s.x ?? "NULL"}::INTEGER, 'y': ${s.y === null ? "NULL" : lit(s.y)}::VARCHAR}`;
        const sqlMap = (m: [string, number][] | null) => (m === null ? "NULL::MAP(VARCHAR, INTEGER)" : `MAP {${m.map(([k, v]) => `${lit(k)}: ${v}`).join(", ")}}::MAP(VARCHAR, INTEGER)`);
        const select = rows.map((r, i) => `SELECT ${i} AS i, ${sqlList(r.list)} AS l, ${sqlStruct(r.struct)} AS s, ${sqlMap(r.map)} AS m`).join(" UNION ALL ");
        const { frame } = await viaDuckDb(`SELECT * FROM (${select}) ORDER BY i`);
        expect(columnsOf(frame)).toEqual([
          { name: "i", dtype: "Int32" },
          { name: "l", dtype: "List(Int32)" },
          { name: "s", dtype: 'Struct({"x": Int32, "y": String})' },
          { name: "m", dtype: 'List(Struct({"key": String, "value": Int32}))' },
        ]);
        const got = await rowsOf(frame);
        expect(got.map((r) => r[1])).toEqual(rows.map((r) => r.list));
        expect(got.map((r) => r[2])).toEqual(rows.map((r) => r.struct));
        expect(got.map((r) => r[3])).toEqual(rows.map((r) => (r.map === null ? null : r.map.map(([key, value]) => ({ key, value })))));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe("types Polars cannot hand over as they are become text, noted", () => {
  it("UUID → canonical text, JSON → its text, non-UTF-8 binary → base64, UTF-8 binary → text", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.uuid(), fc.uint8Array({ maxLength: 12 }), fc.json({ maxDepth: 2 })), { minLength: 1, maxLength: 6 }), async (rows) => {
        const hex = (b: Uint8Array) => [...b].map((x) => `\\x${x.toString(16).padStart(2, "0")}`).join("");
        const select = rows.map(([u, b, j], i) => `SELECT ${i} AS i, ${lit(u)}::UUID AS u, '${hex(b)}'::BLOB AS b, ${lit(j)}::JSON AS j, 'plain text \\xC3\\xA9'::BLOB AS t`).join(" UNION ALL ");
        const { frame, source } = await viaDuckDb(`SELECT * FROM (${select}) ORDER BY i`);
        expect(columnsOf(frame).map((c) => c.dtype)).toEqual(["Int32", "String", "String", "String", "String"]);
        const got = await rowsOf(frame);
        expect(got.map((r) => r[1])).toEqual(rows.map(([u]) => u.toLowerCase()));
        // One non-UTF-8 value makes the column base64; an all-UTF-8 binary column is text.
        const anyInvalid = rows.some(([, b]) => !Buffer.from(b).equals(Buffer.from(Buffer.from(b).toString("utf8"), "utf8")));
        expect(got.map((r) => r[2])).toEqual(rows.map(([, b]) => (anyInvalid ? Buffer.from(b).toString("base64") : Buffer.from(b).toString("utf8"))));
        expect(got.map((r) => JSON.parse(r[3] as string))).toEqual(rows.map(([, , j]) => JSON.parse(j)));
        expect(got.map((r) => r[4])).toEqual(rows.map(() => "plain text é"));
        const notes = source.notes?.join("\n") ?? "";
        expect(notes).toContain('UUID column(s) "u" were read as String in canonical form');
        expect(notes).toContain('JSON column(s) "j" were read as String');
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it("keeps Decimal(38, 10) digits, Time to the microsecond and Duration as Polars wrote it", async () => {
    const { frame } = await viaDuckDb("SELECT 1234567890123456789012345678.0123456789::DECIMAL(38,10) AS d, TIME '13:45:30.123456' AS t UNION ALL SELECT -0.0000000001, TIME '00:00:00'");
    expect(columnsOf(frame)).toEqual([
      { name: "d", dtype: "Decimal(38, 10)" },
      { name: "t", dtype: "Time" },
    ]);
    const text = (await frame.lazy().select(pl.col("d").cast(pl.String)).collect()).getColumn("d").toArray();
    expect(text).toEqual(["1234567890123456789012345678.0123456789", "-0.0000000001"]);
    expect((await rowsOf(frame)).map((r) => r[1])).toEqual(["49530123456000", "0"]);

    const durations = pl.DataFrame([pl.Series("d", [1500, -1, null], pl.Int64).cast(pl.Duration("ms"))]);
    const file = path.join(tmp.dir, "durations.parquet");
    durations.writeParquet(file);
    const read = await parseUpload(tmp.write("durations-up.parquet", readFileSync(file)), opts(), LIMITS);
    expect(columnsOf(read.frame)).toEqual([{ name: "d", dtype: "Duration(ms)" }]);
    expect((await rowsOf(read.frame)).map((r) => r[0])).toEqual(["1500", "-1", null]);
  });
});

describe("types still refused are named, never a crash", () => {
  it("refuses INTERVAL (which aborts Polars) naming the column, before Polars reads it", async () => {
    const err = await refusal("SELECT 1 AS id, INTERVAL 1500 MILLISECONDS AS wait");
    expect(err.status).toBe(422);
    expect(err.message).toContain('"wait" (INTERVAL)');
  });

  it("refuses a TIME of 24:00:00 (which Polars reads as null) naming the column, and keeps real nulls (QA Q23)", async () => {
    const err = await refusal("SELECT * FROM (VALUES (1, '24:00:00'::TIME), (2, '00:00:00'::TIME), (3, NULL::TIME)) t(id, t)");
    expect(err.status).toBe(422);
    expect(err.message).toContain('Column "t" holds 1 value that this service reads as missing');
    expect(err.message).toContain("24:00:00");
    expect(err.extra).toMatchObject({ column: "t" });
    const ok = await viaDuckDb("SELECT * FROM (VALUES (1, '23:59:59.999999'::TIME), (2, NULL::TIME)) t(id, t)");
    expect((await rowsOf(ok.frame)).map((r) => r[1])).toEqual(["86399999999000", null]);
  });

  it("refuses lists nested 32 deep saying the limit, not that the file is damaged (QA Q24)", async () => {
    const deep = (n: number) => `SELECT ${"[".repeat(n)}1${"]".repeat(n)} AS l`;
    const err = await refusal(deep(32));
    expect(err.status).toBe(422);
    expect(err.message).toContain("nested more than 64 levels deep");
    expect(err.message).not.toContain("damaged");
    const ok = await viaDuckDb(deep(31));
    expect(columnsOf(ok.frame)[0]?.dtype).toMatch(/^List\(List\(/);
  });

  it("refuses bytes inside nested values naming the column and the type", async () => {
    const err = await refusal("SELECT [ '\\x00\\xff'::BLOB ] AS blobs");
    expect(err.status).toBe(422);
    expect(err.message).toContain('"blobs" (bytes inside nested values)');
  });
});

describe.skipIf(!existsSync(CORPUS))("Spark INT96 timestamps (parquet-testing)", () => {
  it("keeps 9999-12-31 instead of clamping it to 2262-04-11, at microsecond precision, and names what cannot be a timestamp", async () => {
    const name = "int96_from_spark.parquet";
    const upload = tmp.write(name, readFileSync(path.join(CORPUS, name)));
    const { frame, source } = await parseUpload(upload, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "a", dtype: "Datetime(us)" }]);
    // The md beside the file gives these microseconds; the sixth overflowed in Spark itself.
    const micros = (await frame.lazy().select(pl.col("a").cast(pl.Int64).cast(pl.String)).collect()).getColumn("a").toArray();
    expect(micros).toEqual(["1704141296123456", "1704070800000000", "253402225200000000", "1735599600000000", null, null]);
    expect(source.notes?.join(" ")).toContain("1 INT96 value is not a valid timestamp");
  });
});
