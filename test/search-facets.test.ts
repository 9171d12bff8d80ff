/**
 * Search (`q=`, `icontains`/`istartswith`/`iendswith`/`ieq`) and facets, checked against an
 * independent computation in plain JavaScript over the same generated rows: JavaScript's own
 * Unicode case mappings for folding, Maps for counting.
 */
import fc from "fast-check";
import pl from "nodejs-polars";
import { caseFold } from "unicode-case-folding";
import { describe, expect, it } from "vitest";
import { computeFacets, parseBins } from "../src/frame/facets.ts";
import { readPage } from "../src/frame/page.ts";
import { parseFilters, parseFiltersAndSearch } from "../src/frame/query.ts";
import { foldText } from "../src/frame/search.ts";
import { versionOf } from "./frame-helpers.ts";

// Letters whose case behaviour is interesting: ß/ẞ (to "ss"), final and medial sigma, ligatures,
// long s, Kelvin sign, dotted/dotless i, titlecase digraphs, Greek with ypogegrammeni, accents.
const ALPHABET = ["a", "A", "s", "S", "ß", "ẞ", "σ", "ς", "Σ", "ﬁ", "f", "i", "I", "ı", "İ", "ſ", "K", "k", "ǅ", "ǆ", "Ǆ", "ᾈ", "ἀ", "ι", "é", "É", "e\u0301", " ", "-"];
const text = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 5 }).map((a) => a.join(""));
const cell = fc.option(text, { nil: null, freq: 6 });

/** The rows a page returns for these query parameters, as JS values. */
async function rowsFor(df: pl.DataFrame, filters: string[], q?: string): Promise<Record<string, unknown>[]> {
  const version = versionOf(df, "search");
  const page = await readPage(df.lazy(), version, { offset: 0, limit: 10_000, filters: parseFiltersAndSearch(filters, q, version) }, "objects");
  return JSON.parse(page.rowsJson) as Record<string, unknown>[];
}

