/**
 * Column names from a header row: empty names become `column_N` (N = 1-based position) and
 * repeated names get `_2`, `_3`, … so every column is addressable; each change is reported.
 * Names Polars would read as a pattern (`*`, `^…$`) would select other columns or none: they are
 * renamed like empty ones.
 */

function unaddressable(name: string): boolean {
  return name.trim() === "" || name === "*" || (name.startsWith("^") && name.endsWith("$"));
}

export interface NamedColumns {
  names: string[];
  renamed: { from: string; to: string }[];
}

/** Unique, non-empty names for the given header cells, in order. */
export function uniqueNames(raw: readonly string[]): NamedColumns {
  const taken = new Set(raw.filter((n) => !unaddressable(n)));
  const used = new Set<string>();
  const names: string[] = [];
  const renamed: { from: string; to: string }[] = [];
  raw.forEach((name, i) => {
    let chosen = name;
    if (unaddressable(name)) {
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
