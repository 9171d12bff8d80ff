/**
 * The eager page path (in-memory frame: native slice/gather + Polars' JSON writer, cached row
 * orders) must give byte for byte the text of the lazy path, and of the exact per-cell path.
 */
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { exactRowsJson, forgetVersion, readPage } from "../src/frame/page.ts";
import type { PageQuery, RowShape } from "../src/frame/page.ts";
import { parseFilters, parseSort } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import type { Version } from "../src/types.ts";
import { versionOf } from "./frame-helpers.ts";


const utc = (...a: [number, number, number, number?, number?, number?, number?]) => new Date(Date.UTC(...a));
const N = 23;
/** Row i of a column, with nulls sprinkled at different rows per column. */
function col<T>(n: number, every: number, f: (i: number) => T): (T | null)[] {
  return Array.from({ length: n }, (_, i) => (i % every === every - 1 ? null : f(i)));
}

/** Every dtype the writer path handles, plus some it does not; big integers only in rows 17-19. */
function everyDtype(bigInts: boolean): pl.DataFrame {
  const big = (i: number, small: string) => (bigInts && i >= 17 && i <= 19 ? ["9007199254740993", "-9223372036854775808", "9007199254740992"][i - 17] : small);
  const ubig = (i: number, small: string) => (bigInts && i === 18 ? "18446744073709551615" : small);
  return pl.DataFrame([
    pl.Series("i64", col(N, 5, (i) => big(i, String(i * 1000 - 7)))).cast(pl.Int64),
    pl.Series("u64", col(N, 6, (i) => ubig(i, String(i * 3)))).cast(pl.UInt64),
    pl.Series("i8", col(N, 4, (i) => (i % 200) - 100)).cast(pl.Int8),
    pl.Series("i16", col(N, 7, (i) => i * 100 - 999)).cast(pl.Int16),
    pl.Series("i32", col(N, 3, (i) => i * 100000 - 2147483647)).cast(pl.Int32),
    pl.Series("u8", col(N, 8, (i) => i)).cast(pl.UInt8),
    pl.Series("u16", col(N, 9, (i) => i * 1000)).cast(pl.UInt16),
    pl.Series("u32", col(N, 10, (i) => i * 100000000)).cast(pl.UInt32),
    pl.Series("f64", col(N, 4, (i) => [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1, 1e20, -0.0, 123456789.125, 5e-324, 1 / 3][i % 10] as number)),
    pl.Series("f32", col(N, 5, (i) => i / 7)).cast(pl.Float32),
    pl.Series("s", col(N, 6, (i) => ['q"uote\\', "Ünïcødé 😀", "tab\tnl\n\u0001", "", "2024-01-02 03:04:05", "</script>", "\u2028"][i % 7] as string)),
    pl.Series("b", col(N, 4, (i) => i % 2 === 0)),
    pl.Series("d", col(N, 5, (i) => utc(1960 + i * 3, i % 12, 1 + i))).cast(pl.Date),
    pl.Series("dtus", col(N, 6, (i) => utc(2024, 0, 2, 3, 4, 5, i % 3 === 0 ? 0 : i * 7))).cast(pl.Datetime("us")),
    pl.Series("dtms", col(N, 7, (i) => utc(1969, 11, 31, 23, 59, i, i * 11))).cast(pl.Datetime("ms")),
    pl.Series("dtns", col(N, 8, (i) => utc(2001, 8, 9, 1, 46, 40, i))).cast(pl.Datetime("ns")),
    pl.Series("dtutc", col(N, 5, (i) => utc(2024, i % 12, 1, 12, 0, 0, i % 2 ? 500 : 0))).cast(pl.Datetime("ms", "UTC")),
    pl.Series("dtparis", col(N, 4, (i) => utc(2024, i % 12, 2, 3, 4, 5))).cast(pl.Datetime("us", "Europe/Paris")),
    pl.Series("dec", col(N, 5, (i) => `${i * 37 - 300}.${String(i % 100).padStart(2, "0")}`)).cast(pl.Decimal(10, 2)),
    pl.Series("cat", col(N, 3, (i) => ["red", "blue", "x"][i % 3] as string)).cast(pl.Categorical),
    pl.Series("l", col(N, 4, (i) => (i % 5 === 0 ? [] : [i, i + 0.5, Number.NaN]))),
    // integer-like and pattern-like names keep their place
    pl.Series("10", col(N, 5, (i) => i)).cast(pl.Int32),
    pl.Series("*", col(N, 6, (i) => `star ${i}`)),
  ]);
}

const WINDOWS: [number, number][] = [[0, 100], [0, 1], [0, 5], [3, 4], [16, 2], [17, 1], [18, 3], [20, 10], [22, 1], [23, 5], [500, 10]];
const QUERIES: { columns?: string[]; sort?: string; filters?: string[] }[] = [
  {},
  { columns: ["dtus", "i64", "*", "10", "s"] },
  { columns: ["f64", "dec", "cat", "d"] },
  { sort: "-i64" },
  { sort: "b,-dtparis", filters: ["i32:gt:-2147000000"] },
  { filters: ["s:contains:o"], columns: ["s", "u64"] },
  { filters: ["i64:isnull"] },
  { filters: ["f64:gt:1e30"] },
];

async function both(df: pl.DataFrame, v: Version, q: PageQuery, shape: RowShape) {
  const lazy = await readPage(lazyOf(df), v, q, shape);
  const eager = await readPage(lazyOf(df), v, q, shape, df);
  return { lazy, eager };
}

