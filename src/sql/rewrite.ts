/**
 * Replaces each dataset reference in the canonical text by the internal name its version is
 * registered under, keeping the user's name as the table's alias (so `sales.city` and
 * `"sales@3".city` still resolve). Spans come from the parser and count lines and characters
 * (code points), 1-based.
 */
import { badRequest } from "../errors.ts";
import type { Location, TableRef } from "./check.ts";

/** String offsets (UTF-16) of parser locations in `text`. */
function offsets(text: string, locations: Location[]): Map<string, number> {
  const wanted = new Set(locations.map((l) => `${l.line}:${l.column}`));
  const found = new Map<string, number>();
  let line = 1;
  let column = 1;
  let i = 0;
  for (const ch of text) {
    const key = `${line}:${column}`;
    if (wanted.has(key)) found.set(key, i);
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column++;
    }
    i += ch.length;
  }
  found.set(`${line}:${column}`, i);
  return found;
}

/** `text` with every reference replaced by `internalOf(ref)` (plus `AS <name>` when it had no alias). */
export function rewriteTables(text: string, refs: TableRef[], internalOf: (ref: TableRef) => string): string {
  const at = offsets(text, refs.flatMap((r) => [r.span.start, r.span.end]));
  const edits = refs.map((ref) => {
    const start = at.get(`${ref.span.start.line}:${ref.span.start.column}`);
    const end = at.get(`${ref.span.end.line}:${ref.span.end.column}`);
    if (start === undefined || end === undefined) throw badRequest("This query could not be checked; rewrite it more plainly.", { parameter: "query" });
    const written = text.slice(start, end);
    return { start, end, replacement: ref.aliased ? internalOf(ref) : `${internalOf(ref)} AS ${written}` };
  });
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of edits) out = out.slice(0, e.start) + e.replacement + out.slice(e.end);
  return out;
}
