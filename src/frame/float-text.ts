/**
 * A float's text exactly as pages write it (Polars' Float64/Float32 → String cast, which both page
 * paths and the CSV download use), for values that reach JavaScript as numbers, such as
 * statistics: `JSON.stringify` writes 2^63 as `9223372036854776000` (an integer literal that is
 * not the stored double, as a big-number-aware reader sees it) and -0.0 as `0`, where pages write
 * `9.223372036854776e+18` and `-0.0`.
 *
 * Polars writes the shortest digits that read back as the same float (for Float64 what JavaScript
 * writes too), in plain notation with at least one decimal (`1.0`, `100.0`, `0.00001`) while the
 * decimal exponent k of the leading digit (x = d.ddd·10^k) is within -5…15 for Float64 and -6…12
 * for Float32, else in scientific notation with a signed exponent (`1e+16`, `1.5e-7`, `5e-324`).
 * The generative suite checks this against Polars for generated floats (test/generative/stats.test.ts).
 */

/** Shortest digits (no sign, no point) and decimal exponent of a finite, non-zero |x| as a double. */
function shortest64(x: number): { digits: string; exponent: number } {
  const [mantissa = "", exp = "0"] = Math.abs(x).toExponential().split("e");
  return { digits: mantissa.replace(".", ""), exponent: Number(exp) };
}

/**
 * The same for a value that is a Float32: the fewest digits that `Math.fround` reads back as it,
 * the nearest such (a tie, the value exactly halfway between two, goes to the even digit, where
 * `toExponential` would round up).
 */
function shortest32(x: number): { digits: string; exponent: number } {
  const a = Math.abs(x);
  for (let p = 1; p <= 9; p++) {
    let text = a.toExponential(p - 1);
    // exactly halfway between two p-digit numbers: its exact expansion has p + 1 digits ending in 5
    const [longer = "", exp = "0"] = a.toExponential(p).split("e");
    const next = longer.replace(".", "");
    if (next.endsWith("5") && Number(`${longer}e${exp}`) === a && Number(next[p - 1]) % 2 === 0) {
      const truncated = `${next[0]}${p > 1 ? "." : ""}${next.slice(1, p)}e${exp}`;
      if (Math.fround(Number(truncated)) === a) text = truncated;
    }
    if (Math.fround(Number(text)) === a) {
      const [mantissa = "", e = "0"] = text.split("e");
      return { digits: mantissa.replace(".", "").replace(/0+$/, "") || "0", exponent: Number(e) };
    }
  }
  return shortest64(a);
}

const PLAIN = { 64: { min: -5, max: 15 }, 32: { min: -6, max: 12 } } as const;

/**
 * Polars' text of a finite float; null for NaN and ±Infinity (JSON has no such numbers, and pages
 * write them as null). `bits` 32 for a Float32 column's own values (its min and max).
 */
export function floatText(x: number, bits: 32 | 64 = 64): string | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const { digits, exponent: e } = bits === 32 ? shortest32(x) : shortest64(x);
  const sign = x < 0 ? "-" : "";
  if (e < PLAIN[bits].min || e > PLAIN[bits].max) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${e < 0 ? "-" : "+"}${Math.abs(e)}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  if (digits.length > e + 1) return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  return `${sign}${digits}${"0".repeat(e + 1 - digits.length)}.0`;
}

/** A value `JSON.stringify` writes as the given JSON text (Node's `JSON.rawJSON`). */
export function rawJson(text: string): unknown {
  return (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);
}

/** The float as a JSON number written as pages write it (`floatText`); null when not finite. */
export function floatJson(x: number, bits: 32 | 64 = 64): unknown {
  const text = floatText(x, bits);
  return text === null ? null : rawJson(text);
}
