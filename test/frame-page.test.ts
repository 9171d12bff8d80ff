import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { describeColumns } from "../src/frame/dtype.ts";
import { readPage } from "../src/frame/page.ts";
import type { PageQuery } from "../src/frame/page.ts";
import { lazyOf } from "../src/frame/safe.ts";
import type { Version } from "../src/types.ts";

let nextId = 0;
/** A version record for a frame; a fresh id per frame keeps the per-version schema cache honest. */
function versionOf(df: pl.DataFrame, rowCount: number): Version {
  nextId += 1;
  return {
    datasetId: `page-test-${nextId}`,
    version: 1,
    createdAt: "2024-01-01T00:00:00.000Z",
    source: { filename: "x.csv", format: "csv", sizeBytes: 0, sha256: "", sheet: null },
    rowCount,
    columnCount: describeColumns(df).length,
    columns: describeColumns(df),
  };
}

async function page(df: pl.DataFrame, q: Partial<PageQuery> = {}, shape: "objects" | "arrays" = "objects") {
  const v = versionOf(df, Number(df.height));
  return readPage(lazyOf(df), v, { offset: 0, limit: 100, ...q }, shape);
}

const utc = (...a: [number, number, number, number?, number?, number?, number?]) => new Date(Date.UTC(...a));

function typedFrame(): pl.DataFrame {
  return pl.DataFrame({
    i: pl.Series("i", ["1", "-9007199254740992", "9007199254740993", "-9223372036854775808", null]).cast(pl.Int64),
    u: pl.Series("u", ["18446744073709551615", "0", "9007199254740992", "5", null]).cast(pl.UInt64),
    i32: pl.Series("i32", [1, -2, 3, 2147483647, null]).cast(pl.Int32),
    f: pl.Series("f", [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null]),
    s: pl.Series("s", ['q"uote\\', "Ünïcødé 😀", "tab\tnl\n\u0001", "", null]),
    b: pl.Series("b", [true, false, null, true, false]),
    d: pl.Series("d", [utc(2024, 0, 2), utc(1969, 11, 31), utc(2000, 1, 29), null, utc(1970, 0, 1)]).cast(pl.Date),
    dt: pl.Series("dt", [utc(2024, 0, 2, 3, 4, 5), utc(2024, 0, 2, 3, 4, 5, 120), null, utc(1960, 5, 1), utc(1970, 0, 1)]).cast(pl.Datetime("us")),
    dtu: pl.Series("dtu", [utc(2024, 0, 2, 3, 4, 5), null, utc(2024, 6, 1, 12), utc(2024, 0, 1), utc(2024, 0, 1)]).cast(pl.Datetime("ms", "UTC")),
    dtp: pl.Series("dtp", [utc(2024, 0, 2, 3, 4, 5), null, utc(2024, 6, 1, 12), utc(2024, 0, 1), utc(2024, 0, 1)]).cast(pl.Datetime("us", "Europe/Paris")),
    dec: pl.Series("dec", ["1.50", "-2.25", null, "0", "12345678.90"]).cast(pl.Decimal(10, 2)),
    c: pl.Series("c", ["red", "blue", null, "red", "x"]).cast(pl.Categorical),
    l: pl.Series("l", [[1, 2], [], null, [3.5], [Number.NaN]]),
  });
}

const EXPECTED_OBJECTS = [
  { i: 1, u: "18446744073709551615", i32: 1, f: 1.5, s: 'q"uote\\', b: true, d: "2024-01-02", dt: "2024-01-02T03:04:05", dtu: "2024-01-02T03:04:05Z", dtp: "2024-01-02T04:04:05+01:00", dec: "1.50", c: "red", l: [1, 2] },
  { i: -9007199254740992, u: 0, i32: -2, f: null, s: "Ünïcødé 😀", b: false, d: "1969-12-31", dt: "2024-01-02T03:04:05.120", dtu: null, dtp: null, dec: "-2.25", c: "blue", l: [] },
  { i: "9007199254740993", u: 9007199254740992, i32: 3, f: null, s: "tab\tnl\n\u0001", b: null, d: "2000-02-29", dt: null, dtu: "2024-07-01T12:00:00Z", dtp: "2024-07-01T14:00:00+02:00", dec: null, c: null, l: null },
  { i: "-9223372036854775808", u: 5, i32: 2147483647, f: null, s: "", b: true, d: null, dt: "1960-06-01T00:00:00", dtu: "2024-01-01T00:00:00Z", dtp: "2024-01-01T01:00:00+01:00", dec: "0.00", c: "red", l: [3.5] },
  { i: null, u: null, i32: null, f: null, s: null, b: false, d: "1970-01-01", dt: "1970-01-01T00:00:00", dtu: "2024-01-01T00:00:00Z", dtp: "2024-01-01T01:00:00+01:00", dec: "12345678.90", c: "x", l: [null] },
];

