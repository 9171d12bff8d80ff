/**
 * One rule for a full disk wherever we write (uploads, local backend files, the spool, the
 * parser child's data file): ENOSPC/EDQUOT is 507 STORAGE_FULL, never a 500. Kept free of
 * HTTP dependencies so the parser children can use it too.
 */
import { storageFull } from "../errors.ts";

const DISK_FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);
/** Polars reports I/O errors as text: "No space left on device (os error 28)", EDQUOT is 122. */
const DISK_FULL_TEXT = /No space left on device|Disk quota exceeded|os error (?:28|122)\b/i;

/** Whether `err` (from Node's fs, multer, or a Polars sink) means the disk or quota is full. */
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && DISK_FULL_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : "";
  return DISK_FULL_TEXT.test(message);
}

export const diskFull = () =>
  storageFull("The server's disk is full (or its quota is used up), so this request could not be completed; nothing stored was changed. Retry later, or ask the operator to free space.");
