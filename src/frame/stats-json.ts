/**
 * The statistics body as it is sent: every float statistic written as pages write that value
 * (float-text.ts), so a value shows the same text in /stats as in /data (QA finding Q4: max of 2^63
 * was `9223372036854776000`, an integer literal that is not the stored double, and -0.0 was `0`).
 *
 * Statistics are computed, stored (JSON text, every backend) and passed between processes as plain
 * numbers; only the answer is rendered, with `JSON.rawJSON` values that `res.json` writes as is.
 * Which numbers are floats follows from the column's dtype:
 * - Float32/Float64 columns: min, max (the column's own values, in its own width), mean, std,
 *   median, quantiles and histogram edges;
 * - integer and Decimal columns: mean, std, median and quantiles (Float64 results); integer min/max
 *   are exact already (numbers within ±2^53, else strings) and histogram edges are whole numbers
 *   within ±2^53, otherwise doubles written as floats.
 * Counts (count, nullCount, zeros, nanCount, histogram counts) are integers and stay as they are.
 */
import { floatJson } from "./float-text.ts";

type Json = Record<string, unknown>;

const FLOAT = /^Float(32|64)$/;
const INTEGER_OR_DECIMAL = /^(U?Int(8|16|32|64)|Decimal\b)/;

const asFloat = (x: unknown, bits: 32 | 64 = 64): unknown => (typeof x === "number" ? floatJson(x, bits) : x);
const asEdge = (x: unknown): unknown => (typeof x === "number" && Number.isSafeInteger(x) && !Object.is(x, -0) ? x : asFloat(x));

function renderColumn(column: Json): Json {
  const dtype = typeof column.dtype === "string" ? column.dtype : "";
  const float = FLOAT.exec(dtype);
  if (!float && !INTEGER_OR_DECIMAL.test(dtype)) return column;
  const out: Json = { ...column };
  for (const key of ["mean", "std", "median"]) if (key in out) out[key] = asFloat(out[key]);
  if (out.quantiles && typeof out.quantiles === "object") {
    out.quantiles = Object.fromEntries(Object.entries(out.quantiles as Json).map(([k, v]) => [k, asFloat(v)]));
  }
  const histogram = out.histogram as { edges?: unknown[] } | null | undefined;
  if (float) {
    const bits = float[1] === "32" ? 32 : 64;
    for (const key of ["min", "max"]) if (key in out) out[key] = asFloat(out[key], bits);
    if (histogram?.edges) {
      // the first and last edges are the min and max themselves (Float32 values for a Float32 column)
      const last = histogram.edges.length - 1;
      out.histogram = { ...histogram, edges: histogram.edges.map((e, k) => asFloat(e, k === 0 || k === last ? bits : 64)) };
    }
  } else if (histogram?.edges) {
    out.histogram = { ...histogram, edges: histogram.edges.map(asEdge) };
  }
  return out;
}

/** The stats body (`{…, columns: [ColumnStats]}`) with its float statistics ready for `JSON.stringify`. */
export function renderStats(body: unknown): unknown {
  if (!body || typeof body !== "object" || !Array.isArray((body as Json).columns)) return body;
  const b = body as Json;
  return { ...b, columns: (b.columns as unknown[]).map((c) => (c && typeof c === "object" ? renderColumn(c as Json) : c)) };
}
