/**
 * Pages cut from rendered rows (src/frame/page-cache.ts) give byte for byte the text of the
 * uncached paths, for windows that overlap earlier ones in every way (inside, across the edges
 * of, and bridging rendered runs), cold and warm, in both shapes, with projections, filters and
 * sorts; a page renders only rows not rendered before; a deleted version's rows go; the byte
 * budget holds.
 */
import pl from "nodejs-polars";
import { afterEach, describe, expect, it } from "vitest";
import { clearRowCache, rowCacheStats, setRowCacheBudget } from "../src/frame/page-cache.ts";
import { exactRowsJson, forgetVersion, readPage } from "../src/frame/page.ts";
import type { PageQuery, RowShape } from "../src/frame/page.ts";
import { parseFilters, parseSort } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { versionOf } from "./frame-helpers.ts";

const BUDGET = 64 * 1024 * 1024;
afterEach(() => setRowCacheBudget(BUDGET));

/** `n` rows of every writer dtype, and `wide` extra Int32 columns. */
function frame(n: number, wide = 0): pl.DataFrame {
  const ids = Array.from({ length: n }, (_, i) => i);
  const cols = [
    pl.Series("id", ids).cast(pl.Int64),
    pl.Series("f", ids.map((i) => (i % 11 === 0 ? null : [0.1, -0.0, 1e20, Number.NaN, 1 / 3][i % 5] as number))),
    // row punctuation inside values: `},{"id":` and a string ending in `},{`
    pl.Series("s", ids.map((i) => (i % 7 === 0 ? null : ['q"uote\\', "Ünïcødé 😀", "nl\n\u2028", "", `row ${i}`, '},{"id":1', "a},{", '\\"},{'][i % 8] as string))),
    pl.Series("b", ids.map((i) => i % 3 === 0)),
    pl.Series("d", ids.map((i) => new Date(Date.UTC(1970 + (i % 90), i % 12, 1 + (i % 28))))).cast(pl.Date),
    pl.Series("dt", ids.map((i) => new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i * 7)))).cast(pl.Datetime("us")),
    pl.Series("dec", ids.map((i) => `${i - 500}.${String(i % 100).padStart(2, "0")}`)).cast(pl.Decimal(10, 2)),
    pl.Series("cat", ids.map((i) => ["red", "blue", "x"][i % 3] as string)).cast(pl.Categorical),
    ...Array.from({ length: wide }, (_, k) => pl.Series(`w${k}`, ids.map((i) => i * k)).cast(pl.Int32)),
    // a nested column (a list of structs could hold `},{"id":` itself): rows are found another way
    ...(wide > 0 ? [pl.Series("l", ids.map((i) => (i % 4 === 0 ? [] : [`},{"id":${i}`, "]"])))] : []),
  ];
  return pl.DataFrame(cols);
}

async function compare(df: pl.DataFrame, v: ReturnType<typeof versionOf>, q: PageQuery, shape: RowShape, label: string): Promise<void> {
  const cached = await readPage(lazyOf(df), v, q, shape, df);
  const lazy = await readPage(lazyOf(df), v, q, shape);
  expect(cached.rowsBytes, label).toBeDefined();
  expect(cached.rowsJson, label).toBe(lazy.rowsJson);
  expect(cached.rowsBytes?.toString("utf8"), label).toBe(lazy.rowsJson);
  expect([cached.totalRows, cached.rowCount], label).toEqual([lazy.totalRows, lazy.rowCount]);
  if (shape === "objects") expect(cached.rowsJson, label).toBe(await exactRowsJson(lazyOf(df), v, q, shape));
}

describe("pages from rendered rows", () => {
  for (const wide of [0, 120]) {
    it(`match the uncached paths, whatever was rendered before (${wide === 0 ? "8 flat" : `${9 + wide}, one nested,`} columns)`, async () => {
      clearRowCache();
      const df = frame(1300, wide);
      const v = versionOf(df);
      // in this order: inside, overlapping either edge of, and bridging earlier windows; past the end
      const windows: [number, number][] = [[500, 30], [510, 10], [490, 20], [525, 20], [400, 300], [0, 100], [50, 100], [98, 5], [1250, 100], [1299, 5], [1300, 10], [5000, 3], [0, 1300], [63, 70]];
      const specs: { columns?: string[]; sort?: string; filters?: string[] }[] = [
        {},
        { columns: ["dt", "id", "s"] },
        { sort: "-f,id" },
        { filters: ["b:eq:true"], sort: "s", columns: ["s", "dec", "d"] },
      ];
      for (const round of ["cold", "warm"]) {
        for (const shape of ["objects", "arrays"] as const) {
          for (const spec of specs) {
            for (const [offset, limit] of windows) {
              const q: PageQuery = { offset, limit, columns: spec.columns, sort: parseSort(spec.sort ?? "", v), filters: parseFilters(spec.filters ?? [], v) };
              await compare(df, v, q, shape, JSON.stringify({ round, shape, spec, offset, limit }));
            }
          }
        }
      }
      expect(rowCacheStats().hits).toBeGreaterThan(0);
    });
  }

  it("renders each row once, forgets a deleted version's rows and keeps within the byte budget", async () => {
    clearRowCache();
    const df = frame(3000);
    const v = versionOf(df);
    for (let offset = 0; offset < 3000; offset += 100) await readPage(lazyOf(df), v, { offset, limit: 100 }, "objects", df);
    const full = rowCacheStats();
    expect(full.runs).toBe(30);
    // overlapping windows render only what is missing; a covered one renders nothing
    await readPage(lazyOf(df), v, { offset: 2950, limit: 100 }, "objects", df);
    await readPage(lazyOf(df), v, { offset: 0, limit: 3000 }, "objects", df);
    expect(rowCacheStats().renderedRows).toBe(full.renderedRows);
    expect(rowCacheStats().hits).toBe(full.hits + 2);
    forgetVersion(v.datasetId, v.version);
    expect(rowCacheStats()).toMatchObject({ runs: 0, sequences: 0, bytes: 0 });

    setRowCacheBudget(Math.floor(full.bytes / 3));
    for (let offset = 0; offset < 3000; offset += 100) await readPage(lazyOf(df), v, { offset, limit: 100 }, "objects", df);
    expect(rowCacheStats().bytes).toBeLessThanOrEqual(Math.floor(full.bytes / 3));
    expect(rowCacheStats().runs).toBeGreaterThan(0);
    // a budget whose quarter cannot hold the version's index (4 bytes a row): not cached
    clearRowCache();
    setRowCacheBudget(3000 * 4 * 4 - 1);
    expect((await readPage(lazyOf(df), v, { offset: 0, limit: 10 }, "objects", df)).rowsBytes).toBeUndefined();
    setRowCacheBudget(3000 * 4 * 4);
    expect((await readPage(lazyOf(df), v, { offset: 0, limit: 10 }, "objects", df)).rowsBytes).toBeDefined();
    // budget 0: nothing kept, pages still right (the uncached eager path)
    setRowCacheBudget(0);
    expect(rowCacheStats().runs).toBe(0);
    const p = await readPage(lazyOf(df), v, { offset: 2990, limit: 100 }, "objects", df);
    expect(p.rowsBytes).toBeUndefined();
    expect(p.rowsJson).toBe((await readPage(lazyOf(df), v, { offset: 2990, limit: 100 }, "objects")).rowsJson);
  });
});
