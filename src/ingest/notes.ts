/** Small helpers for the plain-language notes ingest records on a version. */

/** "1 row", "3 rows". */
export function plural(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : pluralNoun}`;
}

/** `"a", "b", "c", …` (at most `max` names, JSON-quoted). */
export function quotedList(names: readonly string[], max = 10): string {
  return `${names.slice(0, max).map((n) => JSON.stringify(n)).join(", ")}${names.length > max ? ", …" : ""}`;
}

/** `B2, B3, B7, …` (at most `max` cell references). */
export function cellList(cells: readonly string[], total = cells.length, max = 10): string {
  return `${cells.slice(0, max).join(", ")}${total > max ? ", …" : ""}`;
}