describe("readPage values", () => {
  it("serialises every dtype exactly (big integers as strings, NaN/Infinity as null, ISO temporals)", async () => {
    const p = await page(typedFrame());
    expect(JSON.parse(p.rowsJson)).toEqual(EXPECTED_OBJECTS);
    // the big integers must not pass through a double anywhere
    expect(p.rowsJson).toContain('"i":"9007199254740993"');
    expect(p.rowsJson).toContain('"u":"18446744073709551615"');
    expect(p.columns.map((c) => c.dtype)).toEqual([
      "Int64", "UInt64", "Int32", "Float64", "String", "Boolean", "Date", "Datetime(us)", "Datetime(ms, UTC)",
      "Datetime(us, Europe/Paris)", "Decimal(10, 2)", "Categorical", "List(Float64)",
    ]);
    expect(p.rowCount).toBe(5);
    expect(p.totalRows).toBe(5);
  });

  it("gives the same values as arrays in column order", async () => {
    const p = await page(typedFrame(), {}, "arrays");
    const names = Object.keys(EXPECTED_OBJECTS[0] ?? {});
    expect(JSON.parse(p.rowsJson)).toEqual(EXPECTED_OBJECTS.map((r) => names.map((n) => (r as Record<string, unknown>)[n])));
  });

  it("uses the exact path for pages without big integers too", async () => {
    // rows 0, 1 and 4 hold no Int64/UInt64 value beyond 2^53 except u on row 0; take rows 1..1
    const p = await page(typedFrame(), { offset: 1, limit: 1, columns: ["i", "u", "dt"] });
    expect(p.rowsJson).toBe('[{"i":-9007199254740992,"u":0,"dt":"2024-01-02T03:04:05.120"}]');
  });

  it("serialises nested Int64 and Datetime values inside lists and structs exactly", async () => {
    const df = pl.DataFrame({
      li: pl.Series("li", [["9007199254740993", "1"], null]).cast(pl.List(pl.Int64)),
    }).withColumns(pl.struct([pl.col("li").alias("x"), pl.lit("a").alias("1")]).alias("st"));
    const p = await page(df);
    expect(p.rowsJson).toBe('[{"li":["9007199254740993",1],"st":{"x":["9007199254740993",1],"1":"a"}},{"li":null,"st":{"x":null,"1":"a"}}]');
  });

  it("keeps the column order for integer-like and pattern-like names", async () => {
    // built from a Series list: a JS object literal would itself move "10" and "2" first
    const df = pl.DataFrame(["b", "10", "2", "*", "^a$", "a"].map((name, i) => pl.Series(name, [i + 1])));
    const p = await page(df);
    expect(p.rowsJson).toBe('[{"b":1.0,"10":2.0,"2":3.0,"*":4.0,"^a$":5.0,"a":6.0}]');
    const projected = await page(df, { columns: ["a", "*", "10"] });
    expect(projected.rowsJson).toBe('[{"a":6.0,"*":4.0,"10":2.0}]');
    expect(projected.columns.map((c) => c.name)).toEqual(["a", "*", "10"]);
  });

  it("pages through a frame and reassembles it exactly once", async () => {
    const n = 1003;
    const df = pl.DataFrame({ id: pl.Series("id", Array.from({ length: n }, (_, i) => i)).cast(pl.Int64), s: Array.from({ length: n }, (_, i) => `row ${i}`) });
    const v = versionOf(df, n);
    const seen: unknown[] = [];
    for (let offset = 0; offset < n + 100; offset += 100) {
      const p = await readPage(lazyOf(df), v, { offset, limit: 100 }, "arrays");
      seen.push(...(JSON.parse(p.rowsJson) as unknown[]));
      expect(p.totalRows).toBe(n);
    }
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => [i, `row ${i}`]));
  });

  it("returns an empty rows array past the end", async () => {
    const p = await page(typedFrame(), { offset: 50 });
    expect(p.rowsJson).toBe("[]");
    expect(p.rowCount).toBe(0);
  });
});

describe("readPage validation", () => {
  const cases: [string, Partial<PageQuery>, RegExp][] = [
    ["negative offset", { offset: -1 }, /offset/],
    ["fractional offset", { offset: 1.5 }, /offset/],
    ["zero limit", { limit: 0 }, /limit/],
    ["limit over 10000", { limit: 10_001 }, /limit/],
    ["unknown column", { columns: ["nope"] }, /"nope"/],
    ["repeated column", { columns: ["s", "s"] }, /"s"/],
    ["empty projection", { columns: [] }, /at least one column/],
  ];
  for (const [name, q, message] of cases) {
    it(`rejects a ${name} with 400`, async () => {
      const err = await page(typedFrame(), q).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).message).toMatch(message);
    });
  }
});