describe("eager pages match the lazy path byte for byte", () => {
  for (const bigInts of [false, true]) {
    for (const shape of ["objects", "arrays"] as const) {
      it(`every dtype, ${bigInts ? "with" : "without"} big integers, ${shape}`, async () => {
        const df = everyDtype(bigInts);
        const v = versionOf(df);
        for (const spec of QUERIES) {
          for (const [offset, limit] of WINDOWS) {
            const q: PageQuery = { offset, limit, columns: spec.columns, sort: parseSort(spec.sort ?? "", v), filters: parseFilters(spec.filters ?? [], v) };
            const { lazy, eager } = await both(df, v, q, shape);
            const label = JSON.stringify({ spec, offset, limit });
            expect(eager.rowsJson, label).toBe(lazy.rowsJson);
            expect(eager.totalRows, label).toBe(lazy.totalRows);
            expect(eager.rowCount, label).toBe(lazy.rowCount);
            expect(eager.columns, label).toEqual(lazy.columns);
            // and the text is valid JSON
            expect(() => JSON.parse(eager.rowsJson) as unknown, label).not.toThrow();
          }
        }
      });
    }
  }

  it("serialises big integers as strings on the eager path", async () => {
    const df = everyDtype(true);
    const v = versionOf(df);
    const p = await readPage(lazyOf(df), v, { offset: 17, limit: 3, columns: ["i64", "u64"] }, "objects", df);
    expect(p.rowsJson).toBe('[{"i64":"9007199254740993","u64":null},{"i64":"-9223372036854775808","u64":"18446744073709551615"},{"i64":null,"u64":57}]');
    // a page of the same version without big integers stays on the writer
    const small = await readPage(lazyOf(df), v, { offset: 0, limit: 2, columns: ["i64", "dtus", "d"] }, "objects", df);
    expect(small.rowsJson).toBe('[{"i64":-7,"dtus":"2024-01-02T03:04:05","d":"1960-01-01"},{"i64":993,"dtus":"2024-01-02T03:04:05.007","d":"1963-02-02"}]');
  });
});

/**
 * Row objects are byte-identical to the per-cell path. Row arrays on writer pages are re-encoded
 * by JSON.stringify (page.ts `writerJson`), which prints floats JS-style (`1` for `1.0`, `0` for
 * `-0.0`, `100000000000000000000` for `1e20`) while per-cell pages print Polars' text: the same
 * numbers, not the same bytes. So arrays are compared after one JSON round trip.
 */
describe("eager pages match the exact per-cell path", () => {
  for (const bigInts of [false, true]) {
    for (const shape of ["objects", "arrays"] as const) {
      it(`every dtype, ${bigInts ? "with" : "without"} big integers, ${shape}`, async () => {
        const df = everyDtype(bigInts);
        const v = versionOf(df);
        for (const spec of QUERIES) {
          for (const [offset, limit] of WINDOWS) {
            const q: PageQuery = { offset, limit, columns: spec.columns, sort: parseSort(spec.sort ?? "", v), filters: parseFilters(spec.filters ?? [], v) };
            const eager = (await readPage(lazyOf(df), v, q, shape, df)).rowsJson;
            const exact = await exactRowsJson(lazyOf(df), v, q, shape);
            const label = JSON.stringify({ spec, offset, limit });
            if (shape === "objects") expect(eager, label).toBe(exact);
            else expect(JSON.stringify(JSON.parse(eager)), label).toBe(JSON.stringify(JSON.parse(exact)));
          }
        }
      });
    }
  }
});

describe("eager pages of filtered and sorted queries", () => {
  it("pages through a sorted, filtered query and reassembles exactly its rows once", async () => {
    const n = 2503;
    const df = pl.DataFrame({
      id: pl.Series("id", Array.from({ length: n }, (_, i) => i)).cast(pl.Int64),
      k: Array.from({ length: n }, (_, i) => (i * 7919) % 101),
      s: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : `row ${i}`)),
    });
    const v = versionOf(df);
    const filters = parseFilters(["k:gte:20", "s:notnull"], v);
    const sort = parseSort("-k,id", v);
    const expected = Array.from({ length: n }, (_, i) => ({ id: i, k: (i * 7919) % 101, s: i % 13 === 0 ? null : `row ${i}` }))
      .filter((r) => r.k >= 20 && r.s !== null)
      .sort((a, b) => b.k - a.k || a.id - b.id);
    const seen: unknown[] = [];
    for (let offset = 0; offset < expected.length + 100; offset += 100) {
      const p = await readPage(lazyOf(df), v, { offset, limit: 100, filters, sort }, "objects", df);
      expect(p.totalRows).toBe(expected.length);
      seen.push(...(JSON.parse(p.rowsJson) as unknown[]));
    }
    expect(seen).toEqual(expected);
  });

  it("answers concurrent first requests of one query consistently", async () => {
    const n = 1000;
    const df = pl.DataFrame({ x: Array.from({ length: n }, (_, i) => (i * 37) % 1000) });
    const v = versionOf(df);
    const sort = parseSort("x", v);
    const pages = await Promise.all(Array.from({ length: 10 }, (_, k) => readPage(lazyOf(df), v, { offset: k * 100, limit: 100, sort }, "arrays", df)));
    expect(pages.flatMap((p) => JSON.parse(p.rowsJson) as number[][]).map((r) => r[0])).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe("forgetVersion", () => {
  it("drops a deleted version's cached row orders, and pages still work after", async () => {
    const df = pl.DataFrame({ a: [3, 1, 2] });
    const v = versionOf(df);
    const sorted = async () => (await readPage(lazyOf(df), v, { offset: 0, limit: 10, sort: parseSort("a", v) }, "arrays", df)).rowsJson;
    expect(await sorted()).toBe("[[1.0],[2.0],[3.0]]");
    forgetVersion(v.datasetId, v.version);
    expect(await sorted()).toBe("[[1.0],[2.0],[3.0]]");
  });
});
