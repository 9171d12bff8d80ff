/**
 * Type inference for text columns (CSV), over every value, done with Polars expressions.
 *
 * Every column is first read as String, so no value is lost; then each column gets the narrowest
 * type that *every* non-empty value fits, tried in this order:
 * - Boolean: `true`/`false` in any letter case;
 * - Int64: optional sign and digits, no leading zeros (`0` is fine, `01234` is not), within Int64;
 * - Float64: decimal or scientific notation, no leading zeros (`0.5` yes, `00.5` no); an
 *   integer-looking value must be exact as a double (|v| ≤ 2^53) so no digits are dropped;
 * - Date: `YYYY-MM-DD` (a real calendar date);
 * - Datetime(us): `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}]` with no offset, kept as wall time;
 * - Datetime(us, UTC): the same, every value ending in `Z` or `±HH:MM`/`±HHMM`, converted to UTC;
 * - otherwise String (so a column mixing offset and naive datetimes stays String).
 * Empty values (unquoted empty fields are null, quoted `""` is an empty string) do not vote;
 * in a non-String column an empty string becomes null.
 */
import pl from "nodejs-polars";
import type { ForcedType } from "./options.ts";

export const CANDIDATES = ["Boolean", "Int64", "Float64", "Date", "Datetime", "DatetimeUTC"] as const;
export type Candidate = (typeof CANDIDATES)[number];
export type Inferred = Candidate | "String";

const RE = {
  Boolean: "^(?i:true|false)$",
  Int64: "^[+-]?(0|[1-9][0-9]*)$",
  Float64: "^[+-]?((0|[1-9][0-9]*)(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$",
  Date: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
  Datetime: "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?$",
  DatetimeUTC: "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})$",
} as const;

const EXACT_LIMIT = 2 ** 53;

/** The typed value of a String column as a candidate type (null where it does not parse). */
export function castTo(c: pl.Expr, type: Candidate): pl.Expr {
  switch (type) {
    case "Boolean":
      return pl.when(c.str.contains(RE.Boolean)).then(c.str.toLowerCase().eq(pl.lit("true"))).otherwise(pl.lit(null).cast(pl.Bool));
    case "Int64":
      return c.cast(pl.Int64);
    case "Float64":
      return c.cast(pl.Float64);
    case "Date":
      return c.str.strptime(pl.Date, "%Y-%m-%d");
    case "Datetime":
      return c.str.replace("T", " ", true).str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%.f").cast(pl.Datetime("us"));
    case "DatetimeUTC":
      return c.str
        .replace("T", " ", true)
        .str.replace("Z$", "+00:00")
        .str.strptime(pl.Datetime("ms"), "%Y-%m-%d %H:%M:%S%.f%z")
        .cast(pl.Datetime("us", "UTC"));
  }
}

/** True where a non-null value fits the candidate (never null, so sums count correctly). */
export function fits(c: pl.Expr, type: Candidate): pl.Expr {
  const shaped = c.str.contains(RE[type]);
  let ok = shaped.and(castTo(c, type).isNotNull());
  if (type === "Float64") {
    const integral = c.str.contains(RE.Int64);
    ok = ok.and(integral.not().or(c.cast(pl.Float64).abs().lessThanEquals(EXACT_LIMIT)));
  }
  return ok.fillNull(false);
}

/** True where a forced type accepts the value: only its parse has to succeed (leading zeros are fine). */
export function fitsForced(c: pl.Expr, type: Exclude<ForcedType, "String" | "Datetime"> | "DatetimeUTC" | "Datetime"): pl.Expr {
  switch (type) {
    case "Int64":
    case "Float64":
      return castTo(c, type).isNotNull().fillNull(false);
    default:
      return fits(c, type);
  }
}

/** A non-null, non-empty value: the ones that vote on the type. */
export function present(c: pl.Expr): pl.Expr {
  return c.isNotNull().and(c.neq(pl.lit(""))).fillNull(false);
}

export interface ColumnVotes {
  present: number;
  emptyStrings: number;
  /** Values that do not fit, per candidate. */
  misfits: Record<Candidate, number>;
}

