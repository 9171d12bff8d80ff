/**
 * Makes nodejs-polars' JS wrappers cheap to build. Every Polars call in JS returns a new wrapper
 * object: `_Expr` (expressions) and `_Series` build an object literal of ~160 closures with
 * symbol-keyed members (`[Symbol.toStringTag]`, `[inspect]`) near its top. V8 defines every member
 * after a computed key one by one at run time, so each wrapper costs ~0.7 ms (measured here:
 * 2,000 `_Expr` 1.4 s; pola-rs/nodejs-polars#265) and a 1000-column CSV's inference built tens of
 * thousands of them (Q13). With those members moved onto a shared prototype the literal is
 * created from V8's boilerplate: ~10 µs (docs/performance.md "wrappers").
 *
 * How: a module load hook (node:module `registerHooks`, in-process, synchronous) rewrites the two
 * library files as they are loaded, exactly: each rewrite names the text it replaces, and a file
 * whose text does not match (another nodejs-polars version) is loaded unchanged — slower, never
 * different. The members keep their behaviour: they read the wrapped native object from `this`
 * (`_expr`, `_s`; a Series proxy forwards to its target). `polarsWrappersPatched()` tells whether
 * the rewrite applied (a test checks it, so an upgrade that breaks it is noticed).
 *
 * It must run before nodejs-polars is first loaded: entry points import it first.
 */
import { registerHooks } from "node:module";

interface Rewrite {
  /** The end of the library file's path. */
  file: string;
  /** Exact replacements, applied in order; all must match once or the file is left alone. */
  edits: [from: string, to: string][];
}

export const REWRITES: Rewrite[] = [
  {
    file: "/nodejs-polars/bin/lazy/expr/index.js",
    edits: [
      [
        "const _Expr = (_expr) => {",
        "const EXPR_PROTO = {\n    [Symbol.toStringTag]() {\n        return \"Expr\";\n    },\n    [Symbol.for(\"nodejs.util.inspect.custom\")]() {\n        return this._expr.toString();\n    },\n};\nconst _Expr = (_expr) => {",
      ],
      ["    return {\n        _expr,\n        [Symbol.toStringTag]() {\n            return \"Expr\";\n        },\n        [utils_1.INSPECT_SYMBOL]() {\n            return _expr.toString();\n        },\n", "    return Object.setPrototypeOf({\n        _expr,\n"],
      ["        notEquals: wrapExprArg(\"neq\"),\n    };\n};\nexports._Expr = _Expr;", "        notEquals: wrapExprArg(\"neq\"),\n    }, EXPR_PROTO);\n};\nexports._Expr = _Expr;"],
    ],
  },
  {
    file: "/nodejs-polars/bin/series/index.js",
    edits: [
      [
        "function _Series(_s) {",
        "const SERIES_PROTO = {\n    [inspect]() {\n        return this._s.toString();\n    },\n    *[Symbol.iterator]() {\n        let start = 0;\n        const len = this._s.len();\n        while (start < len) {\n            const v = this._s.getIdx(start);\n            start++;\n            yield v;\n        }\n    },\n    [Symbol.toStringTag]() {\n        return \"Series\";\n    },\n};\nfunction _Series(_s) {",
      ],
      [
        "    const series = {\n        _s,\n        [inspect]() {\n            return _s.toString();\n        },\n        *[Symbol.iterator]() {\n            let start = 0;\n            const len = _s.len();\n            while (start < len) {\n                const v = _s.getIdx(start);\n                start++;\n                yield v;\n            }\n        },\n",
        "    const series = Object.setPrototypeOf({\n        _s,\n",
      ],
      ["        [Symbol.toStringTag]() {\n            return \"Series\";\n        },\n        get dtype() {", "        get dtype() {"],
      ["    };\n    return new Proxy(series, {", "    }, SERIES_PROTO);\n    return new Proxy(series, {"],
    ],
  },
];

const MARK = "/* rewritten by src/polars-fast.ts */\n";

/** The rewritten source, or null when some edit does not match exactly once. */
export function rewritten(source: string, rewrite: Rewrite): string | null {
  let out = source;
  for (const [from, to] of rewrite.edits) {
    const at = out.indexOf(from);
    if (at < 0 || out.indexOf(from, at + from.length) >= 0) return null;
    out = out.slice(0, at) + to + out.slice(at + from.length);
  }
  return MARK + out;
}

// once per process, whatever re-imports this module (test runners do)
const state = globalThis as { __polarsFast?: Set<string> };
const applied = state.__polarsFast ?? new Set<string>();

if (!state.__polarsFast) {
  state.__polarsFast = applied;
  registerHooks({
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      const rewrite = REWRITES.find((r) => url.endsWith(r.file));
      if (!rewrite || result.source == null) return result;
      const source = typeof result.source === "string" ? result.source : Buffer.from(result.source as Uint8Array).toString("utf8");
      const out = rewritten(source, rewrite);
      if (out === null) return result;
      applied.add(rewrite.file);
      return { ...result, source: out };
    },
  });
}

/** True when both wrappers were rewritten as this process loaded nodejs-polars. */
export function polarsWrappersPatched(): boolean {
  return REWRITES.every((r) => applied.has(r.file));
}
