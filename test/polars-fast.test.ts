/**
 * src/polars-fast.ts rewrites nodejs-polars' `_Expr` and `_Series` wrappers as they load (the test
 * workers preload it, as the server's processes do): it applied to this nodejs-polars, the
 * wrappers behave as before, and a source it does not recognise is left alone.
 */
import { inspect } from "node:util";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { polarsWrappersPatched, REWRITES, rewritten } from "../src/polars-fast.ts";

describe("polars-fast", () => {
  it("rewrote both wrappers of the installed nodejs-polars (an upgrade that changes them fails here)", () => {
    expect(polarsWrappersPatched()).toBe(true);
  });

  it("keeps what the symbol-keyed members did: tags, inspection, iteration, indexing", () => {
    const e = pl.col("a").gt(1);
    expect(String(e)).toBe('[(col("a")) > (1.0)]');
    expect(inspect(e)).toBe('[(col("a")) > (1.0)]');
    expect(Object.prototype.toString.call(e)).toBe("[object Object]");
    expect((e as unknown as { [Symbol.toStringTag]: () => string })[Symbol.toStringTag]()).toBe("Expr");
    const s = pl.Series("x", [1, 2, 3], pl.Int32);
    expect(pl.Series.isSeries(s)).toBe(true);
    expect(pl.Series.isSeries(e)).toBe(false);
    expect([...s]).toEqual([1, 2, 3]);
    expect(s[1]).toBe(2);
    expect(inspect(s)).toContain("Series: 'x' [i32]");
    const df = pl.DataFrame({ a: [1, 2], b: ["x", "y"] });
    expect(df.select(pl.col("a").add(1), pl.col("b").str.toUpperCase()).toRecords()).toEqual([{ a: 2, b: "X" }, { a: 3, b: "Y" }]);
    expect(df.filter(pl.col("a").gt(pl.lit(1))).height).toBe(1);
  });

  it("leaves a source it does not recognise unchanged (null: load the original)", () => {
    for (const r of REWRITES) expect(rewritten("module.exports = {};", r)).toBeNull();
  });
});
