import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { describeColumns, dtypeName } from "../src/frame/dtype.ts";

describe("dtype names", () => {
  it("names scalar, temporal, decimal and nested types the way Polars does", () => {
    const df = pl.DataFrame({
      i: pl.Series("i", [1, null]).cast(pl.Int64),
      u8: pl.Series("u8", [1, 2]).cast(pl.UInt8),
      f: pl.Series("f", [1.5, 2]),
      f32: pl.Series("f32", [1.5, 2]).cast(pl.Float32),
      s: pl.Series("s", ["a", "b"]),
      b: pl.Series("b", [true, null]),
      d: pl.Series("d", [new Date(0), new Date(86_400_000)]).cast(pl.Date),
      dt: pl.Series("dt", [new Date(0), new Date(1)]).cast(pl.Datetime("us")),
      dtz: pl.Series("dtz", [new Date(0), new Date(1)]).cast(pl.Datetime("ns", "UTC")),
      dtp: pl.Series("dtp", [new Date(0), new Date(1)]).cast(pl.Datetime("ms", "Europe/Paris")),
      du: pl.Series("du", [1, 2]).cast(pl.Duration("us")),
      dn: pl.Series("dn", [1, 2]).cast(pl.Duration("ns")),
      dec: pl.Series("dec", [1.5, 2.25]).cast(pl.Decimal(10, 2)),
      c: pl.Series("c", ["x", "y"]).cast(pl.Categorical),
      l: pl.Series("l", [[1, 2], [3]]).cast(pl.List(pl.Int64)),
      st: pl.Series("st", [{ a: 1, b: "x" }, { a: 2, b: "y" }]),
    });
    const names = Object.fromEntries(describeColumns(df).map((c) => [c.name, c.dtype]));
    expect(names).toEqual({
      i: "Int64",
      u8: "UInt8",
      f: "Float64",
      f32: "Float32",
      s: "String",
      b: "Boolean",
      d: "Date",
      dt: "Datetime(us)",
      dtz: "Datetime(ns, UTC)",
      dtp: "Datetime(ms, Europe/Paris)",
      du: "Duration(us)",
      dn: "Duration(ns)",
      dec: "Decimal(10, 2)",
      c: "Categorical",
      l: "List(Int64)",
      st: 'Struct({"a": Float64, "b": String})',
    });
  });

  it("marks a column nullable exactly when it holds a null", () => {
    const df = pl.DataFrame({ a: [1, null, 3], b: [1, 2, 3], height: ["x", null, "z"] });
    expect(describeColumns(df)).toEqual([
      { name: "a", dtype: "Float64", nullable: true },
      { name: "b", dtype: "Float64", nullable: false },
      { name: "height", dtype: "String", nullable: true },
    ]);
  });

  it("names DataType objects built directly", () => {
    expect(dtypeName(pl.Datetime("us", "UTC"))).toBe("Datetime(us, UTC)");
    expect(dtypeName(pl.List(pl.List(pl.Utf8)))).toBe("List(List(String))");
    expect(dtypeName(pl.Bool)).toBe("Boolean");
  });
});
