/**
 * A pool of child processes for work on user data that may abort, stall or balloon: the parser
 * pool (uploads) and the query-worker pool (statistics, filters, sorts, exports, …) are two
 * instances of this class. A worker thread did not contain a native abort (a Rust panic, an
 * allocation failure); a child process does. Each child gets a V8 heap cap, an OS data-segment cap
 * (prlimit, where present), an RSS watchdog and a per-job deadline; one that dies or overruns is
 * killed and replaced, and its job fails with the pool's limit error (422 PARSE_LIMIT / QUERY_LIMIT).
 *
 * Fairness: waiting jobs are queued per client (auth token or address, given by the route) and
 * served round robin, small jobs before big ones. One extra child, the fast lane, runs only small
 * jobs, so a small job never waits behind other clients' big ones even when every general child is
 * busy. Idle children beyond `keepWarm` are reaped after `idleMs` and spawned again on demand.
 */
import { spawn, type ChildProcess, type Serializable } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { ApiError } from "../errors.ts";

const POLARS_FAST = fileURLToPath(new URL("../polars-fast.ts", import.meta.url));

/** The errors a pool answers with; they name the pool's own settings (PARSE_* or QUERY_*). */
export interface LimitErrors {
  timeout(timeoutMs: number): ApiError;
  memory(memoryMb: number): ApiError;
  /** A child died mid-job; `stderrTail` is the end of what it wrote (panic messages, markers). */
  crash(stderrTail: string, message: Serializable): ApiError;
  /** Too many jobs waiting. */
  busy(retryAfterSeconds: number): ApiError;
}

export interface PoolOptions {
  /** Module run by each child; it must answer jobs (see sandbox/child.ts). */
  script: string;
  /** General children: run any job. */
  workers: number;
  /** One more child that runs only small jobs (default true). */
  fastLane?: boolean;
  timeoutMs: number;
  memoryMb: number;
  /** Jobs that may wait for a free child before new ones are refused with `errors.busy`. */
  maxQueue: number;
  /** Waiting jobs one client may have (default half of maxQueue, at least 4), so one client cannot fill the queue. */
  maxQueuePerClient?: number;
  errors: LimitErrors;
  /** "advanced" lets typed arrays cross the boundary (structured clone); default "json". */
  serialization?: "json" | "advanced";
  /** Children idle this long are stopped, down to `keepWarm` (default 60 s; 0 = never). */
  idleMs?: number;
  /** General children kept running when idle (default 1). */
  keepWarm?: number;
  /**
   * A child whose resident memory after a job exceeds its size when it started by more than this
   * is replaced (default 256 MiB). Polars keeps freed native memory in its processes; recycling
   * is what gives it back to the machine.
   */
  recycleGrowthBytes?: number;
  /** A child that has not finished loading after this long is stopped (default 60 s). */
  loadTimeoutMs?: number;
}

export interface JobOptions {
  /** Who asked (a token or an address); queues are per client. Default "anonymous". */
  client?: string;
  /** Small jobs (small files, cheap queries) may run in the fast lane and go first. */
  small?: boolean;
}

/** What crosses the process boundary. */
export type JobReply = { ok: true; value: unknown } | { ok: false; status: number; code: string; detail: string; extra?: Record<string, unknown> };

type Lane = "general" | "fast";

interface Slot {
  child: ChildProcess;
  lane: Lane;
  busy: boolean;
  /** Resolves true once the child has loaded and said so, false if it died first. */
  ready: Promise<boolean>;
  /** Resident bytes once loaded: the baseline for recycling. */
  baseRss: number;
  idleSince: number;
  /** The last bytes the child wrote to stderr: tells a panic from running out of memory. */
  stderrTail: string;
}

