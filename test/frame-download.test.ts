import { readFile, stat } from "node:fs/promises";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { describeColumns } from "../src/frame/dtype.ts";
import { parseDownloadFormat, writeDownload } from "../src/frame/download.ts";
import type { DownloadFormat } from "../src/frame/download.ts";
import { readPage } from "../src/frame/page.ts";
import { parseFilters, parseSort } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { DEFAULT_OPTIONS } from "../src/ingest/options.ts";
import { parseUpload } from "../src/ingest/index.ts";
import type { Version } from "../src/types.ts";
import { versionOf } from "./frame-helpers.ts";


const utc = (...a: [number, number, number, number?, number?, number?, number?]) => new Date(Date.UTC(...a));

/** The kinds of columns a CSV upload can produce, plus Parquet-only types. */
function csvLikeFrame(): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("id", ["1", "9007199254740993", "-5", null], pl.Utf8).cast(pl.Int64),
    pl.Series("price", [1.5, 0.1, null, -2e-7], pl.Float64),
    pl.Series("name", ['a "quoted", value', "Ünïcødé 😀", "", null], pl.Utf8),
    pl.Series("ok", [true, false, null, true], pl.Bool),
    pl.Series("day", [utc(2024, 0, 2), null, utc(1999, 11, 31), utc(2024, 1, 29)], pl.Date),
    pl.Series("at", [utc(2024, 0, 2, 3, 4, 5), utc(2024, 0, 2, 3, 4, 5, 120), null, utc(1970, 0, 1)]).cast(pl.Datetime("us")),
    pl.Series("atz", [utc(2024, 0, 2, 3, 4, 5), null, utc(2024, 6, 1), utc(2024, 0, 1, 0, 0, 0, 1)]).cast(pl.Datetime("us", "UTC")),
  ]);
}

function richFrame(): pl.DataFrame {
  return csvLikeFrame().withColumns(
    pl.lit("red").cast(pl.Categorical).alias("cat"),
    pl.col("price").cast(pl.Decimal(12, 4)).alias("dec"),
    pl.col("at").cast(pl.Datetime("ns", "Europe/Paris")).alias("paris"),
  );
}

async function allRows(lf: pl.LazyDataFrame, v: Version): Promise<unknown> {
  return JSON.parse((await readPage(lf, v, { offset: 0, limit: 10_000 }, "objects")).rowsJson);
}

async function download(df: pl.DataFrame, format: DownloadFormat, extra: { columns?: string[]; sort?: string; filter?: string[] } = {}) {
  const v = versionOf(df);
  return writeDownload(lazyOf(df), v, {
    format,
    columns: extra.columns,
    sort: extra.sort ? parseSort(extra.sort, v) : undefined,
    filters: extra.filter ? parseFilters(extra.filter, v) : undefined,
  });
}

