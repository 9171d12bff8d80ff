/**
 * Reuse of built Polars expressions. nodejs-polars wraps every Expr in a fresh object of a few
 * hundred closures, which costs about half a millisecond per call (`pl.col`, `.gt`, `.alias`, …),
 * more than a whole 100-row page costs to compute. Expressions are immutable, so the ones a query
 * needs are built once per key and shared.
 */
import pl from "nodejs-polars";

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