/**
 * First-pass aggregations (one row) whose output names are `v{i}_…`; read them back with
 * `readVotes`. Per candidate they count the present values whose text does not have the
 * candidate's shape (regular expressions only: parsing every value as every candidate took ~90 %
 * of a CSV upload's time). `refineVotes` then parses, exactly, only where it decides the type.
 */
export function voteExprs(names: readonly string[]): pl.Expr[] {
  const exprs: pl.Expr[] = [];
  names.forEach((name, i) => {
    const c = pl.col(name);
    const p = present(c);
    exprs.push(p.sum().alias(`v${i}_p`));
    exprs.push(c.eq(pl.lit("")).fillNull(false).sum().alias(`v${i}_e`));
    CANDIDATES.forEach((type, k) => exprs.push(p.and(c.str.contains(RE[type]).fillNull(false).not()).sum().alias(`v${i}_${k}`)));
  });
  return exprs;
}

/**
 * Second pass: makes the misfit count exact (shape and parse, see `fits`) for every candidate
 * `decide` would pick, until the candidate it picks is exact, i.e. the narrowest type every
 * present value really fits. Usually one query over one candidate per column; columns in `skip`
 * (forced types) are left alone. Counts of other candidates stay shape-only (they are lower
 * bounds, used only to choose which narrower type to show counterexamples for).
 */
export async function refineVotes(lf: pl.LazyDataFrame, names: readonly string[], votes: ColumnVotes[], skip: ReadonlySet<number> = new Set()): Promise<void> {
  const exact = votes.map(() => new Set<Candidate>());
  for (;;) {
    const pending: [number, Candidate][] = [];
    votes.forEach((v, i) => {
      if (skip.has(i) || v.present === 0) return;
      const pick = CANDIDATES.find((type) => v.misfits[type] === 0);
      if (pick && !exact[i]!.has(pick)) pending.push([i, pick]);
    });
    if (pending.length === 0) return;
    const exprs = pending.map(([i, type]) => {
      const c = pl.col(names[i]!);
      return present(c).and(fits(c, type).not()).sum().alias(`x${i}`);
    });
    const row = (await lf.select(exprs).collect()).toRecords()[0] as Record<string, unknown>;
    for (const [i, type] of pending) {
      votes[i]!.misfits[type] = Number(row[`x${i}`] ?? 0);
      exact[i]!.add(type);
    }
  }
}

export function readVotes(row: Record<string, unknown>, count: number): ColumnVotes[] {
  const num = (key: string) => Number(row[key] ?? 0);
  return Array.from({ length: count }, (_, i) => ({
    present: num(`v${i}_p`),
    emptyStrings: num(`v${i}_e`),
    misfits: Object.fromEntries(CANDIDATES.map((type, k) => [type, num(`v${i}_${k}`)])) as Record<Candidate, number>,
  }));
}

/** The narrowest candidate every present value fits; String for all-null columns. */
export function decide(votes: ColumnVotes): Inferred {
  if (votes.present === 0) return "String";
  return CANDIDATES.find((type) => votes.misfits[type] === 0) ?? "String";
}

/** Types narrower than `chosen` that some values fit: where counterexamples are worth showing. */
export function narrowerCandidate(votes: ColumnVotes, chosen: Inferred): Candidate | null {
  const narrower: Record<Inferred, Candidate[]> = {
    Boolean: [],
    Int64: [],
    Float64: ["Int64"],
    Date: [],
    Datetime: ["Date"],
    DatetimeUTC: ["Datetime"],
    String: [...CANDIDATES],
  };
  let best: Candidate | null = null;
  let bestFits = 0;
  for (const type of narrower[chosen]) {
    const fitting = votes.present - votes.misfits[type];
    if (fitting > bestFits) {
      best = type;
      bestFits = fitting;
    }
  }
  return best;
}

/** The API dtype name of an inferred type. */
export function dtypeOf(t: Inferred): string {
  return t === "Datetime" ? "Datetime(us)" : t === "DatetimeUTC" ? "Datetime(us, UTC)" : t;
}

/** The column converted to its type (String columns unchanged). */
export function convert(name: string, t: Inferred): pl.Expr {
  const c = pl.col(name);
  return (t === "String" ? c : castTo(c, t)).alias(name);
}
