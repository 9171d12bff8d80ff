import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { parseFilters } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { computeStats, HISTOGRAM_BINS } from "../src/frame/stats.ts";
import type { ColumnStats } from "../src/frame/stats.ts";
import { versionOf } from "./frame-helpers.ts";


// ---- independent reference computations in plain JS ----
function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}
function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function sampleStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
function histogramCounts(xs: number[], lo: number, hi: number): number[] {
  const w = (hi - lo) / HISTOGRAM_BINS;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const x of xs) counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((x - lo) / w))]! += 1;
  return counts;
}

/** Deterministic pseudo-random numbers (no Math.random in tests). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const rand = lcg(42);
const N = 500;
const floats: (number | null)[] = Array.from({ length: N }, (_, i) => (i % 17 === 0 ? null : i % 23 === 0 ? Number.NaN : i % 31 === 0 ? 0 : Math.round((rand() * 200 - 50) * 1000) / 1000));
const ints: (number | null)[] = Array.from({ length: N }, (_, i) => (i % 13 === 0 ? null : Math.floor(rand() * 1000) - 100));
const words = ["apple", "pear", "fig", "kiwi", "banana", "plum", "Ünï", "😀x"];
const strings: (string | null)[] = Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : (words[Math.floor(rand() * rand() * words.length)] as string)));
const bools: (boolean | null)[] = Array.from({ length: N }, (_, i) => (i % 7 === 0 ? null : rand() < 0.3));
const days: (number | null)[] = Array.from({ length: N }, (_, i) => (i % 19 === 0 ? null : 19_000 + Math.floor(rand() * 400)));

function frame(): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("f", floats, pl.Float64),
    pl.Series("i", ints, pl.Float64).cast(pl.Int64),
    pl.Series("s", strings, pl.Utf8),
    pl.Series("b", bools, pl.Bool),
    pl.Series("d", days, pl.Float64).cast(pl.Int32).cast(pl.Date),
  ]);
}

function column(stats: { columns: ColumnStats[] }, name: string): ColumnStats {
  const c = stats.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no stats for ${name}`);
  return c;
}

const isoDay = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

describe("computeStats", () => {
  it("computes float statistics ignoring NaN, with nanCount and a 20-bin histogram", async () => {
    const stats = await computeStats(lazyOf(frame()), versionOf(frame()));
    expect(stats.rowCount).toBe(N);
    const f = column(stats, "f");
    const nonNull = floats.filter((x): x is number => x !== null);
    const values = nonNull.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    expect(f.count).toBe(nonNull.length);
    expect(f.nullCount).toBe(N - nonNull.length);
    expect(f.nanCount).toBe(nonNull.length - values.length);
    expect(f.distinctCount).toBe(new Set(nonNull.map((x) => (Number.isNaN(x) ? "NaN" : x))).size);
    expect(f.zeros).toBe(values.filter((x) => x === 0).length);
    expect(f.min).toBe(values[0]);
    expect(f.max).toBe(values[values.length - 1]);
    expect(f.mean).toBeCloseTo(mean(values), 9);
    expect(f.std).toBeCloseTo(sampleStd(values), 9);
    expect(f.median).toBeCloseTo(quantile(values, 0.5), 9);
    expect(f.quantiles?.p05).toBeCloseTo(quantile(values, 0.05), 9);
    expect(f.quantiles?.p25).toBeCloseTo(quantile(values, 0.25), 9);
    expect(f.quantiles?.p75).toBeCloseTo(quantile(values, 0.75), 9);
    expect(f.quantiles?.p95).toBeCloseTo(quantile(values, 0.95), 9);
    const lo = values[0] as number;
    const hi = values[values.length - 1] as number;
    expect(f.histogram?.edges).toHaveLength(HISTOGRAM_BINS + 1);
    expect(f.histogram?.edges[0]).toBe(lo);
    expect(f.histogram?.edges[HISTOGRAM_BINS]).toBe(hi);
    expect(f.histogram?.counts).toEqual(histogramCounts(values, lo, hi));
  });

  it("computes integer statistics and keeps Int64 extremes beyond 2^53 exact", async () => {
    const stats = await computeStats(lazyOf(frame()), versionOf(frame()));
    const i = column(stats, "i");
    const values = ints.filter((x): x is number => x !== null).sort((a, b) => a - b);
    expect(i).toMatchObject({ count: values.length, nullCount: N - values.length, min: values[0], max: values[values.length - 1] });
    expect(i.distinctCount).toBe(new Set(values).size);
    expect(i.mean).toBeCloseTo(mean(values), 9);
    expect(i.std).toBeCloseTo(sampleStd(values), 9);
    expect(i.median).toBeCloseTo(quantile(values, 0.5), 9);
    expect(i.zeros).toBe(values.filter((x) => x === 0).length);
    expect(i.nanCount).toBeUndefined();
    expect(i.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(values.length);

    const big = pl.DataFrame([pl.Series("x", ["9007199254740993", "-9223372036854775808", "5"], pl.Utf8).cast(pl.Int64)]);
    const x = column(await computeStats(lazyOf(big), versionOf(big)), "x");
    expect(x.min).toBe("-9223372036854775808");
    expect(x.max).toBe("9007199254740993");
  });

  it("computes string lengths and the 10 most frequent values, ties broken by value", async () => {
    const stats = await computeStats(lazyOf(frame()), versionOf(frame()));
    const s = column(stats, "s");
    const values = strings.filter((x): x is string => x !== null);
    const lengths = values.map((v) => [...v].length);
    expect(s).toMatchObject({ count: values.length, nullCount: N - values.length, distinctCount: new Set(values).size });
    expect(s.minLength).toBe(Math.min(...lengths));
    expect(s.maxLength).toBe(Math.max(...lengths));
    expect(s.meanLength).toBeCloseTo(mean(lengths), 9);
    const freq = new Map<string, number>();
    for (const v of values) freq.set(v, (freq.get(v) ?? 0) + 1);
    const expected = [...freq]
      .sort((a, b) => b[1] - a[1] || (Buffer.from(a[0]) < Buffer.from(b[0]) ? -1 : 1))
      .slice(0, 10)
      .map(([value, count]) => ({ value, count }));
    expect(s.topValues).toEqual(expected);

    const ties = pl.DataFrame({ t: ["b", "a", "c", "a", "b", "c", "d"] });
    expect(column(await computeStats(lazyOf(ties), versionOf(ties)), "t").topValues).toEqual([
      { value: "a", count: 2 },
      { value: "b", count: 2 },
      { value: "c", count: 2 },
      { value: "d", count: 1 },
    ]);
  });

  it("counts booleans", async () => {
    const b = column(await computeStats(lazyOf(frame()), versionOf(frame())), "b");
    const values = bools.filter((x): x is boolean => x !== null);
    expect(b).toMatchObject({
      count: values.length,
      nullCount: N - values.length,
      distinctCount: new Set(values).size,
      trueCount: values.filter((x) => x).length,
      falseCount: values.filter((x) => !x).length,
    });
  });

  it("gives temporal min/max and a histogram with ISO edges", async () => {
    const d = column(await computeStats(lazyOf(frame()), versionOf(frame())), "d");
    const values = days.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const lo = values[0] as number;
    const hi = values[values.length - 1] as number;
    expect(d.min).toBe(isoDay(lo));
    expect(d.max).toBe(isoDay(hi));
    const width = Math.ceil((hi - lo) / HISTOGRAM_BINS);
    const bins = Math.ceil((hi - lo) / width);
    expect(d.histogram?.edges).toEqual(Array.from({ length: bins + 1 }, (_, k) => isoDay(lo + k * width)));
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
    expect(d.histogram?.counts).toEqual(counts);
  });

  it("gives a constant column one bin and an all-null column no histogram", async () => {
    const df = pl.DataFrame([pl.Series("k", [3, 3, 3], pl.Float64), pl.Series("n", [null, null, null], pl.Float64)]);
    const stats = await computeStats(lazyOf(df), versionOf(df));
    expect(column(stats, "k").histogram).toEqual({ edges: [3, 3], counts: [3] });
    expect(column(stats, "n")).toMatchObject({ count: 0, nullCount: 3, min: null, max: null, mean: null, histogram: null });
  });

  it("computes the statistics of a filtered subset", async () => {
    const df = frame();
    const v = versionOf(df);
    const stats = await computeStats(lazyOf(df), v, parseFilters(["s:eq:fig"], v));
    const keep = strings.map((s) => s === "fig");
    expect(stats.rowCount).toBe(keep.filter(Boolean).length);
    const subset = ints.filter((x, k) => keep[k] && x !== null) as number[];
    expect(column(stats, "i").count).toBe(subset.length);
    expect(column(stats, "i").mean).toBeCloseTo(mean(subset), 9);
    expect(column(stats, "s").topValues).toEqual([{ value: "fig", count: keep.filter(Boolean).length }]);
  });
});

/** The two layouts sum in different orders: mean/std/meanLength may differ in the last bits. */
function expectSameStats(a: { columns: ColumnStats[] }, b: { columns: ColumnStats[] }): void {
  const rounded = (s: { columns: ColumnStats[] }) =>
    JSON.parse(JSON.stringify(s, (key, value: unknown) => (["mean", "std", "meanLength"].includes(key) && typeof value === "number" ? Number(value.toPrecision(12)) : value)));
  expect(rounded(a)).toEqual(rounded(b));
}

