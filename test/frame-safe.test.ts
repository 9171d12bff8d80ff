import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { afterAll, describe, expect, it } from "vitest";
import { estimatedBytes, frameColumnNames, frameHeight, frameSeries, frameWidth, lazyOf, writeParquetFile } from "../src/frame/safe.ts";

/** Column names that shadow DataFrame members (or the proxy's numeric-index rule). */
const HOSTILE = ["height", "width", "columns", "lazy", "getColumns", "schema", "_df", "inner", "0", "toString", "writeParquet"];

function hostileFrame(): pl.DataFrame {
  const data: Record<string, number[]> = {};
  HOSTILE.forEach((name, i) => {
    data[name] = [i, i * 10, i * 100];
  });
  return pl.DataFrame(data);
}

describe("proxy-safe frame accessors", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("reads height, width and column names whatever the columns are called", () => {
    const df = hostileFrame();
    expect(frameHeight(df)).toBe(3);
    expect(frameWidth(df)).toBe(HOSTILE.length);
    // polars keeps insertion order except that JS objects move integer-like keys first
    expect(new Set(frameColumnNames(df))).toEqual(new Set(HOSTILE));
  });

  it("returns every column as a Series with its values", () => {
    const df = hostileFrame();
    const byName = new Map(frameSeries(df).map((s) => [s.name, s.toArray()]));
    expect(byName.get("height")).toEqual([0, 0, 0]);
    expect(byName.get("_df")).toEqual([6, 60, 600]);
    expect(byName.get("0")).toEqual([8, 80, 800]);
  });

  it("gives a lazy frame over the same data", async () => {
    const out = await lazyOf(hostileFrame()).select(pl.col("lazy").sum().alias("s")).collect();
    expect(frameSeries(out)[0]?.toArray()).toEqual([3 + 30 + 300]);
  });

  it("estimates a positive size that grows with the data", () => {
    const small = pl.DataFrame({ height: [1, 2, 3] });
    const big = pl.DataFrame({ height: Array.from({ length: 10_000 }, (_, i) => i) });
    expect(estimatedBytes(small)).toBeGreaterThan(0);
    expect(estimatedBytes(big)).toBeGreaterThan(estimatedBytes(small));
  });

  it("writes a Parquet file that reads back with the same columns and values", async () => {
    const dir = await mkdtemp(join(tmpdir(), "frame-safe-"));
    dirs.push(dir);
    const path = join(dir, "x.parquet");
    const df = hostileFrame();
    await writeParquetFile(df, path);
    const back = await pl.scanParquet(path).collect();
    expect(frameColumnNames(back)).toEqual(frameColumnNames(df));
    expect(frameSeries(back).map((s) => s.toArray())).toEqual(frameSeries(df).map((s) => s.toArray()));
  });

  it("does not leave the probe property behind", () => {
    const df = pl.DataFrame({ a: [1] });
    frameHeight(df);
    expect(Object.getOwnPropertySymbols(df).map(String).some((s) => s.includes("frame.safe"))).toBe(false);
  });
});
