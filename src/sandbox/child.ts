/**
 * The child side of a process pool (see pool.ts): answers one job at a time over IPC. Every
 * failure becomes a reply, never an unhandled rejection: ApiErrors keep their status and code,
 * anything else is mapped by the pool's `fallback`.
 */
import { writeSync } from "node:fs";
import { ApiError } from "../errors.ts";
import { diskFull, isDiskFull } from "../http/disk-full.ts";
import { releaseNativeMemory } from "../native-memory.ts";
import type { JobReply } from "./pool.ts";

/** Idle this long after a job, a child collects and trims (a next job usually comes sooner when busy). */
const RELEASE_AFTER_MS = 100;

export type Fallback = (error: unknown) => JobReply;

/** Serves jobs until the parent goes away. */
export function serve(handle: (message: unknown) => Promise<unknown>, fallback: Fallback): void {
  let running = 0;
  let release: NodeJS.Timeout | undefined;
  process.on("message", (message: unknown) => {
    running++;
    clearTimeout(release);
    handle(message).finally(() => {
      // Once idle, the job's frames are collected and their memory given back to the OS, so the
      // pool does not replace a child for memory it no longer uses (native-memory.ts).
      if (--running === 0) release = setTimeout(() => void releaseNativeMemory(), RELEASE_AFTER_MS);
    }).then(
      (value) => process.send?.({ ok: true, value } satisfies JobReply),
      (error: unknown) => {
        const api = error instanceof ApiError ? error : isDiskFull(error) ? diskFull() : null;
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