describe("computeStats: internal names and layouts", () => {
  // names that Polars or this module use internally, or that look like our aliases
  const NAMES = ["count", "len", "n", "v", "b", "value", "variable", "rows", "literal", "c0", "c1", "0.1:c0", "count:c0", "index", "__row", "*", "^c.*$", "2019"];

  it("gives every column its own statistics whatever it is called, in both layouts", async () => {
    const df = pl.DataFrame(NAMES.map((name, k) => (k % 2 === 0 ? pl.Series(name, [k, k + 1, k + 1, null], pl.Float64) : pl.Series(name, [`a${k}`, "b", "b", null], pl.Utf8))));
    const v = versionOf(df);
    const wide = await computeStats(lazyOf(df), v, undefined, { layout: "wide" });
    const long = await computeStats(lazyOf(df), v, undefined, { layout: "long" });
    expectSameStats(long, wide);
    expect(wide.columns.map((c) => c.name)).toEqual(NAMES);
    NAMES.forEach((name, k) => {
      const c = column(wide, name);
      expect(c.count).toBe(3);
      if (k % 2 === 0) expect(c).toMatchObject({ min: k, max: k + 1, distinctCount: 2 });
      else expect(c.topValues).toEqual([{ value: "b", count: 2 }, { value: `a${k}`, count: 1 }]);
    });
  });

  it("computes the same statistics in the wide and the long layout for every kind", async () => {
    const df = frame();
    const v = versionOf(df);
    expectSameStats(await computeStats(lazyOf(df), v, undefined, { layout: "long" }), await computeStats(lazyOf(df), v, undefined, { layout: "wide" }));
  });
});
