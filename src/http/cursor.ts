/**
 * Opaque paging cursors. A cursor carries the dataset, the numbered version and the whole
 * query, so the next page is the same query on the same immutable version whatever lands later.
 */
import { z } from "zod";
import { badRequest } from "../errors.ts";

const CursorState = z.object({
  datasetId: z.string(),
  version: z.number().int().positive(),
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().positive(),
  columns: z.string().optional(),
  sort: z.string().optional(),
  filters: z.array(z.string()),
  format: z.enum(["objects", "arrays"]).optional(),
  /** The `q=` search text. */
  q: z.string().optional(),
});
export type CursorState = z.output<typeof CursorState>;

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
}

export function decodeCursor(raw: string): CursorState {
  try {
    const parsed = CursorState.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("The cursor is not valid: use the `next` value of a previous page as it was given.", { parameter: "cursor" });
}
