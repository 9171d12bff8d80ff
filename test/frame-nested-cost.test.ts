/**
 * QA finding Q16: a page of many struct columns made nodejs-polars' JS expression wrappers
 * (`_Expr`, a few hundred closures each) for every leaf of every column, on the API process's
 * event loop: a 1-row Parquet with 150 struct columns held /api/health for 14 s, and every new
 * struct schema paid again. The exact renderer now builds native expressions. Tests never assert
 * timings, so this one counts the wrappers a page makes: a handful, whatever the column count.
 */
import { createRequire } from "node:module";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDownload } from "../src/frame/download.ts";
import { exactRowsJson, readPage } from "../src/frame/page.ts";
import { col, lit, selectNative, struct } from "../src/frame/native-expr.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { versionOf } from "./frame-helpers.ts";

// nodejs-polars calls its wrapper factory through the module's exports object, so replacing it
// there counts every wrapper the library makes.
const exprModule = createRequire(import.meta.url)("nodejs-polars/bin/lazy/expr/index.js") as { _Expr: (raw: unknown) => unknown };
const original = exprModule._Expr;
let wrappers = 0;
beforeAll(() => {
  exprModule._Expr = (raw: unknown) => {
    wrappers++;
    return original(raw);
  };
});
afterAll(() => {
  exprModule._Expr = original;
});

let schemaSeed = 0;
/**
 * One row of `n` struct columns, each with field names no earlier frame used (a new struct schema,
 * as a writer repeating the attack would send): Int64, UInt64, Float64, Date, Decimal and a list of
 * Int64, so every leaf takes the exact per-cell renderer (no writer fast path).
 */
function wideStructs(n: number): pl.DataFrame {
  const seed = schemaSeed++;
  const base = pl.DataFrame({ b: ["1152921504606846976"], v: [0.5], d: [new Date(Date.UTC(2024, 0, 1))], m: ["0.25"], l: [["9007199254740993"]] });
  // built with native expressions too, so that making the test's frames stays cheap
  const columns = Array.from({ length: n }, (_, i) => {
    const f = (name: string) => `${name}${seed}_${i}`;
    return struct([
      lit(i).cast(pl.Int64).alias(f("min")),
      col("b").cast(pl.UInt64).add(lit(i).cast(pl.UInt64)).alias(f("cnt")),
      col("v").alias(f("v")),
      col("d").cast(pl.Date).alias(f("d")),
      col("m").cast(pl.Decimal(10, 2)).alias(f("m")),
      col("l").cast(pl.List(pl.Int64)).alias(f("l")),
    ]).alias(`c${i}`);
  });
  return selectNative(lazyOf(base), columns).collectSync();
}

/** Wrappers made while `work` runs. */
async function wrappersDuring(work: () => Promise<unknown>): Promise<number> {
  const before = wrappers;
  await work();
  return wrappers - before;
}

describe("rendering wide nested frames builds no expression wrapper per column (Q16)", () => {
  it("counts wrappers at all (the counter sees nodejs-polars' own calls)", async () => {
    expect(await wrappersDuring(async () => pl.col("x").alias("y").cast(pl.Utf8))).toBeGreaterThanOrEqual(3);
  });

  it("a page of 8 or 40 new struct columns makes the same handful of wrappers, eager and lazy, objects and arrays", async () => {
    for (const shape of ["objects", "arrays"] as const) {
      for (const n of [8, 40]) {
        // each width twice: the second, with a new struct schema, must cost what the first did at most
        for (const round of [0, 1]) {
          const df = wideStructs(n);
          const eager = await wrappersDuring(() => readPage(lazyOf(df), versionOf(df, "nested-cost"), { offset: 0, limit: 100 }, shape, df));
          const cold = wideStructs(n);
          const coldVersion = versionOf(cold, "nested-cost");
          const lazy = await wrappersDuring(() => readPage(lazyOf(cold), coldVersion, { offset: 0, limit: 100 }, shape));
          expect([n, round, eager]).toEqual([n, round, expect.toSatisfy((c: number) => c < 20)]);
          expect([n, round, lazy]).toEqual([n, round, expect.toSatisfy((c: number) => c < 20)]);
        }
      }
    }
  }, 120_000);

  it("the rendered values stay exact (2^60 + i as a string, dates, decimals, big integers in lists)", async () => {
    const df = wideStructs(2);
    const page = await readPage(lazyOf(df), versionOf(df, "nested-cost"), { offset: 0, limit: 1 }, "objects", df);
    const seed = schemaSeed - 1;
    expect(page.rowsJson).toBe(
      `[{"c0":{"min${seed}_0":0,"cnt${seed}_0":"1152921504606846976","v${seed}_0":0.5,"d${seed}_0":"2024-01-01","m${seed}_0":"0.25","l${seed}_0":["9007199254740993"]},` +
        `"c1":{"min${seed}_1":1,"cnt${seed}_1":"1152921504606846977","v${seed}_1":0.5,"d${seed}_1":"2024-01-01","m${seed}_1":"0.25","l${seed}_1":["9007199254740993"]}}]`,
    );
    expect(await exactRowsJson(lazyOf(df), versionOf(df, "nested-cost"), { offset: 0, limit: 1 }, "objects")).toBe(page.rowsJson);
  });

  it("a CSV download of 64 new struct columns makes no wrapper per column either", async () => {
    const csvWrappers = async (n: number) => {
      const df = wideStructs(n);
      const version = versionOf(df, "nested-cost");
      const lf = lazyOf(df);
      let file: Awaited<ReturnType<typeof writeDownload>> | undefined;
      const count = await wrappersDuring(async () => (file = await writeDownload(lf, version, { format: "csv" })));
      await file?.cleanup();
      return count;
    };
    const small = await csvWrappers(8);
    const wide = await csvWrappers(64);
    expect(wide).toBeLessThanOrEqual(small);
  });
});
