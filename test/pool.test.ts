/**
 * The process pool (src/sandbox/pool.ts) with a trivial child: deadlines, memory caps, crashes,
 * replacement of killed children, round-robin per-client queues and the fast lane. Real child
 * processes; assertions on outcomes and order, never on durations.
 */
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, queryLimit } from "../src/errors.ts";
import { PARSE_ERRORS, QUERY_ERRORS, crashError } from "../src/sandbox/limits.ts";
import { ProcessPool, type PoolOptions } from "../src/sandbox/pool.ts";

const CHILD = path.join(import.meta.dirname, "helpers", "pool-child.ts");
let pools: ProcessPool[] = [];

function pool(options: Partial<PoolOptions> = {}): ProcessPool {
  const p = new ProcessPool({ script: CHILD, workers: 1, timeoutMs: 20_000, memoryMb: 4096, maxQueue: 64, errors: QUERY_ERRORS, serialization: "advanced", ...options });
  pools.push(p);
  return p;
}

afterEach(async () => {
  for (const p of pools) await p.close();
  pools = [];
});

async function errorOf(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected an ApiError");
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

function exited(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      try {
        process.kill(pid, 0);
        setTimeout(check, 20);
      } catch {
        resolve();
      }
    };
    check();
  });
}

describe("process pool", () => {
  it("answers jobs, passing typed arrays through with advanced serialization", async () => {
    const p = pool();
    expect(await p.run({ echo: { a: [1, "x"] } })).toEqual({ a: [1, "x"] });
    const typed = await p.run<Uint32Array>({ echo: new Uint32Array([3, 1, 2]) });
    expect(typed).toBeInstanceOf(Uint32Array);
    expect([...typed]).toEqual([3, 1, 2]);
  });

  it("kills a job past its deadline with the pool's limit error, and the next job runs in a new child", async () => {
    const p = pool({ timeoutMs: 300 });
    const first = await p.run<number>({ pid: true });
    const error = await errorOf(p.run({ sleep: 5000 }));
    expect(error).toMatchObject({ status: 422, code: "QUERY_LIMIT", extra: { reason: "timeout" } });
    expect(error.message).toContain("QUERY_TIMEOUT_MS");
    await exited(first);
    const second = await p.run<number>({ pid: true });
    expect(second).not.toBe(first);
  });

  it("does not count a child's start-up against the deadline", async () => {
    // Node + the child module take longer than 150 ms to load on this machine; a quick job still succeeds
    const p = pool({ timeoutMs: 150 });
    expect(await p.run({ echo: 1 })).toBe(1);
  });

  it("keeps a loaded child past the load timeout (that timeout only stops children that never load)", async () => {
    const p = pool({ loadTimeoutMs: 3000 });
    const pid = await p.run<number>({ pid: true });
    await new Promise((r) => setTimeout(r, 3300));
    expect(await p.run<number>({ pid: true })).toBe(pid);
  });

  it("stops a child past its memory cap with the limit error", async () => {
    const p = pool({ memoryMb: 200 });
    const error = await errorOf(p.run({ alloc: 400 }));
    expect(error).toMatchObject({ status: 422, code: "QUERY_LIMIT", extra: { reason: "memory" } });
    expect(error.message).toContain("QUERY_MEMORY_MB");
    expect(await p.run({ echo: "after" })).toBe("after");
  });

  it("turns a child that aborts into the pool's crash error and replaces it", async () => {
    const p = pool({ errors: PARSE_ERRORS });
    expect(await errorOf(p.run({ crash: true }))).toMatchObject({ status: 422, code: "PARSE_LIMIT" });
    const panic = await errorOf(p.run({ panic: true }));
    expect(panic).toMatchObject({ status: 422, code: "UNPARSEABLE_FILE" });
    expect(panic.message).toContain("render CSV");
    expect(panic.message).toContain("out-of-range date");
    expect(await p.run({ echo: "alive" })).toBe("alive");
  });

  it("replaces a child killed from outside while idle, keeping one warm", async () => {
    const p = pool({ keepWarm: 1 });
    const pid = await p.run<number>({ pid: true });
    process.kill(pid, "SIGKILL");
    await exited(pid);
    for (let i = 0; i < 100 && (p.pids().length === 0 || p.pids().includes(pid)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(p.pids()).toHaveLength(1);
    expect(p.pids()).not.toContain(pid);
    expect(await p.run<number>({ pid: true })).not.toBe(pid);
  });

  it("serves waiting clients round robin, so one client's queue does not starve another", async () => {
    const p = pool({ fastLane: false });
    const order: string[] = [];
    const job = (client: string, n: number) => p.run({ sleep: 150, echo: `${client}${n}` }, { client }).then((v) => order.push(v as string));
    // a fills the child and queues three more; b arrives last with one job
    const all = [job("a", 1), job("a", 2), job("a", 3), job("a", 4)];
    await new Promise((r) => setTimeout(r, 50));
    all.push(job("b", 1));
    await Promise.all(all);
    expect(order.indexOf("b1")).toBeLessThan(order.indexOf("a3"));
  });

  it("runs a small job in the fast lane while every general child is busy with big ones", async () => {
    const p = pool({ workers: 1 });
    const order: string[] = [];
    const big = p.run({ sleep: 1500, echo: "big" }, { client: "a" }).then((v) => order.push(v as string));
    const big2 = p.run({ sleep: 1500, echo: "big2" }, { client: "a" }).then((v) => order.push(v as string));
    await new Promise((r) => setTimeout(r, 50));
    const small = p.run({ echo: "small" }, { client: "b", small: true }).then((v) => order.push(v as string));
    await Promise.all([big, big2, small]);
    expect(order[0]).toBe("small");
  });

  it("refuses jobs past the queue limits with BUSY and Retry-After", async () => {
    const p = pool({ fastLane: false, maxQueue: 2, maxQueuePerClient: 1 });
    const running = p.run({ sleep: 500 }, { client: "a" });
    const queued = p.run({ sleep: 10 }, { client: "a" });
    const perClient = await errorOf(p.run({ sleep: 10 }, { client: "a" }));
    expect(perClient).toMatchObject({ status: 503, code: "BUSY" });
    expect(perClient.headers["Retry-After"]).toMatch(/^\d+$/);
    const other = p.run({ sleep: 10 }, { client: "b" });
    expect(await errorOf(p.run({ sleep: 10 }, { client: "c" }))).toMatchObject({ code: "BUSY" });
    await Promise.all([running, queued, other]);
  });

  it("replaces a child that kept much more memory after a job than it started with", async () => {
    const p = pool({ recycleGrowthBytes: 100 * 1024 * 1024 });
    const pid = await p.run<number>({ pid: true });
    expect(await p.run<number>({ hold: 300, pid: true })).toBe(pid);
    await exited(pid);
    expect(await p.run<number>({ pid: true })).not.toBe(pid);
  });

  it("swaps an idle child kept warm for a fresh one when it still holds memory from earlier jobs", async () => {
    const p = pool({ idleMs: 300, keepWarm: 1 });
    const pid = await p.run<number>({ hold: 120, pid: true });
    await exited(pid);
    await until(() => p.pids().length === 1, "a fresh child");
    expect(p.pids()).not.toContain(pid);
  });

  it("answers a job that met a full disk with 507 STORAGE_FULL", async () => {
    expect(await errorOf(pool().run({ fullDisk: true }))).toMatchObject({ status: 507, code: "STORAGE_FULL" });
  });

  it("reaps idle children beyond those kept warm", async () => {
    const p = pool({ workers: 2, idleMs: 300, keepWarm: 1 });
    const both = Promise.all([p.run({ sleep: 100 }), p.run({ sleep: 100 })]);
    expect(p.pids()).toHaveLength(2);
    await both;
    for (let i = 0; i < 60 && p.pids().length > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(p.pids()).toHaveLength(1);
  });
});

describe("limit errors", () => {
  it("says which output format a parser child was rendering when it panicked", () => {
    const err = crashError("\u0001step: render NDJSON/JSON\nthread '<unnamed>' (1) panicked at /x/temporal_conversions.rs:47:30:\nout-of-range date\n");
    expect(err).toMatchObject({ status: 422, code: "UNPARSEABLE_FILE" });
    expect(err.message).toContain("render NDJSON/JSON");
    expect(err.message).not.toContain("/x/");
  });

  it("reports a query worker's crash as QUERY_LIMIT, and a stored file's failed proof as UNPARSEABLE_FILE", () => {
    expect(QUERY_ERRORS.crash("memory allocation of 1 bytes failed\n", {}).code).toBe("QUERY_LIMIT");
    expect(QUERY_ERRORS.crash("thread 'x' panicked at a.rs:1:1:\nboom\n", { kind: "stats" })).toMatchObject({ code: "QUERY_LIMIT", extra: { reason: "panic" } });
    expect(QUERY_ERRORS.crash("\u0001step: render CSV\nthread 'x' panicked at a.rs:1:1:\nout-of-range date\n", { kind: "proveStored" }).code).toBe("UNPARSEABLE_FILE");
    expect(queryLimit("x").status).toBe(422);
  });
});