describe("case-insensitive search", () => {
  it("matches exactly as Unicode full case folding does, for every code point, except dotless ı", () => {
    // the independent oracle: CaseFolding.txt (C+F) as the unicode-case-folding package ships it
    const differences: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const ref = caseFold(c);
      const ours = foldText(c);
      if (ref === c && ours === c) continue;
      // same equivalence: our key of the reference fold is ours, and the reference fold of our key is the reference's
      if (foldText(ref) !== ours || caseFold(ours) !== ref) differences.push(`U+${cp.toString(16).toUpperCase()}`);
    }
    expect(differences).toEqual(["U+131"]);
  });

  it("Polars' folding of a column equals JavaScript's folding of the same text", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(text, fc.string({ unit: "grapheme", maxLength: 6 })), { minLength: 1, maxLength: 40 }), async (values) => {
        const df = pl.DataFrame({ s: values });
        const { foldExpr } = await import("../src/frame/search.ts");
        const out = await df.lazy().select(foldExpr(pl.col("s")).alias("f")).collect();
        expect(out.getColumn("f").toArray()).toEqual(values.map(foldText));
      }),
      { numRuns: 200 },
    );
  });

  it("icontains / istartswith / iendswith / ieq keep exactly the rows the folding rule says", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell), { maxLength: 30 }), text, fc.constantFrom("icontains", "istartswith", "iendswith", "ieq"), async (rows, needle, op) => {
        const df = pl.DataFrame({ id: rows.map((_, i) => i), s: rows.map((r) => r[0]), t: rows.map((r) => r[1]) }, { schema: { id: pl.Int64, s: pl.Utf8, t: pl.Utf8 } });
        const got = (await rowsFor(df, [`s:${op}:${needle}`])).map((r) => r.id);
        const n = foldText(needle);
        const test = (v: string | null) => {
          if (v === null) return false;
          const f = foldText(v);
          return op === "icontains" ? f.includes(n) : op === "istartswith" ? f.startsWith(n) : op === "iendswith" ? f.endsWith(n) : f === n;
        };
        expect(got).toEqual(rows.flatMap((r, i) => (test(r[0]) ? [i] : [])));
      }),
      { numRuns: 150 },
    );
  });

  it("q= keeps rows where any String column contains the text, and combines with filters", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell, fc.integer({ min: 0, max: 3 })), { maxLength: 30 }), text, async (rows, q) => {
        const df = pl.DataFrame({ id: rows.map((_, i) => i), s: rows.map((r) => r[0]), n: rows.map((r) => r[2]), t: rows.map((r) => r[1]) }, { schema: { id: pl.Int64, s: pl.Utf8, n: pl.Int64, t: pl.Utf8 } });
        const n = foldText(q);
        // an empty q= is no search at all
        const hit = (v: string | null) => q === "" || (v !== null && foldText(v).includes(n));
        const got = (await rowsFor(df, ["n:gte:1"], q)).map((r) => r.id);
        expect(got).toEqual(rows.flatMap((r, i) => ((hit(r[0]) || hit(r[1])) && r[2] >= 1 ? [i] : [])));
      }),
      { numRuns: 150 },
    );
  });

  it("documented examples", async () => {
    const df = pl.DataFrame({ id: [1, 2, 3, 4, 5, 6], s: ["Straße", "STRASSE", "ΣΟΦΟΣ", "ﬁle", "Kelvin", "cafe\u0301"] }, { schema: { id: pl.Int64, s: pl.Utf8 } });
    const ids = async (f: string) => (await rowsFor(df, [f])).map((r) => r.id);
    expect(await ids("s:ieq:strasse")).toEqual([1, 2]);
    expect(await ids("s:iendswith:σοφος")).toEqual([3]);
    expect(await ids("s:istartswith:FI")).toEqual([4]);
    expect(await ids("s:icontains:\u212Aelvin")).toEqual([5]);
    // no normalisation: a precomposed é does not match e + combining accent
    expect(await ids("s:icontains:café")).toEqual([]);
    expect(await ids("s:icontains:cafe\u0301")).toEqual([6]);
  });

  it("i-ops on a non-string column are a 400", () => {
    const df = pl.DataFrame({ n: [1] });
    expect(() => parseFilters(["n:icontains:1"], versionOf(df))).toThrow(/string columns only/);
  });

  it("q= over a version without String columns matches nothing", async () => {
    expect(await rowsFor(pl.DataFrame({ n: [1, 2] }), [], "1")).toEqual([]);
  });
});

type Cell = string | number | null;

/** Facets computed independently: filter, count in a Map, sort by count desc then value asc (nulls last). */
function expectedFacet(values: Cell[], limit: number) {
  const counts = new Map<Cell, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const order = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] === null ? 1 : b[0] === null ? -1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = order.slice(0, limit).map(([value, count]) => ({ value, count }));
  return { values: top, otherCount: values.length - top.reduce((a, t) => a + t.count, 0), distinctCount: counts.size };
}

