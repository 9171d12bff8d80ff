/**
 * Reuse of built Polars expressions. nodejs-polars wraps every Expr in a fresh object of a few
 * hundred closures, which costs about half a millisecond per call (`pl.col`, `.gt`, `.alias`, …),
 * more than a whole 100-row page costs to compute. Expressions are immutable, so the ones a query
 * needs are built once per key and shared.
 */
import pl from "nodejs-polars";
import type { NExpr } from "./native-expr.ts";

const CACHE_SIZE = 4096;
const exprs = new Map<string, pl.Expr>();

/** The cached expression for `key`, built by `build` on first use (LRU, bounded). */
export function cached(key: string, build: () => pl.Expr): pl.Expr {
  let e = exprs.get(key);
  if (e) {
    exprs.delete(key);
  } else {
    e = build();
    if (exprs.size >= CACHE_SIZE) exprs.delete(exprs.keys().next().value as string);
  }
  exprs.set(key, e);
  return e;
}

/** `pl.col(name)` for internal names (aliases such as `c0`; never user text, which could be a pattern). */
export function colExpr(name: string): pl.Expr {
  return cached(`col\u0000${name}`, () => pl.col(name));
}

const natives = new Map<string, NExpr>();

/**
 * The same for native expressions (native-expr.ts): building them is cheap, but a page of a few
 * columns is cheaper still when its expressions are reused (a Map lookup per column).
 */
export function cachedNative(key: string, build: () => NExpr): NExpr {
  let e = natives.get(key);
  if (e) {
    natives.delete(key);
  } else {
    e = build();
    if (natives.size >= CACHE_SIZE) natives.delete(natives.keys().next().value as string);
  }
  natives.set(key, e);
  return e;
}
