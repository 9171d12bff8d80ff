/**
 * "Did you mean …?" for every name a client can get wrong (query parameters, form fields, JSON
 * fields, columns): the closest known name, and the known names trimmed to a readable list.
 * Pure functions (no HTTP, no storage), so the frame layer can use them inside a worker.
 */
import { distance } from "fastest-levenshtein";
import { badRequest, type ApiError } from "./errors.ts";

/** How many names an error lists at most (API.md: "lists the columns (the first 50)"). */
export const LIST_LIMIT = 50;

/** Past this length a name is not compared by edit distance (cost grows with length²). */
const MAX_COMPARED_LENGTH = 200;

const fold = (s: string): string => s.normalize("NFC").toLowerCase();
/** Folded, without separators: `order_by`, `order-by` and `orderBy` compare equal. */
const bare = (s: string): string => fold(s).replace(/[\s_.-]+/g, "");

/**
 * The known name closest to `input`, or null when none is close: the same name up to case first
 * (`Age` → `age`), then up to separators (`on_bad_rows` → `onBadRows`), then the smallest edit
 * distance when it is at most a third of the name's length (`delimeter` → `delimiter`).
 */
export function closest(input: string, candidates: readonly string[]): string | null {
  if (candidates.length === 0) return null;
  const f = fold(input);
  const byCase = candidates.find((c) => fold(c) === f);
  if (byCase !== undefined) return byCase;
  const b = bare(input);
  const bySeparators = b === "" ? undefined : candidates.find((c) => bare(c) === b);
  if (bySeparators !== undefined) return bySeparators;
  if (f.length > MAX_COMPARED_LENGTH) return null;
  const budget = Math.max(1, Math.floor(f.length / 3));
  let best: string | null = null;
  let bestDistance = budget + 1;
  for (const c of candidates) {
    const fc = fold(c);
    if (Math.abs(fc.length - f.length) >= bestDistance || fc.length > MAX_COMPARED_LENGTH) continue;
    const d = isTransposition(f, fc) ? 1 : distance(f, fc);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Whether `a` becomes `b` by swapping two neighbouring characters (`nmae` → `name`): one typo, not two. */
function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** `"a", "b", "c"` — at most `limit` names, then `… (and 12 more)`. */
export function nameList(names: readonly string[], limit = LIST_LIMIT): string {
  const shown = names.slice(0, limit).map((n) => JSON.stringify(n.length > 80 ? `${n.slice(0, 80)}…` : n));
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(", ")} … (and ${more} more)` : shown.join(", ");
}

/** ` Did you mean "x"?` or nothing. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const hit = closest(input, candidates);
  return hit === null ? "" : ` Did you mean ${JSON.stringify(hit)}?`;
}

/**
 * 400 for a column the version does not have: names the closest column and lists the first 50.
 * `lead` starts the sentence (default `Unknown column "x".`); `extra` adds problem fields.
 */
export function unknownColumn(name: string, columns: readonly string[], options: { lead?: string; extra?: Record<string, unknown> } = {}): ApiError {
  const hit = closest(name, columns);
  const lead = options.lead ?? `Unknown column ${JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name)}.`;
  const hint = hit === null ? "" : ` Did you mean ${JSON.stringify(hit)}?`;
  const list = columns.length === 0 ? " The version has no columns." : ` The columns are: ${nameList(columns)}.`;
  return badRequest(`${lead}${hint}${list}`, {
    column: name,
    ...(hit === null ? {} : { didYouMean: hit }),
    columns: columns.slice(0, LIST_LIMIT),
    ...options.extra,
  });
}
