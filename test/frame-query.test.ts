import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { readPage } from "../src/frame/page.ts";
import { parseFilters, parseSort } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { versionOf } from "./frame-helpers.ts";


interface Row {
  id: number;
  n: number | null;
  big: bigint | null;
  x: number | null;
  s: string | null;
  b: boolean | null;
  d: string | null;
  t: string | null;
}

const utcMs = (iso: string) => Date.parse(`${iso}Z`);
const ROWS: Row[] = [
  { id: 0, n: 5, big: 9007199254740993n, x: 1.5, s: "apple", b: true, d: "2024-01-02", t: "2024-01-02T03:04:05" },
  { id: 1, n: -2, big: 9007199254740992n, x: -0.5, s: "Banana: split", b: false, d: "2023-12-31", t: "2024-01-02T03:04:05.5" },
  { id: 2, n: null, big: null, x: null, s: null, b: null, d: null, t: null },
  { id: 3, n: 5, big: -3n, x: 2, s: "cherry|pie", b: true, d: "2024-01-02", t: "2023-06-01T00:00:00" },
  { id: 4, n: 0, big: 0n, x: 1.5, s: "apple pie", b: false, d: "1999-01-01", t: "2024-01-02T03:04:06" },
  { id: 5, n: 7, big: 7n, x: Number.NaN, s: "", b: true, d: "2024-02-29", t: "1970-01-01T00:00:00" },
  { id: 6, n: -2, big: 100n, x: 3.25, s: "Ünïcødé", b: null, d: "2024-01-02", t: "2024-01-02T03:04:05" },
];

function frame(): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("id", ROWS.map((r) => r.id), pl.Float64).cast(pl.Int64),
    pl.Series("n", ROWS.map((r) => r.n), pl.Float64).cast(pl.Int32),
    pl.Series("big", ROWS.map((r) => (r.big === null ? null : r.big.toString())), pl.Utf8).cast(pl.Int64),
    pl.Series("x", ROWS.map((r) => r.x), pl.Float64),
    pl.Series("s", ROWS.map((r) => r.s), pl.Utf8),
    pl.Series("b", ROWS.map((r) => r.b), pl.Bool),
    pl.Series("d", ROWS.map((r) => (r.d === null ? null : utcMs(`${r.d}T00:00:00`) / 86_400_000)), pl.Float64).cast(pl.Int32).cast(pl.Date),
    pl.Series("t", ROWS.map((r) => (r.t === null ? null : utcMs(r.t) * 1000)), pl.Float64).cast(pl.Int64).cast(pl.Datetime("us")),
  ]);
}

async function ids(filters: string[], sort?: string): Promise<number[]> {
  const df = frame();
  const v = versionOf(df);
  const page = await readPage(lazyOf(df), v, { offset: 0, limit: 100, columns: ["id"], filters: parseFilters(filters, v), sort: sort ? parseSort(sort, v) : undefined }, "arrays");
  const got = (JSON.parse(page.rowsJson) as [number][]).map((r) => r[0]);
  expect(page.totalRows).toBe(got.length);
  return got;
}

/** Independent filtering: SQL semantics, a null matches no comparison. */
function expectIds(pred: (r: Row) => boolean): number[] {
  return ROWS.filter(pred).map((r) => r.id);
}

type Cmp = "eq" | "ne" | "gt" | "gte" | "lt" | "lte";
function compare<T extends number | string | bigint>(a: T | null, b: T, op: Cmp): boolean {
  // the service's rule: NaN is treated like null, so it matches no comparison
  if (a === null || (typeof a === "number" && Number.isNaN(a))) return false;
  switch (op) {
    case "eq": return a === b;
    case "ne": return a !== b;
    case "gt": return a > b;
    case "gte": return a >= b;
    case "lt": return a < b;
    default: return a <= b;
  }
}

const CMP_OPS: Cmp[] = ["eq", "ne", "gt", "gte", "lt", "lte"];

