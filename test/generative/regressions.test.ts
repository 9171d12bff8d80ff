/**
 * Shrunk counterexamples of the generative suite, kept as named cases (each failed before its fix).
 */
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDownload } from "../../src/frame/download.ts";
import { readPage } from "../../src/frame/page.ts";
import { parseFilters } from "../../src/frame/query.ts";
import { lazyOf } from "../../src/frame/safe.ts";
import { computeStats } from "../../src/frame/stats.ts";
import { versionOf } from "../frame-helpers.ts";
import { openDuck, sqlString, type Duck } from "./duck.ts";

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

async function parquet(select: string): Promise<{ lf: pl.LazyDataFrame; df: pl.DataFrame; file: string }> {
  const file = `${duck.dir}/case-${Math.random().toString(36).slice(2)}.parquet`;
  await duck.db.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet)`);
  const lf = pl.scanParquet(file, { glob: false, hivePartitioning: false });
  return { lf, df: await lf.collect(), file };
}

describe("generative counterexamples", () => {
  it("time-filter-parquet-pushdown: t:lt:23:59:59.999999 on a TIME(us) column read from disk", async () => {
    const { lf, df } = await parquet("SELECT * FROM (VALUES (0, '16:47:33.395348'::TIME), (1, '00:00:00'::TIME), (2, '23:59:59.999999'::TIME), (3, NULL)) t(id, t)");
    const v = versionOf(df);
    for (const [f, want] of [["t:lt:23:59:59.999999", "[[0],[1]]"], ["t:eq:23:59:59.999999", "[[2]]"], ["t:in:00:00|23:59:59.999999", "[[1],[2]]"]] as const) {
      const q = { offset: 0, limit: 10, columns: ["id"], filters: parseFilters([f], v) };
      expect((await readPage(lf, v, q, "arrays")).rowsJson).toBe(want);
      expect((await readPage(lazyOf(df), v, q, "arrays", df)).rowsJson).toBe(want);
    }
  });

  it("stats-all-null-string-long-layout: top values of an all-null String column", async () => {
    const { df } = await parquet("SELECT NULL::VARCHAR AS s, NULL::BIGINT AS i");
    const stats = await computeStats(lazyOf(df), versionOf(df), undefined, { layout: "long" });
    expect(stats.columns[0]).toMatchObject({ name: "s", count: 0, nullCount: 1, distinctCount: 0, topValues: [] });
  });

  it("stats-ns-span-beyond-int64: a temporal histogram over 1677..2262 in nanoseconds", async () => {
    const { df } = await parquet("SELECT * FROM (VALUES ('1677-09-23 00:00:00'::TIMESTAMP_NS), ('2262-04-09 00:00:00.5'::TIMESTAMP_NS), ('2000-01-01'::TIMESTAMP_NS)) t(ns)");
    const h = (await computeStats(lazyOf(df), versionOf(df))).columns[0]?.histogram;
    expect(h?.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h?.edges[0]).toBe("1677-09-23T00:00:00");
    expect(h?.edges.length).toBe((h?.counts.length ?? 0) + 1);
    expect(String(h?.edges.at(-1)) >= "2262-04-09T00:00:00.500").toBe(true);
  });

  it("stats-first-float-edge: the first edge is the exact minimum of a wide-range integer column", async () => {
    const { df } = await parquet("SELECT * FROM (VALUES (-87134998543384667::BIGINT), (10), (-1), (922)) t(x)");
    const h = (await computeStats(lazyOf(df), versionOf(df))).columns[0]?.histogram;
    expect(h?.edges[0]).toBe(Number(-87134998543384667n));
  });

  it("csv-empty-string: an empty string and a null stay apart in a CSV download", async () => {
    const { df } = await parquet("SELECT * FROM (VALUES ('a'), (''), (NULL)) t(s)");
    const file = await writeDownload(lazyOf(df), versionOf(df), { format: "csv" });
    try {
      const rows = await duck.texts(`SELECT * FROM read_csv(${sqlString(file.path)}, header = true, allow_quoted_nulls = false, columns = {'s': 'VARCHAR'})`);
      expect(rows).toEqual([["a"], [""], [null]]);
    } finally {
      await file.cleanup();
    }
  });
});

describe("Binary columns (ingest hands over String today; the frame layer still serves Binary safely)", () => {
  it("renders base64 on both page paths, counts in stats, and writes every download format without aborting", async () => {
    const { lf, df } = await parquet("SELECT * FROM (VALUES (1, 'abc'::BLOB), (2, '\\x00\\xFF'::BLOB), (3, ''::BLOB), (4, NULL)) t(id, b)");
    const v = versionOf(df);
    expect(v.columns.map((c) => c.dtype)).toEqual(["Int32", "Binary"]);
    const want = '[[1,"YWJj"],[2,"AP8="],[3,""],[4,null]]';
    expect((await readPage(lazyOf(df), v, { offset: 0, limit: 10 }, "arrays", df)).rowsJson).toBe(want);
    expect((await readPage(lf, v, { offset: 0, limit: 10 }, "arrays")).rowsJson).toBe(want);
    const stats = await computeStats(lazyOf(df), v);
    expect(stats.columns[1]).toMatchObject({ name: "b", dtype: "Binary", count: 3, nullCount: 1 });
    for (const format of ["csv", "ndjson", "json", "parquet", "arrow"] as const) {
      const file = await writeDownload(lazyOf(df), v, { format });
      await file.cleanup();
    }
    const csv = await writeDownload(lazyOf(df), v, { format: "csv" });
    try {
      expect(await duck.texts(`SELECT * FROM read_csv(${sqlString(csv.path)}, header = true, allow_quoted_nulls = false, columns = {'id': 'INTEGER', 'b': 'VARCHAR'})`)).toEqual([["1", "YWJj"], ["2", "AP8="], ["3", ""], ["4", null]]);
    } finally {
      await csv.cleanup();
    }
  });
});
