/**
 * Generative: statistics of generated Parquet tables against arithmetic done here in plain JS on
 * the generated values (counts, exact extremes, quantiles by linear interpolation, histogram bins,
 * top values), in both layouts of stats.ts (wide select and long group-by), which must agree.
 */
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { floatText } from "../../src/frame/float-text.ts";
import { lazyOf } from "../../src/frame/safe.ts";
import { renderStats } from "../../src/frame/stats-json.ts";
import { computeStats, HISTOGRAM_BINS, TOP_VALUES, type ColumnStats, type VersionStats } from "../../src/frame/stats.ts";
import { versionOf } from "../frame-helpers.ts";
import { openDuck, type Duck } from "./duck.ts";
import { params, RUNS, SEED, TIMEOUT, PARQUET_TYPES, tableOf, type GenColumn } from "./tables.ts";

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
  // distinct non-null values: floats by SameValueZero (NaN is one value, -0.0 equals 0.0), as Polars' nUnique counts;
  // integers and decimals by their exact text
  const distinct = c.type.kind === "float" ? new Set(numbers).size : new Set(present.map((v) => JSON.stringify(c.type.expected(v)))).size;
  expect(s.distinctCount, "distinctCount").toBe(distinct);
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

/**
 * A temporal histogram exactly, in BigInt: width w = max(1, ceil((max − min) / 20)) units, bins
 * ceil((max − min) / w), value x in bin floor((x − min) / w) (the max in the last), edges min + k·w
 * rendered like page values; a constant column has one bin [v, v].
 */
function checkTemporalHistogram(c: GenColumn, s: ColumnStats, sorted: bigint[]): void {
  if (sorted.length === 0) {
    expect(s.histogram ?? null).toBeNull();
    return;
  }
  const lo = sorted[0] as bigint;
  const hi = sorted[sorted.length - 1] as bigint;
  const render = (x: bigint) => c.type.expected(c.type.dtype === "Date" ? Number(x) : x);
  if (lo === hi) {
    expect(s.histogram).toEqual({ edges: [render(lo), render(hi)], counts: [sorted.length] });
    return;
  }
  const span = hi - lo;
  const w = span <= 20n ? 1n : (span + 19n) / 20n;
  const bins = Number((span + w - 1n) / w);
  const counts = new Array<number>(bins).fill(0);
  for (const x of sorted) counts[Math.min(bins - 1, Number((x - lo) / w))]! += 1;
  expect(s.histogram?.counts, "temporal histogram counts").toEqual(counts);
  // the last edge can pass the column's max (and year 9999, where JS and Polars write years differently)
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + BigInt(k) * w);
  expect(s.histogram?.edges).toHaveLength(bins + 1);
  edges.forEach((e, k) => {
    if (e <= hi) expect(s.histogram?.edges[k], `temporal histogram edge ${k}`).toBe(render(e));
  });
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


/** Polars' text of each double (Float64 or Float32): what a page writes for that value. */
function polarsTexts(values: number[], bits: 32 | 64): (string | null)[] {
  if (values.length === 0) return [];
  const s = pl.Series("x", values, pl.Float64);
  const out = pl.DataFrame([bits === 32 ? s.cast(pl.Float32) : s]).select(pl.col("x").cast(pl.Utf8)).getColumn("x");
  return (out.toArray() as unknown as (string | null)[]).map((t, i) => (Number.isFinite(values[i] as number) ? t : null));
}

/** A number as sent: its JSON text, read with JSON.parse's source access (Node 24). */
interface Sent {
  text: string;
}
const isSent = (x: unknown): x is Sent => typeof x === "object" && x !== null && "text" in x;

/** The stats answer as the route sends it, every number replaced by its JSON text. */
function sentStats(stats: VersionStats): { columns: Record<string, unknown>[] } {
  const text = JSON.stringify(renderStats({ datasetId: "d", version: 1, ...stats }));
  const reviver = (_key: string, value: unknown, context?: { source?: string }) => (typeof value === "number" ? { text: context?.source ?? String(value) } : value);
  return JSON.parse(text, reviver as never) as { columns: Record<string, unknown>[] };
}