describe("filters", () => {
  for (const op of CMP_OPS) {
    it(`${op} compares Int32, Int64 beyond 2^53, Float64, String, Boolean, Date and Datetime in their dtype`, async () => {
      expect(await ids([`n:${op}:5`])).toEqual(expectIds((r) => compare(r.n, 5, op)));
      expect(await ids([`big:${op}:9007199254740992`])).toEqual(expectIds((r) => compare(r.big, 9007199254740992n, op)));
      expect(await ids([`x:${op}:1.5`])).toEqual(expectIds((r) => compare(r.x, 1.5, op)));
      expect(await ids([`s:${op}:apple pie`])).toEqual(expectIds((r) => compare(r.s === null ? null : Buffer.from(r.s).toString("latin1"), Buffer.from("apple pie").toString("latin1"), op)));
      expect(await ids([`b:${op}:true`])).toEqual(expectIds((r) => compare(r.b === null ? null : Number(r.b), 1, op)));
      expect(await ids([`d:${op}:2024-01-02`])).toEqual(expectIds((r) => compare(r.d, "2024-01-02", op)));
      expect(await ids([`t:${op}:2024-01-02T03:04:05`])).toEqual(expectIds((r) => compare(r.t === null ? null : utcMs(r.t), utcMs("2024-01-02T03:04:05"), op)));
    });
  }

  it("contains, startswith and endswith match literal text (no patterns)", async () => {
    expect(await ids(["s:contains:pie"])).toEqual(expectIds((r) => r.s?.includes("pie") ?? false));
    expect(await ids(["s:contains:|"])).toEqual(expectIds((r) => r.s?.includes("|") ?? false));
    expect(await ids(["s:contains:.*"])).toEqual([]);
    expect(await ids(["s:startswith:apple"])).toEqual(expectIds((r) => r.s?.startsWith("apple") ?? false));
    expect(await ids(["s:endswith:dé"])).toEqual(expectIds((r) => r.s?.endsWith("dé") ?? false));
  });

  it("splits only on the first two colons", async () => {
    expect(await ids(["s:eq:Banana: split"])).toEqual([1]);
    expect(await ids(["t:eq:2024-01-02T03:04:05.5"])).toEqual([1]);
  });

  it("in takes |-separated values cast to the column's dtype", async () => {
    expect(await ids(["n:in:5|-2"])).toEqual(expectIds((r) => r.n === 5 || r.n === -2));
    expect(await ids(["big:in:9007199254740993|100"])).toEqual([0, 6]);
    expect(await ids(["s:in:apple|"])).toEqual(expectIds((r) => r.s === "apple" || r.s === ""));
    expect(await ids(["d:in:2024-02-29|1999-01-01"])).toEqual([4, 5]);
  });

  it("isnull and notnull find nulls, which no comparison matches", async () => {
    expect(await ids(["s:isnull"])).toEqual([2]);
    expect(await ids(["b:isnull"])).toEqual([2, 6]);
    expect(await ids(["n:notnull"])).toEqual(expectIds((r) => r.n !== null));
    expect(await ids(["n:ne:5"])).toEqual(expectIds((r) => r.n !== null && r.n !== 5));
  });

  it("ANDs several filters", async () => {
    expect(await ids(["n:eq:5", "d:eq:2024-01-02", "s:startswith:ch"])).toEqual([3]);
  });

  it("accepts datetimes with an offset as instants", async () => {
    expect(await ids(["t:eq:2024-01-02T04:04:05+01:00"])).toEqual([0, 6]);
    expect(await ids(["t:lt:1970-01-01T00:00:00.000001Z"])).toEqual([5]);
  });

  const bad: [string, RegExp][] = [
    ["nope:eq:1", /unknown column "nope"/],
    ["n:like:1", /unknown op "like"/],
    ["n:eq:abc", /"abc" is not a valid Int32/],
    ["n:eq:2147483648", /not a valid Int32/],
    ["n:gt:1.5", /not a valid Int32/],
    ["big:eq:9223372036854775808", /not a valid Int64/],
    ["x:eq:1,5", /not a valid Float64/],
    ["b:eq:yes", /not a valid Boolean/],
    ["d:eq:2023-02-29", /not a valid Date/],
    ["t:eq:yesterday", /not a valid Datetime/],
    ["n:contains:5", /string columns only/],
    ["n:in:1|x", /"x" is not a valid/],
    ["n:eq", /needs a value/],
    ["n:isnull:1", /takes no value/],
    ["justtext", /column:op:value/],
  ];
  for (const [filter, message] of bad) {
    it(`rejects "${filter}" with 400 naming the filter`, () => {
      const v = versionOf(frame());
      let err: unknown;
      try {
        parseFilters([filter], v);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).message).toMatch(message);
      if (!filter.startsWith("nope")) expect((err as ApiError).message).toContain(filter);
    });
  }
});

