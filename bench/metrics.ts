/** Flat per-repetition measurements and their medians. */

/** One repetition's figures by name; null when that part could not be measured. */
export type Metrics = Record<string, number | null>;

/** Median of the finite values, or null when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Per-key medians over the repetitions. */
export function medians(reps: readonly Metrics[]): Metrics {
  const keys = new Set(reps.flatMap((r) => Object.keys(r)));
  const out: Metrics = {};
  for (const k of keys) out[k] = median(reps.map((r) => r[k]));
  return out;
}
