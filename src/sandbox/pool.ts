/**
 * A small pool of child processes that run untrusted-file parsing. Parsers have hung, taken
 * minutes and allocated gigabytes on hostile files, and a native allocation failure aborts the
 * whole process; a worker thread did not contain that, a child process does. Each child gets a
 * V8 heap cap, an OS data-segment cap (prlimit, where present), an RSS watchdog and a deadline;
 * one that dies or overruns is replaced and its job fails with 422 PARSE_LIMIT.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { ApiError, busy, excerpt, parseLimit, unparseable } from "../errors.ts";

export interface PoolOptions {
  /** Module run by each child (it must answer jobs, see sandbox/worker.ts). */
  script: string;
  workers: number;
  timeoutMs: number;
  memoryMb: number;
  /** Jobs that may wait for a free child before new ones get 503 BUSY. */
  maxQueue: number;
}

/** What crosses the process boundary: plain JSON. */
export type JobReply = { ok: true; value: unknown } | { ok: false; status: number; code: string; detail: string; extra?: Record<string, unknown> };

interface Slot {
  child: ChildProcess;
  busy: boolean;
  /** The last bytes the child wrote to stderr: tells a parser panic from running out of memory. */
  stderrTail: string;
}

const STDERR_TAIL = 16 * 1024;

interface Waiting {
  message: unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const PRLIMIT = "/usr/bin/prlimit";
const PARSER_NICENESS = 10;
const PAGE = 4096;

export class ProcessPool {
  readonly #options: PoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: Waiting[] = [];
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Runs one job in a child; rejects with the child's ApiError, PARSE_LIMIT or BUSY. */
  run<T>(message: unknown): Promise<T> {
    if (this.#closed) return Promise.reject(new ApiError(503, "BUSY", "The server is shutting down.", {}, { "Retry-After": "5" }));
    return new Promise<T>((resolve, reject) => {
      const job: Waiting = { message, resolve: resolve as (v: unknown) => void, reject };
      const slot = this.#freeSlot();
      if (slot) this.#start(slot, job);
      else if (this.#queue.length < this.#options.maxQueue) this.#queue.push(job);
      else reject(busy(Math.max(1, Math.ceil(this.#options.timeoutMs / 1000 / 4))));
    });
  }

  /** Starts every child now, so the first uploads do not wait for Node and Polars to load. */
  warm(): void {
    while (!this.#closed && this.#slots.length < this.#options.workers) this.#addSlot();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new ApiError(503, "BUSY", "The server is shutting down.", {}, { "Retry-After": "5" }));
    for (const slot of this.#slots.splice(0)) slot.child.kill("SIGKILL");
  }

  #freeSlot(): Slot | undefined {
    // Forget children that died while idle (killed from outside, say); they are replaced below.
    for (let i = this.#slots.length - 1; i >= 0; i--) {
      const s = this.#slots[i];
      if (s && !s.busy && (s.child.exitCode !== null || s.child.signalCode !== null)) this.#slots.splice(i, 1);
    }
    const idle = this.#slots.find((s) => !s.busy);
    if (idle) return idle;
    return this.#slots.length < this.#options.workers ? this.#addSlot() : undefined;
  }

  #addSlot(): Slot {
    const slot: Slot = { child: this.#spawn(), busy: false, stderrTail: "" };
    // Kept, not echoed: Rust panics print kilobytes of backtrace per hostile file.
    slot.child.stderr?.setEncoding("utf8");
    slot.child.stderr?.on("data", (text: string) => {
      slot.stderrTail = (slot.stderrTail + text).slice(-STDERR_TAIL);
    });
    this.#slots.push(slot);
    return slot;
  }

  #spawn(): ChildProcess {
    const { script, memoryMb } = this.#options;
    const nodeArgs = [`--max-old-space-size=${memoryMb}`, script];
    // The OS cap also covers native (Rust) allocations, which the V8 flag does not see. V8 itself
    // needs ~600 MB of data segment to start, so the OS cap never goes below 1 GiB; the RSS
    // watchdog enforces smaller limits.
    const osCapBytes = Math.max(memoryMb, 1024) * 1024 * 1024;
    const [command, args] = existsSync(PRLIMIT)
      ? [PRLIMIT, [`--data=${osCapBytes}`, process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization: "json" });
    child.on("error", () => {});
    // Parsing is batch work: let the API process win the CPU, so pages stay fast during big uploads.
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, PARSER_NICENESS);
    } catch {
      // not permitted here: run at normal priority
    }
    return child;
  }

  #start(slot: Slot, job: Waiting): void {
    slot.busy = true;
    slot.stderrTail = "";
    const { child } = slot;
    let settled = false;
    const finish = (outcome: () => void, replace: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(watchdog);
      child.off("message", onMessage);
      child.off("close", onExit);
      if (replace) {
        child.kill("SIGKILL");
        this.#slots.splice(this.#slots.indexOf(slot), 1);
      } else {
        slot.busy = false;
      }
      outcome();
      this.#next();
    };
    const onMessage = (reply: JobReply) => {
      finish(() => (reply.ok ? job.resolve(reply.value) : job.reject(new ApiError(reply.status, reply.code as ApiError["code"], reply.detail, reply.extra ?? {}))), false);
    };
    const onExit = () => finish(() => job.reject(crashError(slot.stderrTail)), true);
    const deadline = setTimeout(
      () => finish(() => job.reject(parseLimit(`Parsing took longer than the ${this.#options.timeoutMs} ms limit (PARSE_TIMEOUT_MS); nothing was stored.`)), true),
      this.#options.timeoutMs,
    );
    const capBytes = this.#options.memoryMb * 1024 * 1024;
    const watchdog = setInterval(() => {
      if (rssOf(child.pid) > capBytes) {
        finish(() => job.reject(parseLimit(`Parsing needed more than the ${this.#options.memoryMb} MB limit (PARSE_MEMORY_MB); nothing was stored.`)), true);
      }
    }, 50);
    child.on("message", onMessage);
    // "close", not "exit": the stderr tail must be complete when the crash is judged.
    child.once("close", onExit);
    child.send(job.message as object);
  }

  #next(): void {
    if (this.#queue.length === 0 || this.#closed) return;
    const slot = this.#freeSlot();
    const job = slot && this.#queue.shift();
    if (slot && job) this.#start(slot, job);
  }
}

/**
 * The error for a child that died mid-job. A Rust panic (polars on a damaged file) is the file's
 * fault: 422 UNPARSEABLE_FILE quoting the panic's message. Anything else (killed by the memory
 * cap, allocation failure, V8 heap limit) is 422 PARSE_LIMIT.
 */
export function crashError(stderrTail: string): ApiError {
  const outOfMemory = /memory allocation of \d+ bytes failed|out of memory|heap limit|Allocation failed|capacity overflow/i.test(stderrTail);
  const panic = /panicked at [^\n]*\n([^\n]+)/.exec(stderrTail);
  if (panic && !outOfMemory) {
    return unparseable(`The parser failed on this file (it is damaged or uses a feature the parser does not handle): ${excerpt(panic[1]!, 200)}; nothing was stored.`);
  }
  return parseLimit("The parser stopped unexpectedly on this file (it ran out of memory or crashed); nothing was stored.");
}

/**
 * Resident memory of a process in bytes, from /proc (0 where unavailable). With prlimit in
 * front, the pid is prlimit's, which execs node in place, so the pid stays the same.
 */
function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, "utf8");
    return Number(statm.split(" ")[1] ?? 0) * PAGE;
  } catch {
    return 0;
  }
}
