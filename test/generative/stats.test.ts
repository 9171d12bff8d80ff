/**
 * Generative: statistics of generated Parquet tables against arithmetic done here in plain JS on
 * the generated values (counts, exact extremes, quantiles by linear interpolation, histogram bins,
 * top values), in both layouts of stats.ts (wide select and long group-by), which must agree.
 */
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lazyOf } from "../../src/frame/safe.ts";
import { computeStats, HISTOGRAM_BINS, TOP_VALUES, type ColumnStats } from "../../src/frame/stats.ts";
import { versionOf } from "../frame-helpers.ts";
import { openDuck, type Duck } from "./duck.ts";
import { params, TIMEOUT, PARQUET_TYPES, tableOf, type GenColumn } from "./tables.ts";

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

function close(got: number | null | undefined, want: number, what: string): void {
  if (!Number.isFinite(want)) {
    expect(got, what).toBeNull();
    return;
  }
  const tol = 1e-9 * Math.max(1, Math.abs(want));
  if (typeof got !== "number" || Math.abs(got - want) > tol) expect.fail(`${what}: got ${got}, want ${want}`);
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return lo === hi ? a : a + (b - a) * (pos - lo);
}

const asNumber = (c: GenColumn, v: unknown): number => {
  if (c.type.kind === "decimal") return Number(c.type.expected(v));
  return typeof v === "bigint" ? Number(v) : (v as number);
};

function checkNumeric(c: GenColumn, s: ColumnStats): void {
  const present = c.values.filter((v) => v !== null);
  const numbers = present.map((v) => asNumber(c, v));
  const values = numbers.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (c.type.kind === "float") expect(s.nanCount).toBe(numbers.length - values.length);
  expect(s.zeros).toBe(values.filter((x) => x === 0).length);
  if (values.length === 0) {
    expect(s.min ?? null).toBeNull();
    expect(s.histogram).toBeNull();
    return;
  }
  // extremes exactly: integers and decimals by their own ordering, floats as numbers
  if (c.type.kind === "float") {
    expect(s.min === values[0] || (s.min === null && !Number.isFinite(values[0] as number))).toBe(true);
    expect(s.max === values[values.length - 1] || (s.max === null && !Number.isFinite(values[values.length - 1] as number))).toBe(true);
  } else {
    const raw = [...present].sort((a, b) => ((a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0));
    expect(s.min).toEqual(c.type.expected(raw[0]));
    expect(s.max).toEqual(c.type.expected(raw[raw.length - 1]));
  }
  if (values.every(Number.isFinite)) {
    close(s.median, quantile(values, 0.5), "median");
    close(s.quantiles?.p05, quantile(values, 0.05), "p05");
    close(s.quantiles?.p95, quantile(values, 0.95), "p95");
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    if (values.every((x) => Math.abs(x) < 1e15)) close(s.mean, mean, "mean");
  }
  // histogram: every finite value in exactly one bin, by the documented rule
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) {
    expect(s.histogram).toBeNull();
    return;
  }
  const h = s.histogram;
  if (!h) throw new Error("histogram missing");
  const lo = finite[0] as number;
  const hi = finite[finite.length - 1] as number;
  expect(h.counts.reduce((a, b) => a + b, 0)).toBe(finite.length);
  if (c.type.kind === "decimal") {
    // decimal histograms are computed in Float64 from Polars' Decimal→Float64 cast, which is not
    // always correctly rounded (off by an ulp at 28 digits): the bins are checked approximately
    close(h.edges[0] as number, lo, "first edge");
    return;
  }
  expect(h.edges[0]).toBe(lo);
  if (lo === hi) {
    expect(h).toEqual({ edges: [lo, hi], counts: [finite.length] });
    return;
  }
  const whole = c.type.kind === "int" && hi - lo < Number.MAX_SAFE_INTEGER;
  const even = Number.isFinite(hi - lo) ? (hi - lo) / HISTOGRAM_BINS : hi / HISTOGRAM_BINS - lo / HISTOGRAM_BINS;
  const w = whole ? Math.max(1, Math.ceil((hi - lo + 1) / HISTOGRAM_BINS)) : even;
  const bins = whole ? Math.ceil((hi - lo + 1) / w) : HISTOGRAM_BINS;
  // whole-number bins end one past the max ([3, 4] holds 3); float bins end at the max
  expect(h.edges[h.edges.length - 1]).toBe(whole ? lo + bins * w : hi);
  // a value on a bin edge (to within rounding: Polars may divide as a multiplication by the
  // reciprocal) may land on either side of it; every other value has exactly one bin
  const bin = (q: number) => Math.min(bins - 1, Math.max(0, Math.floor(q)));
  const least = new Array<number>(bins).fill(0);
  const most = new Array<number>(bins).fill(0);
  for (const x of finite) {
    const q = (x - lo) / w;
    const [a, b] = [bin(q * (1 - 1e-12) - 1e-12), bin(q * (1 + 1e-12) + 1e-12)];
    if (a === b) least[a]! += 1;
    most[a]! += 1;
    if (b !== a) most[b]! += 1;
  }
  h.counts.forEach((n, k) => {
    if (n < (least[k] as number) || n > (most[k] as number)) expect.fail(`bin ${k}: ${n} values, expected ${least[k]}..${most[k]} (counts ${JSON.stringify(h.counts)})`);
  });
  expect(h.counts).toHaveLength(bins);
}

