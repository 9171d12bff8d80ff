/**
 * The child side of a process pool (see pool.ts): answers one job at a time over IPC. Every
 * failure becomes a reply, never an unhandled rejection: ApiErrors keep their status and code,
 * anything else is mapped by the pool's `fallback`.
 */
import { writeSync } from "node:fs";
import { ApiError, storageFull } from "../errors.ts";
import type { JobReply } from "./pool.ts";

export type Fallback = (error: unknown) => JobReply;

/** Serves jobs until the parent goes away. */
export function serve(handle: (message: unknown) => Promise<unknown>, fallback: Fallback): void {
  process.on("message", (message: unknown) => {
    handle(message).then(
      (value) => process.send?.({ ok: true, value } satisfies JobReply),
      (error: unknown) => {
        const api = error instanceof ApiError ? error : diskFull(error) ? storageFull("The disk is full; nothing was written. Free space and retry.") : null;
        const reply: JobReply = api ? { ok: false, status: api.status, code: api.code, detail: api.message, extra: api.extra } : fallback(error);
        process.send?.(reply);
      },
    );
  });
  // Parent gone: nothing left to do.
  process.on("disconnect", () => process.exit(0));
  // Loaded: the parent starts jobs' deadlines from here.
  process.send?.({ ready: true });
}

/**
 * Announces a risky step on stderr, synchronously (it must be out before a panic aborts the
 * process), so the parent can say what the child was doing when it died (pool.ts `lastStep`).
 */
export function step(what: string): void {
  try {
    writeSync(2, `\u0001step: ${what}\n`);
  } catch {
    // stderr closed: nothing to tell
  }
}

/** ENOSPC/EDQUOT, from Node or in Polars' text ("No space left on device", "os error 28/122"). */
function diskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code === "ENOSPC" || code === "EDQUOT" || /No space left on device|Disk quota exceeded|os error (28|122)\b/.test(message);
}
