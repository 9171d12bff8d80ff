/**
 * Opaque paging cursors. A cursor carries the dataset, the numbered version and the whole
 * query, so the next page is the same query on the same immutable version whatever lands later.
 */
import { badRequest } from "../errors.ts";

export interface CursorState {
  datasetId: string;
  version: number;
  offset: number;
  limit: number;
  columns?: string;
  sort?: string;
  filters: string[];
  format?: string;
  /** The `q=` search text. */
  q?: string;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
}

export function decodeCursor(raw: string): CursorState {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (isCursor(parsed)) return parsed;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("The cursor is not valid: use the `next` value of a previous page as it was given.");
}

function isCursor(v: unknown): v is CursorState {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  const optionalString = (x: unknown) => x === undefined || typeof x === "string";
  return (
    typeof c.datasetId === "string" &&
    Number.isSafeInteger(c.version) && (c.version as number) > 0 &&
    Number.isSafeInteger(c.offset) && (c.offset as number) >= 0 &&
    Number.isSafeInteger(c.limit) && (c.limit as number) > 0 &&
    optionalString(c.columns) && optionalString(c.sort) && optionalString(c.format) && optionalString(c.q) &&
    Array.isArray(c.filters) && c.filters.every((f) => typeof f === "string")
  );
}