interface Waiting {
  message: Serializable;
  client: string;
  small: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const STDERR_TAIL = 16 * 1024;
const PRLIMIT = "/usr/bin/prlimit";
/** Batch work yields the CPU to the API process; the fast lane a little less, so small jobs finish promptly. */
const NICENESS: Record<Lane, number> = { general: 10, fast: 5 };
const PAGE = 4096;
const WATCHDOG_MS = 50;
/** Memory an idle child kept warm may hold beyond its start-up size before it is replaced by a fresh one. */
const IDLE_SLACK_BYTES = 64 * 1024 * 1024;

export class ProcessPool {
  readonly #options: Required<PoolOptions>;
  readonly #slots: Slot[] = [];
  /** Waiting jobs per client, in arrival order; `#order` is the round-robin order of clients. */
  readonly #queues = new Map<string, Waiting[]>();
  #order: string[] = [];
  #waiting = 0;
  #closed = false;
  #reaper: NodeJS.Timeout | undefined;

  constructor(options: PoolOptions) {
    const maxQueue = options.maxQueue;
    this.#options = {
      fastLane: true,
      serialization: "json",
      idleMs: 60_000,
      keepWarm: 1,
      recycleGrowthBytes: 256 * 1024 * 1024,
      loadTimeoutMs: 60_000,
      maxQueuePerClient: Math.max(4, Math.ceil(maxQueue / 2)),
      ...options,
    };
    if (this.#options.idleMs > 0) {
      this.#reaper = setInterval(() => this.#reap(), Math.max(100, Math.floor(this.#options.idleMs / 2)));
      this.#reaper.unref();
    }
  }