/**
 * Q4: each float statistic is sent as the text pages write for that double (2^63 as
 * `9.223372036854776e+18`, -0.0 as `-0.0`), and reads back as the computed value; a Float32
 * column's min and max in the Float32's own text, as its pages show them.
 */
function checkSentNumbers(c: GenColumn, computed: ColumnStats, sent: Record<string, unknown>): void {
  const bits = c.type.dtype === "Float32" ? 32 : 64;
  const floats: [string, unknown, unknown, 32 | 64][] = [];
  const q = (computed.quantiles ?? {}) as Record<string, unknown>;
  const sq = (sent.quantiles ?? {}) as Record<string, unknown>;
  for (const key of ["mean", "std", "median"] as const) floats.push([key, computed[key], sent[key], 64]);
  for (const key of Object.keys(q)) floats.push([`quantiles.${key}`, q[key], sq[key], 64]);
  const edges = computed.histogram?.edges ?? [];
  const sentEdges = ((sent.histogram as { edges?: unknown[] } | null)?.edges ?? []) as unknown[];
  if (c.type.kind === "float") {
    floats.push(["min", computed.min, sent.min, bits], ["max", computed.max, sent.max, bits]);
    edges.forEach((e, k) => floats.push([`edge ${k}`, e, sentEdges[k], k === 0 || k === edges.length - 1 ? bits : 64]));
  } else {
    // integer columns: whole-number edges within ±2^53 as integers, other edges as floats
    edges.forEach((e, k) => {
      if (typeof e === "number" && Number.isSafeInteger(e)) expect((sentEdges[k] as Sent).text, `edge ${k}`).toBe(String(e));
      else floats.push([`edge ${k}`, e, sentEdges[k], 64]);
    });
  }
  const numbers = floats.filter(([, v]) => typeof v === "number");
  for (const width of [32, 64] as const) {
    const mine = numbers.filter(([, , , b]) => b === width);
    const want = polarsTexts(mine.map(([, v]) => v as number), width);
    mine.forEach(([what, value, got], k) => {
      const text = isSent(got) ? got.text : got;
      if (text !== (want[k] ?? null)) expect.fail(`${c.name} ${what}: sent ${String(text)} for ${value}, pages write ${want[k]}`);
      // a Float32's shortest text reads back as that Float32
      const back = isSent(got) ? (width === 32 ? Math.fround(Number(got.text)) : Number(got.text)) : null;
      if (isSent(got) && !Object.is(back, value)) expect.fail(`${c.name} ${what}: ${got.text} reads back as ${back}, not ${value}`);
    });
  }
}

describe("float text", () => {
  it("is Polars' text of the same double, for generated Float64 and Float32 values", () => {
    for (const bits of [64, 32] as const) {
      const values = fc.sample(bits === 64 ? fc.double() : fc.float().map((x) => Math.fround(x)), { numRuns: RUNS ?? 3000, seed: SEED });
      values.push(0, -0, 2 ** 63, -(2 ** 63), 1e16, 1e15, 1e-5, 1e-6, 1e13, 1e12, 1e-7, 5e-324, 1.401298464324817e-45, 3519010.25);
      const want = polarsTexts(values.map((x) => (bits === 32 ? Math.fround(x) : x)), bits);
      values.forEach((x, i) => {
        const v = bits === 32 ? Math.fround(x) : x;
        if (floatText(v, bits) !== want[i]) expect.fail(`Float${bits} ${v}: ours ${floatText(v, bits)}, Polars ${want[i]}`);
      });
    }
  });
});

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
        const sent = sentStats(wide);
        t.columns.forEach((c, k) => {
          const s = wide.columns[k] as ColumnStats;
          if (c.type.kind === "int" || c.type.kind === "float" || c.type.kind === "decimal") checkSentNumbers(c, s, sent.columns[k] as Record<string, unknown>);
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
              if (c.type.kind === "temporal") checkTemporalHistogram(c, s, present.map((x) => BigInt(x)));
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
