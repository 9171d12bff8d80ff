/**
 * The answers of the two pools when a job overruns or its child dies: 422 PARSE_LIMIT /
 * UNPARSEABLE_FILE for uploads, 422 QUERY_LIMIT for query jobs. Kept apart from pool.ts so the
 * pool stays generic.
 */
import { ApiError, excerpt, parseLimit, queryLimit, unparseable } from "../errors.ts";
import { lastStep, outOfMemory, panicMessage, type LimitErrors } from "./pool.ts";

function busyError(what: string, retryAfterSeconds: number): ApiError {
  return new ApiError(503, "BUSY", `Every ${what} is busy; retry in ${retryAfterSeconds} s.`, {}, { "Retry-After": String(retryAfterSeconds) });
}

/**
 * The error for a parser child that died mid-job. A Rust panic is the file's fault: 422
 * UNPARSEABLE_FILE quoting the panic's message (and saying which output format failed, when it
 * died proving the values render). Anything else (killed by the memory cap, allocation failure,
 * V8 heap limit) is 422 PARSE_LIMIT.
 */
export function crashError(stderrTail: string): ApiError {
  const panic = panicMessage(stderrTail);
  if (panic && !outOfMemory(stderrTail)) {
    const step = lastStep(stderrTail);
    if (step?.startsWith("render ")) {
      return unparseable(`The file holds values the service cannot ${step} (the formatter failed: ${excerpt(panic, 200)}); nothing was stored.`);
    }
    return unparseable(`The parser failed on this file (it is damaged or uses a feature the parser does not handle): ${excerpt(panic, 200)}; nothing was stored.`);
  }
  return parseLimit("The parser stopped unexpectedly on this file (it ran out of memory or crashed); nothing was stored.");
}

export const PARSE_ERRORS: LimitErrors = {
  timeout: (ms) => parseLimit(`Parsing took longer than the ${ms} ms limit (PARSE_TIMEOUT_MS); nothing was stored.`),
  memory: (mb) => parseLimit(`Parsing needed more than the ${mb} MB limit (PARSE_MEMORY_MB); nothing was stored.`),
  crash: crashError,
  busy: (seconds) => busyError("parser", seconds),
};

/**
 * A query worker that died: out of memory is QUERY_LIMIT; a panic is reported as what it was.
 * A panic while proving a stored file renders is that file's fault (422 UNPARSEABLE_FILE).
 */
export function queryCrashError(stderrTail: string, message?: unknown): ApiError {
  const panic = panicMessage(stderrTail);
  if (panic && !outOfMemory(stderrTail)) {
    const step = lastStep(stderrTail);
    if ((message as { kind?: string } | undefined)?.kind === "proveStored") {
      return unparseable(`its values cannot be rendered${step ? ` (${step})` : ""}: ${excerpt(panic, 200)}`);
    }
    return withReason(queryLimit(`The query stopped: its worker failed${step ? ` while it tried to ${step}` : ""} (${excerpt(panic, 200)}). Nothing else was affected.`), "panic");
  }
  return withReason(queryLimit("The query stopped: its worker ran out of memory or was stopped (QUERY_MEMORY_MB). Nothing else was affected."), "crash");
}

/** QUERY_LIMIT answers say which limit (`reason`: timeout, memory, crash, panic) for clients and callers. */
function withReason(error: ApiError, reason: "timeout" | "memory" | "crash" | "panic"): ApiError {
  return new ApiError(error.status, error.code, error.message, { ...error.extra, reason }, error.headers);
}

export const QUERY_ERRORS: LimitErrors = {
  timeout: (ms) => withReason(queryLimit(`The query took longer than the ${ms} ms limit (QUERY_TIMEOUT_MS). Nothing else was slowed by it; narrow it with filters or columns.`), "timeout"),
  memory: (mb) => withReason(queryLimit(`The query needed more than the ${mb} MB limit (QUERY_MEMORY_MB). Nothing else was slowed by it; narrow it with filters or columns.`), "memory"),
  crash: queryCrashError,
  busy: (seconds) => busyError("query worker", seconds),
};