  /** Runs one job in a child; rejects with the child's ApiError or one of the pool's limit errors. */
  run<T>(message: Serializable, options: JobOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(shuttingDown());
    return new Promise<T>((resolve, reject) => {
      const job: Waiting = { message, client: options.client ?? "anonymous", small: options.small ?? false, resolve: resolve as (v: unknown) => void, reject };
      const slot = this.#freeSlot(job.small);
      if (slot) {
        this.#start(slot, job);
        return;
      }
      const own = this.#queues.get(job.client);
      if (this.#waiting >= this.#options.maxQueue || (own?.length ?? 0) >= this.#options.maxQueuePerClient) {
        reject(this.#options.errors.busy(Math.max(1, Math.ceil(this.#options.timeoutMs / 1000 / 4))));
        return;
      }
      if (own) own.push(job);
      else {
        this.#queues.set(job.client, [job]);
        this.#order.push(job.client);
      }
      this.#waiting++;
    });
  }

  /** Starts the children kept warm now, so the first jobs do not wait for Node and Polars to load. */
  warm(): void {
    while (!this.#closed && this.#count("general") < Math.min(this.#options.keepWarm, this.#options.workers)) this.#addSlot("general");
  }

  /** Process ids of the running children (for tests and operators). */
  pids(): number[] {
    return this.#slots.flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]));
  }

  /** Children running a job now, and jobs waiting. */
  load(): { running: number; waiting: number; children: number } {
    return { running: this.#slots.filter((s) => s.busy).length, waiting: this.#waiting, children: this.#slots.length };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reaper);
    for (const queue of this.#queues.values()) for (const job of queue) job.reject(shuttingDown());
    this.#queues.clear();
    this.#order = [];
    this.#waiting = 0;
    for (const slot of this.#slots.splice(0)) slot.child.kill("SIGKILL");
  }

  #count(lane: Lane): number {
    return this.#slots.filter((s) => s.lane === lane).length;
  }

  #alive(slot: Slot): boolean {
    return slot.child.exitCode === null && slot.child.signalCode === null;
  }

  /** An idle child that may run a job of this size, spawning one if the lane has room. */
  #freeSlot(small: boolean): Slot | undefined {
    for (let i = this.#slots.length - 1; i >= 0; i--) {
      const s = this.#slots[i]!;
      if (!s.busy && !this.#alive(s)) this.#slots.splice(i, 1);
    }
    const idle = this.#slots.find((s) => !s.busy && s.lane === "general") ?? (small ? this.#slots.find((s) => !s.busy && s.lane === "fast") : undefined);
    if (idle) return idle;
    if (this.#count("general") < this.#options.workers) return this.#addSlot("general");
    if (small && this.#options.fastLane && this.#count("fast") < 1) return this.#addSlot("fast");
    return undefined;
  }

  #addSlot(lane: Lane): Slot {
    const child = this.#spawn(lane);
    // eslint-disable-next-line prefer-const -- the ready handler below fills in the baseline
    let slot: Slot;
    // A job's deadline starts when the child can take it, not while Node and Polars load.
    const ready = new Promise<boolean>((resolve) => {
      // one that never finishes loading is stopped (and its job fails as a crash)
      const stuck = setTimeout(() => child.kill("SIGKILL"), this.#options.loadTimeoutMs);
      stuck.unref();
      const onReady = (m: unknown) => {
        if ((m as { ready?: boolean } | null)?.ready !== true) return;
        child.off("message", onReady);
        clearTimeout(stuck);
        slot.baseRss = rssOf(child.pid);
        resolve(true);
      };
      child.on("message", onReady);
      child.once("exit", () => {
        clearTimeout(stuck);
        resolve(false);
      });
    });
    slot = { child, lane, busy: false, ready, baseRss: 0, idleSince: Date.now(), stderrTail: "" };
    // Kept, not echoed: Rust panics print kilobytes of backtrace per hostile file.
    slot.child.stderr?.setEncoding("utf8");
    slot.child.stderr?.on("data", (text: string) => {
      slot.stderrTail = (slot.stderrTail + text).slice(-STDERR_TAIL);
    });
    // A child that dies while idle (killed from outside) is forgotten and, if it was kept warm, replaced.
    slot.child.once("exit", () => {
      if (slot.busy || this.#closed) return;
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      this.warm();
    });
    this.#slots.push(slot);
    return slot;
  }

  #spawn(lane: Lane): ChildProcess {
    const { script, memoryMb, serialization } = this.#options;
    // polars-fast.ts rewrites nodejs-polars' wrappers as it loads, so it is loaded before the script
    const nodeArgs = [`--max-old-space-size=${memoryMb}`, "--import", POLARS_FAST, script];
    // The OS cap also covers native (Rust) allocations, which the V8 flag does not see. V8 itself
    // needs ~600 MB of data segment to start, so the OS cap never goes below 1 GiB; the RSS
    // watchdog enforces smaller limits.
    const osCapBytes = Math.max(memoryMb, 1024) * 1024 * 1024;
    const [command, args] = existsSync(PRLIMIT) ? [PRLIMIT, [`--data=${osCapBytes}`, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    // Two malloc arenas: glibc otherwise keeps per-thread arenas of freed Polars memory
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2" };
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "pipe", "ipc"], serialization, env });
    child.on("error", () => {});
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, NICENESS[lane]);
    } catch {
      // not permitted here: run at normal priority
    }
    return child;
  }

  #start(slot: Slot, job: Waiting): void {
    slot.busy = true;
    void slot.ready.then((ok) => {
      if (ok) this.#send(slot, job);
      else {
        // it died while loading (or was killed): forget it and fail the job as a crash
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
        job.reject(this.#options.errors.crash(slot.stderrTail, job.message));
        if (!this.#closed) this.warm();
        this.#next();
      }
    });
  }

  #send(slot: Slot, job: Waiting): void {
    slot.stderrTail = "";
    const { child } = slot;
    const { errors, timeoutMs, memoryMb } = this.#options;
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
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
      } else {
        slot.busy = false;
        slot.idleSince = Date.now();
      }
      outcome();
      if (replace) this.warm();
      this.#next();
    };
    const onMessage = (reply: JobReply | { ready: true }) => {
      if ("ready" in reply) return;
      // memory Polars kept after the job is given back by replacing the child
      const grown = slot.baseRss > 0 && rssOf(child.pid) > slot.baseRss + this.#options.recycleGrowthBytes;
      finish(() => (reply.ok ? job.resolve(reply.value) : job.reject(new ApiError(reply.status, reply.code as ApiError["code"], reply.detail, reply.extra ?? {}))), grown);
    };
    const onExit = () => finish(() => job.reject(errors.crash(slot.stderrTail, job.message)), true);
    const deadline = setTimeout(() => finish(() => job.reject(errors.timeout(timeoutMs)), true), timeoutMs);
    const capBytes = memoryMb * 1024 * 1024;
    const watchdog = setInterval(() => {
      if (rssOf(child.pid) > capBytes) finish(() => job.reject(errors.memory(memoryMb)), true);
    }, WATCHDOG_MS);
    child.on("message", onMessage);
    // "close", not "exit": the stderr tail must be complete when the crash is judged.
    child.once("close", onExit);
    try {
      child.send(job.message);
    } catch {
      // the child is already gone: "close" follows and fails the job
    }
  }