describe("facets", () => {
  const row = fc.record({ city: fc.option(fc.constantFrom("Paris", "Oslo", "Rome", "Åre", "oslo"), { nil: null, freq: 5 }), n: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null, freq: 5 }), tag: fc.option(text, { nil: null, freq: 5 }) });

  it("top values, otherCount and distinctCount under filters and q= agree with a JS count", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), fc.option(text, { nil: undefined }), fc.integer({ min: -3, max: 3 }), async (rows, limit, q, min) => {
        const df = pl.DataFrame({ city: rows.map((r) => r.city), n: rows.map((r) => r.n), tag: rows.map((r) => r.tag) }, { schema: { city: pl.Utf8, n: pl.Int64, tag: pl.Utf8 } });
        const version = versionOf(df, "facets");
        const body = JSON.parse(await computeFacets(df.lazy(), version, { columns: ["city", "n"], limit, filters: parseFiltersAndSearch([`n:gte:${min}`], q, version) }));
        const needle = q === undefined || q === "" ? null : foldText(q);
        const kept = rows.filter((r) => r.n !== null && r.n >= min && (needle === null || [r.city, r.tag].some((v) => v !== null && foldText(v).includes(needle))));
        expect(body.totalRows).toBe(kept.length);
        expect(body.facets).toEqual([
          { name: "city", ...expectedFacet(kept.map((r) => r.city), limit) },
          { name: "n", ...expectedFacet(kept.map((r) => r.n), limit) },
        ]);
      }),
      { numRuns: 120 },
    );
  });

  it("bins count numeric values in equal-width bins, nulls last", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.integer({ min: -100, max: 100 }), { nil: null, freq: 5 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (xs, k) => {
        const df = pl.DataFrame({ x: xs }, { schema: { x: pl.Int64 } });
        const version = versionOf(df, "bins");
        const body = JSON.parse(await computeFacets(df.lazy(), version, { columns: ["x"], limit: 10, bins: parseBins([`x:${k}`], ["x"], version) }));
        const present = xs.filter((x): x is number => x !== null);
        const nulls = xs.length - present.length;
        const got = body.facets[0].values as { value: { from: number; to: number } | null; count: number }[];
        const values: { value: unknown; count: number }[] = [];
        if (present.length > 0) {
          const lo = Math.min(...present);
          const hi = Math.max(...present);
          const width = (hi - lo) / k;
          const bins = width > 0 ? k : 1;
          // a value on an edge (to within rounding: Polars may divide as a multiplication by the
          // reciprocal) may land on either side of it; every other value has exactly one bin
          const bin = (q: number) => (bins === 1 ? 0 : Math.min(bins - 1, Math.max(0, Math.floor(q))));
          const least = new Array<number>(bins).fill(0);
          const most = new Array<number>(bins).fill(0);
          for (const x of present) {
            const q = (x - lo) / width;
            const [a, b] = [bin(q * (1 - 1e-12) - 1e-12), bin(q * (1 + 1e-12) + 1e-12)];
            if (a === b) least[a]! += 1;
            most[a]! += 1;
            if (b !== a) most[b]! += 1;
          }
          least.forEach((_, b) => {
            const c = got[b]?.count ?? -1;
            if (c < least[b]! || c > most[b]!) expect.fail(`bin ${b}: ${c} values, expected ${least[b]}..${most[b]} (${JSON.stringify(got)})`);
            values.push({ value: { from: bins === 1 ? lo : lo + width * b, to: bins === 1 ? hi : b === bins - 1 ? hi : lo + width * (b + 1) }, count: c });
          });
        }
        if (nulls > 0) values.push({ value: null, count: nulls });
        expect(got).toEqual(values);
        expect(got.reduce((n, v) => n + v.count, 0)).toBe(xs.length);
        expect(body.facets[0].distinctCount).toBe(new Set(xs).size);
      }),
      // the counterexample a full run found (97 = 3 widths of 194/6 above the min, on an edge)
      { numRuns: 100, examples: [[[-94, 100, 3, null], 6]] },
    );
  });

  it("values are JSON-exact (big integers as strings, dates ISO)", async () => {
    const df = pl.DataFrame({ big: ["9007199254740993", "9007199254740993", "1"], d: ["2024-01-02", "2024-01-02", null] }).lazy()
      .select(pl.col("big").cast(pl.Int64), pl.col("d").str.strptime(pl.Date, "%Y-%m-%d"));
    const frame = await df.collect();
    const body = JSON.parse(await computeFacets(frame.lazy(), versionOf(frame), { columns: ["big", "d"], limit: 5 }));
    expect(body.facets[0].values).toEqual([{ value: "9007199254740993", count: 2 }, { value: 1, count: 1 }]);
    expect(body.facets[1].values).toEqual([{ value: "2024-01-02", count: 2 }, { value: null, count: 1 }]);
  });

  it("bad parameters are 400s", async () => {
    const df = pl.DataFrame({ s: ["a"], n: [1] });
    const v = versionOf(df);
    await expect(computeFacets(df.lazy(), v, { columns: ["nope"], limit: 5 })).rejects.toThrow(/Unknown column/);
    await expect(computeFacets(df.lazy(), v, { columns: ["s"], limit: 0 })).rejects.toThrow(/limit/);
    expect(() => parseBins(["s:3"], ["s"], v)).toThrow(/numeric columns/);
    expect(() => parseBins(["n:0"], ["n"], v)).toThrow(/from 1 to/);
    expect(() => parseBins(["n:3"], ["s"], v)).toThrow(/not in columns/);
  });
});