describe("writeDownload", () => {
  it("round-trips exact dtypes and values through Parquet", async () => {
    const df = richFrame();
    const file = await download(df, "parquet");
    try {
      expect(file.contentType).toBe("application/vnd.apache.parquet");
      const back = await pl.scanParquet(file.path).collect();
      expect(describeColumns(back)).toEqual(describeColumns(df));
      expect(await allRows(lazyOf(back), versionOf(back))).toEqual(await allRows(lazyOf(df), versionOf(df)));
    } finally {
      await file.cleanup();
    }
  });

  it("writes CSV that a re-upload parses to the same schema and values", async () => {
    const df = csvLikeFrame();
    const file = await download(df, "csv");
    try {
      const text = await readFile(file.path, "utf8");
      // every non-numeric field is quoted, so an empty string ("") differs from a null (empty field)
      expect(text.split("\n")[0]).toBe('"id","price","name","ok","day","at","atz"');
      expect(text).toContain("2024-01-02T03:04:05.120");
      const { frame } = await parseUpload({ path: file.path, originalName: "x.csv", sizeBytes: (await stat(file.path)).size }, DEFAULT_OPTIONS, { maxColumns: 100, maxRows: 1000 });
      expect(describeColumns(frame).map((c) => [c.name, c.dtype])).toEqual(describeColumns(df).map((c) => [c.name, c.dtype]));
      const rowsBack = (await allRows(lazyOf(frame), versionOf(frame))) as Record<string, unknown>[];
      const rows = (await allRows(lazyOf(df), versionOf(df))) as Record<string, unknown>[];
      expect(rowsBack).toEqual(rows);
    } finally {
      await file.cleanup();
    }
  });

  it("formats naive datetimes in CSV through the writer itself when no zoned column is present", async () => {
    const file = await download(csvLikeFrame(), "csv", { columns: ["id", "at", "day"] });
    try {
      expect(await readFile(file.path, "utf8")).toBe(
        '"id","at","day"\n1,"2024-01-02T03:04:05","2024-01-02"\n9007199254740993,"2024-01-02T03:04:05.120",\n-5,,"1999-12-31"\n,"1970-01-01T00:00:00","2024-02-29"\n',
      );
    } finally {
      await file.cleanup();
    }
  });

  it("writes NDJSON and JSON with the same values in Polars' JSON conventions", async () => {
    const df = richFrame();
    const expected = (await allRows(lazyOf(df), versionOf(df))) as Record<string, unknown>[];
    const nd = await download(df, "ndjson");
    const js = await download(df, "json");
    try {
      const lines = (await readFile(nd.path, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      const array = JSON.parse(await readFile(js.path, "utf8")) as Record<string, unknown>[];
      // Polars' JSON writer conventions (documented in download.ts): integers as exact JSON numbers
      // (9007199254740993 reads back rounded in JS), naive datetimes with a space, UTC as +00:00
      const polarsStyle = expected.map(({ id: _id, ...r }) => ({
        ...r,
        at: typeof r.at === "string" ? r.at.replace("T", " ") : r.at,
        atz: typeof r.atz === "string" ? r.atz.replace(/Z$/, "+00:00") : r.atz,
      }));
      expect(lines.map(({ id: _id, ...rest }) => rest)).toEqual(polarsStyle);
      expect(array).toEqual(lines);
      expect(await readFile(nd.path, "utf8")).toContain('"id":9007199254740993');
    } finally {
      await nd.cleanup();
      await js.cleanup();
    }
  });

  it("writes an empty JSON array when no row matches", async () => {
    const file = await download(csvLikeFrame(), "json", { filter: ["id:gt:1000000000000000000"] });
    try {
      expect(JSON.parse(await readFile(file.path, "utf8"))).toEqual([]);
    } finally {
      await file.cleanup();
    }
  });

  it("writes an Arrow IPC file that reads back exactly", async () => {
    const df = richFrame();
    const file = await download(df, "arrow");
    try {
      const back = pl.readIPC(await readFile(file.path));
      expect(describeColumns(back)).toEqual(describeColumns(df));
      expect(await allRows(lazyOf(back), versionOf(back))).toEqual(await allRows(lazyOf(df), versionOf(df)));
    } finally {
      await file.cleanup();
    }
  });

  it("applies projection, filter and sort", async () => {
    const df = csvLikeFrame();
    const file = await download(df, "parquet", { columns: ["name", "id"], filter: ["id:notnull"], sort: "-id" });
    try {
      const back = await pl.scanParquet(file.path).collect();
      expect(await allRows(lazyOf(back), versionOf(back))).toEqual([
        { name: "Ünïcødé 😀", id: "9007199254740993" },
        { name: 'a "quoted", value', id: 1 },
        { name: "", id: -5 },
      ]);
    } finally {
      await file.cleanup();
    }
  });

  it("removes its temporary file on cleanup", async () => {
    const file = await download(csvLikeFrame(), "csv");
    await file.cleanup();
    await expect(stat(file.path)).rejects.toThrow();
  });

  it("rejects an unknown format with 400", () => {
    expect(() => parseDownloadFormat("xml")).toThrow(ApiError);
    expect(parseDownloadFormat("arrow")).toBe("arrow");
  });
});
