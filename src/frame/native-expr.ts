/**
 * Polars expressions built on nodejs-polars' native (napi) objects, without its JS wrappers.
 *
 * `pl.col`, `.cast`, `pl.when` … each wrap their result in a fresh `_Expr` object of a few hundred
 * closures (~0.5 ms and garbage per call). The exact renderer (json.ts) needs a dozen expressions
 * per leaf of every column, so a page of 150 struct columns made ~12,000 wrappers and held the
 * event loop for seconds (QA finding Q16). A native call costs microseconds: expressions are built
 * here as `NExpr` (a thin class over the native object) and wrapped once, at the end, by `expr()`.
 * Only what the renderer uses is here; each method is the native call its `pl.Expr` twin makes.
 */
import type pl from "nodejs-polars";
import { _LazyDataFrame } from "nodejs-polars/bin/lazy/dataframe.js";
import { _Expr } from "nodejs-polars/bin/lazy/expr/index.js";
import nativeBinding from "nodejs-polars/bin/native-polars.js";

/** A native expression: methods take native expressions and return new ones. */
type JsExpr = Record<string, (...args: unknown[]) => JsExpr>;

interface Native {
  col(name: string): JsExpr;
  lit(value: unknown): JsExpr;
  element(): JsExpr;
  when(condition: JsExpr): { then(value: JsExpr): { otherwise(value: JsExpr): JsExpr } };
  concatStr(items: JsExpr[], separator: string, ignoreNulls: boolean): JsExpr;
  asStruct(items: JsExpr[]): JsExpr;
}

const native = nativeBinding as unknown as Native;

export class NExpr {
  readonly raw: JsExpr;
  constructor(raw: JsExpr) {
    this.raw = raw;
  }
  /** The native expression behind a `pl.Expr`. */
  static of(e: pl.Expr): NExpr {
    return new NExpr((e as unknown as { _expr: JsExpr })._expr);
  }
  /** This expression as a `pl.Expr` (one wrapper). */
  expr(): pl.Expr {
    return _Expr(this.raw) as pl.Expr;
  }
  #call(method: string, ...args: unknown[]): NExpr {
    return new NExpr((this.raw[method] as (...a: unknown[]) => JsExpr)(...args));
  }
  cast(dtype: pl.DataType, strict = false): NExpr {
    return this.#call("cast", dtype, strict);
  }
  alias(name: string): NExpr {
    return this.#call("alias", name);
  }
  eq(other: NExpr): NExpr {
    return this.#call("eq", other.raw);
  }
  gt(other: NExpr): NExpr {
    return this.#call("gt", other.raw);
  }
  lt(other: NExpr): NExpr {
    return this.#call("lt", other.raw);
  }
  or(other: NExpr): NExpr {
    return this.#call("or", other.raw);
  }
  add(other: NExpr): NExpr {
    return this.#call("add", other.raw);
  }
  sub(other: NExpr): NExpr {
    return this.#call("sub", other.raw);
  }
  mul(other: NExpr): NExpr {
    return this.#call("mul", other.raw);
  }
  div(other: NExpr): NExpr {
    return this.#call("div", other.raw);
  }
  rem(other: NExpr): NExpr {
    return this.#call("rem", other.raw);
  }
  isNull(): NExpr {
    return this.#call("isNull");
  }
  isFinite(): NExpr {
    return this.#call("isFinite");
  }
  fillNull(value: NExpr): NExpr {
    return this.#call("fillNull", value.raw);
  }
  shift(periods: number): NExpr {
    return this.#call("shift", native.lit(periods));
  }
  cumCount(): NExpr {
    return this.#call("cumCount", false);
  }
  filter(predicate: NExpr): NExpr {
    return this.#call("filter", predicate.raw);
  }
  strftime(format: string): NExpr {
    return this.#call("strftime", format);
  }
  /** First match of the regex `pattern` replaced by `value`. */
  strReplace(pattern: string, value: string): NExpr {
    return this.#call("strReplace", native.lit(pattern), native.lit(value), false, 1);
  }
  /** All values of the column joined by `delimiter` (an aggregation). */
  strConcat(delimiter: string): NExpr {
    return this.#call("strConcat", delimiter, true);
  }
  stripCharsStart(chars: string): NExpr {
    return this.#call("strStripChars", native.lit(chars), true, false);
  }
  stripCharsEnd(chars: string): NExpr {
    return this.#call("strStripChars", native.lit(chars), false, true);
  }
  zFill(length: number): NExpr {
    return this.#call("zfill", native.lit(length));
  }
  strExtract(pattern: string, group: number): NExpr {
    return this.#call("strExtract", native.lit(pattern), group);
  }
  startsWith(prefix: string): NExpr {
    return this.#call("strStartsWith", native.lit(prefix));
  }
  strSlice(start: NExpr, length: NExpr): NExpr {
    return this.#call("strSlice", start.raw, length.raw);
  }
  field(name: string): NExpr {
    return this.#call("structFieldByName", name);
  }
  jsonEncode(): NExpr {
    return this.#call("structJsonEncode");
  }
  listEval(e: NExpr): NExpr {
    return this.#call("listEval", e.raw);
  }
  listJoin(separator: string): NExpr {
    return this.#call("listJoin", native.lit(separator), false);
  }
}

export function col(name: string): NExpr {
  return new NExpr(native.col(name));
}

export function lit(value: string | number | boolean | null): NExpr {
  return new NExpr(native.lit(value));
}

export function element(): NExpr {
  return new NExpr(native.element());
}

/** `pl.when(condition).then(then).otherwise(otherwise)`. */
export function when(condition: NExpr, then: NExpr, otherwise: NExpr): NExpr {
  return new NExpr(native.when(condition.raw).then(then.raw).otherwise(otherwise.raw));
}

/** `pl.concatString(items, separator, ignoreNulls)`. */
export function concat(items: NExpr[], separator = "", ignoreNulls = true): NExpr {
  return new NExpr(native.concatStr(items.map((e) => e.raw), separator, ignoreNulls));
}

/** `pl.struct(items)`. */
export function struct(items: NExpr[]): NExpr {
  return new NExpr(native.asStruct(items.map((e) => e.raw)));
}

/** `lf.select(exprs)` without a wrapper per expression (a wide projection would make one per column). */
export function selectNative(lf: pl.LazyDataFrame, exprs: NExpr[]): pl.LazyDataFrame {
  const native = (lf as unknown as { _ldf: { select(e: JsExpr[]): unknown } })._ldf;
  return _LazyDataFrame(native.select(exprs.map((e) => e.raw)) as never) as pl.LazyDataFrame;
}