function checkString(c: GenColumn, s: ColumnStats): void {
  const values = c.values.filter((v): v is string => v !== null);
  const lengths = values.map((v) => [...v].length);
  expect(s.distinctCount).toBe(new Set(values).size);
  expect(s.minLength ?? null).toBe(values.length ? Math.min(...lengths) : null);
  expect(s.maxLength ?? null).toBe(values.length ? Math.max(...lengths) : null);
  const freq = new Map<string, number>();
  for (const v of values) freq.set(v, (freq.get(v) ?? 0) + 1);
  const top = [...freq]
    .sort((a, b) => b[1] - a[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
    .slice(0, TOP_VALUES)
    .map(([value, count]) => ({ value, count }));
  expect(s.topValues).toEqual(top);
}

describe("generated statistics", () => {
  it("match arithmetic done in JS, in both layouts", async () => {
    await fc.assert(
      fc.asyncProperty(tableOf(PARQUET_TYPES, { maxColumns: 5, maxRows: 40 }), async (t) => {
        const file = await duck.write(t, "parquet", "stats");
        const df = await pl.scanParquet(file, { glob: false, hivePartitioning: false }).collect();
        const v = versionOf(df, "gen-stats");
        const wide = await computeStats(lazyOf(df), v, undefined, { layout: "wide" });
        const long = await computeStats(lazyOf(df), v, undefined, { layout: "long" });
        expect(wide.rowCount).toBe(t.rows);
        // the layouts sum in different orders (mean, std) and may differ in the last bit of a bin
        // width, which an edge near zero amplifies: compare those approximately (edges relative to the span)
        const approxEdges = (edges: unknown[]) => {
          if (!edges.every((e) => typeof e === "number")) return edges;
          const [a, b] = [edges[0] as number, edges[edges.length - 1] as number];
          return edges.map((e) => (b === a ? e : Number((((e as number) - a) / (b - a)).toFixed(9))));
        };
        const rounded = (x: unknown) =>
          JSON.parse(JSON.stringify(x, (k, val: unknown) => (["mean", "std", "meanLength"].includes(k) && typeof val === "number" ? Number(val.toPrecision(10)) : k === "edges" && Array.isArray(val) ? approxEdges(val) : val)));
        const [l, w] = [rounded(long) as { columns: unknown[] }, rounded(wide) as { columns: unknown[] }];
        l.columns.forEach((c, k) => {
          if (JSON.stringify(c) !== JSON.stringify(w.columns[k])) expect.fail(`long and wide layouts differ for column ${k}: long ${JSON.stringify(c)}, wide ${JSON.stringify(w.columns[k])}`);
        });
        t.columns.forEach((c, k) => {
          const s = wide.columns[k] as ColumnStats;
          const nonNull = c.values.filter((x) => x !== null).length;
          expect(s.name).toBe(c.name);
          expect(s.count).toBe(nonNull);
          expect(s.nullCount).toBe(t.rows - nonNull);
          switch (c.type.kind) {
            case "int":
            case "float":
            case "decimal":
              checkNumeric(c, s);
              break;
            case "string":
              checkString(c, s);
              break;
            case "bool": {
              const trues = c.values.filter((x) => x === true).length;
              expect([s.trueCount, s.falseCount]).toEqual([trues, nonNull - trues]);
              break;
            }
            case "temporal":
            case "time": {
              const present = c.values.filter((x): x is bigint | number => x !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
              expect(s.min ?? null).toBe(present.length ? c.type.expected(present[0]) : null);
              expect(s.max ?? null).toBe(present.length ? c.type.expected(present[present.length - 1]) : null);
              if (c.type.kind === "temporal") expect((s.histogram?.counts ?? []).reduce((a, b) => a + b, 0)).toBe(nonNull);
              break;
            }
            default:
              expect(s.distinctCount).toBeNull();
          }
        });
      }),
      params(30),
    );
  }, TIMEOUT);
});