describe("sort", () => {
  it("sorts by several keys, stable, nulls last whatever the direction", async () => {
    const nullsLast = (a: number | null, b: number | null, desc: boolean) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : desc ? b - a : a - b);
    // NaN sorts with the nulls, last
    const nanAsNull = (x: number | null) => (x === null || Number.isNaN(x) ? null : x);
    const byNDescThenX = [...ROWS].sort((a, b) => nullsLast(a.n, b.n, true) || nullsLast(nanAsNull(a.x), nanAsNull(b.x), false));
    expect(await ids([], "-n,x")).toEqual(byNDescThenX.map((r) => r.id));
    // ties keep file order (stable): n = -2 for ids 1 and 6, n = 5 for 0 and 3
    const byN = [...ROWS].sort((a, b) => nullsLast(a.n, b.n, false));
    expect(await ids([], "n")).toEqual(byN.map((r) => r.id));
    expect((await ids([], "-s")).at(-1)).toBe(2);
  });

  it("pages through a filtered, sorted result giving each row exactly once", async () => {
    const n = 257;
    const df = pl.DataFrame([
      pl.Series("id", Array.from({ length: n }, (_, i) => i), pl.Float64).cast(pl.Int64),
      pl.Series("g", Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 4)), pl.Float64),
    ]);
    const v = versionOf(df);
    const q = { filters: parseFilters(["id:gte:10"], v), sort: parseSort("-g", v), columns: ["id", "g"] };
    const seen: [number, number | null][] = [];
    for (let offset = 0; offset < n; offset += 20) {
      const page = await readPage(lazyOf(df), v, { ...q, offset, limit: 20 }, "arrays");
      expect(page.totalRows).toBe(n - 10);
      seen.push(...(JSON.parse(page.rowsJson) as [number, number | null][]));
    }
    const expected = Array.from({ length: n }, (_, i) => [i, i % 5 === 0 ? null : i % 4] as [number, number | null])
      .filter(([i]) => i >= 10)
      .sort((a, b) => (a[1] === null ? (b[1] === null ? 0 : 1) : b[1] === null ? -1 : b[1] - a[1]));
    expect(seen).toEqual(expected);
  });

  it("rejects unknown and repeated sort columns", () => {
    const v = versionOf(frame());
    expect(() => parseSort("nope", v)).toThrow(/Unknown column "nope"/);
    expect(() => parseSort("n,-n", v)).toThrow(/twice/);
  });
});

describe("NaN is treated like null (one rule for pages, filters, sorts)", () => {
  it("isnull finds NaN, notnull leaves it out, no comparison matches it, and sorts put it last", async () => {
    const nan = ROWS.filter((r) => r.x !== null && Number.isNaN(r.x)).map((r) => r.id);
    expect(nan).toEqual([5]);
    expect(await ids(["x:isnull"])).toEqual(expectIds((r) => r.x === null || Number.isNaN(r.x)));
    expect(await ids(["x:notnull"])).not.toContain(5);
    for (const f of ["x:gt:0", "x:lt:1e308", "x:ne:0", "x:in:0|1"]) expect(await ids([f])).not.toContain(5);
    const desc = await ids([], "-x");
    expect(desc.slice(-2).sort()).toEqual(expectIds((r) => r.x === null || Number.isNaN(r.x)).sort());
  });
});

describe("Decimal filters compare exactly", () => {
  const texts = ["1234567890123456789012345678.0123456789", "1234567890123456789012345678.0123456788", "-0.0000000001", "0", null];
  const df = pl.DataFrame([pl.Series("id", [0, 1, 2, 3, 4], pl.Float64).cast(pl.Int64), pl.Series("dec", texts, pl.Utf8).cast(pl.Decimal(38, 10))]);
  const v = versionOf(df);
  const idsOf = async (f: string[]) => (await readPage(lazyOf(df), v, { offset: 0, limit: 100, filters: parseFilters(f, v), columns: ["id"] }, "arrays")).rowsJson;

  it("finds a 38-digit value by eq and orders its neighbours", async () => {
    expect(await idsOf(["dec:eq:1234567890123456789012345678.0123456789"])).toBe("[[0]]");
    expect(await idsOf(["dec:gt:1234567890123456789012345678.0123456788"])).toBe("[[0]]");
    expect(await idsOf(["dec:gte:1234567890123456789012345678.0123456788"])).toBe("[[0],[1]]");
    expect(await idsOf(["dec:lt:0"])).toBe("[[2]]");
    expect(await idsOf(["dec:in:0|-0.0000000001|5"])).toBe("[[2],[3]]");
  });

  it("treats a value with more digits than the scale as lying between two stored values", async () => {
    expect(await idsOf(["dec:eq:0.00000000001"])).toBe("[]");
    expect(await idsOf(["dec:ne:0.00000000001"])).toBe("[[0],[1],[2],[3]]");
    expect(await idsOf(["dec:gt:-0.00000000005"])).toBe("[[0],[1],[3]]");
    expect(await idsOf(["dec:lte:-0.00000000005"])).toBe("[[2]]");
    expect(await idsOf(["dec:lt:99999999999999999999999999999999999999999"])).toBe("[[0],[1],[2],[3]]");
    expect(await idsOf(["dec:gt:99999999999999999999999999999999999999999"])).toBe("[]");
  });
});

describe("in filters", () => {
  it("takes thousands of values as one typed list", async () => {
    const n = 5000;
    const df = pl.DataFrame([pl.Series("k", Array.from({ length: n }, (_, i) => String(i * 3)), pl.Utf8).cast(pl.Int64)]);
    const v = versionOf(df);
    const values = Array.from({ length: 7900 }, (_, i) => String(i * 2));
    const page = await readPage(lazyOf(df), v, { offset: 0, limit: 10_000, filters: parseFilters([`k:in:${values.join("|")}`], v) }, "arrays");
    const expected = Array.from({ length: n }, (_, i) => i * 3).filter((x) => x % 2 === 0 && x < 7900 * 2);
    expect(JSON.parse(page.rowsJson)).toEqual(expected.map((x) => [x]));
  });
});
