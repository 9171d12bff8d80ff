/**
 * Column names from a header row: empty (or blank) names become `column_N` (N = 1-based
 * position) and repeated names get `_2`, `_3`, … so every column has a name of its own; each
 * change is reported. Every other name — integer-like, Unicode, very long, `count`, `__row`, and
 * names Polars would read as a pattern (`*`, `^…$`) — is kept exactly as written: nothing
 * downstream keys columns by object keys, by fixed internal names, or by `pl.col(name)`.
 */

/** Why a header name cannot be used as is, or null. */
function unaddressable(name: string): "empty" | null {
  return name.trim() === "" ? "empty" : null;
}

export interface NamedColumns {
  names: string[];
  renamed: { from: string; to: string }[];
}

/** Unique, non-empty names for the given header cells, in order. */
export function uniqueNames(raw: readonly string[]): NamedColumns {
  const taken = new Set(raw.filter((n) => unaddressable(n) === null));
  const used = new Set<string>();
  const names: string[] = [];
  const renamed: { from: string; to: string }[] = [];
  raw.forEach((name, i) => {
    let chosen = name;
    if (unaddressable(name) !== null) {
      chosen = `column_${i + 1}`;
      for (let k = 2; used.has(chosen) || taken.has(chosen); k++) chosen = `column_${i + 1}_${k}`;
    } else if (used.has(name)) {
      let k = 2;
      while (used.has(`${name}_${k}`) || taken.has(`${name}_${k}`)) k++;
      chosen = `${name}_${k}`;
    }
    used.add(chosen);
    names.push(chosen);
    if (chosen !== name) renamed.push({ from: name, to: chosen });
  });
  return { names, renamed };
}

/** `column_1` … `column_n`, for files read without a header row. */
export function positionalNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `column_${i + 1}`);
}

/**
 * Names for reading columns by position before they get their real names: never integer-like
 * (so an object of them keeps its order) and never equal to or a prefix of a real name.
 */
export function placeholderNames(n: number, realNames: readonly string[] = []): string[] {
  let prefix = "__ingest_c";
  while (realNames.some((r) => r.startsWith(prefix))) prefix += "_";
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** The note saying which header names were changed and why, or null. */
export function renamedNote(renamed: readonly { from: string; to: string }[]): string | null {
  if (renamed.length === 0) return null;
  const reasons = new Set(renamed.map((r) => (unaddressable(r.from) === "empty" ? "empty" : "repeated")));
  const what = [reasons.has("empty") && "empty", reasons.has("repeated") && "repeated"].filter(Boolean).join(" or ");
  const shown = renamed.slice(0, 5).map((r) => `${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}`).join(", ");
  return `${renamed.length} ${what} column name${renamed.length === 1 ? " was" : "s were"} renamed (${shown}${renamed.length > 5 ? ", …" : ""}); see renamedColumns.`;
}