  /** Hands waiting jobs to free children: small jobs first, clients round robin. */
  #next(): void {
    while (!this.#closed && this.#waiting > 0) {
      const small = this.#pick(true, false);
      const slot = small ? this.#freeSlot(true) : this.#freeSlot(false);
      if (!slot) return;
      const job = this.#pick(slot.lane === "fast", true);
      if (!job) return;
      this.#start(slot, job);
    }
  }

  /**
   * The next job round robin over clients: a small one if any waits (only small ones when
   * `smallOnly`), else the oldest of the next client. Removes it from its queue when `take`.
   */
  #pick(smallOnly: boolean, take: boolean): Waiting | undefined {
    for (const wantSmall of smallOnly ? [true] : [true, false]) {
      for (let k = 0; k < this.#order.length; k++) {
        const client = this.#order[k]!;
        const queue = this.#queues.get(client) ?? [];
        const i = wantSmall ? queue.findIndex((j) => j.small) : 0;
        const job = queue[i];
        if (i < 0 || !job) continue;
        if (take) {
          queue.splice(i, 1);
          this.#waiting--;
          // this client goes to the back of the round
          this.#order.splice(k, 1);
          if (queue.length > 0) this.#order.push(client);
          else this.#queues.delete(client);
        }
        return job;
      }
    }
    return undefined;
  }

  #reap(): void {
    const now = Date.now();
    let general = this.#count("general");
    let refresh = false;
    for (const slot of [...this.#slots]) {
      if (slot.busy || now - slot.idleSince < this.#options.idleMs) continue;
      const kept = slot.lane === "general" && general <= this.#options.keepWarm;
      // a child kept warm is swapped for a fresh one when it still holds memory from earlier jobs
      if (kept && !(slot.baseRss > 0 && rssOf(slot.child.pid) > slot.baseRss + IDLE_SLACK_BYTES)) continue;
      if (slot.lane === "general") general--;
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      slot.child.kill("SIGKILL");
      refresh ||= kept;
    }
    if (refresh) this.warm();
  }
}

function shuttingDown(): ApiError {
  return new ApiError(503, "BUSY", "The server is shutting down.", {}, { "Retry-After": "5" });
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

/** True when a child's stderr says it ran out of memory rather than failed on the data. */
export function outOfMemory(stderrTail: string): boolean {
  return /memory allocation of \d+ bytes failed|out of memory|heap limit|Allocation failed|capacity overflow/i.test(stderrTail);
}

/** The message of the last Rust panic in a child's stderr, if any. */
export function panicMessage(stderrTail: string): string | null {
  const all = [...stderrTail.matchAll(/panicked at [^\n]*\n([^\n]+)/g)];
  return all.at(-1)?.[1] ?? null;
}

/**
 * Children write `\u0001step: <what>\n` to stderr (synchronously) before risky steps, so that
 * when one dies the parent can say what it was doing. Returns the last such step.
 */
export function lastStep(stderrTail: string): string | null {
  const all = [...stderrTail.matchAll(/\u0001step: ([^\n]*)\n/g)];
  return all.at(-1)?.[1] ?? null;
}
