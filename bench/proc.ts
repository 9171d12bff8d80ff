/**
 * Child servers for the benchmark: a free loopback port, start-and-wait-until-healthy, resident
 * memory from /proc, and a stop that always ends the process (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import net from "node:net";

/** A running child HTTP server. */
export interface ServerProc {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `node <args>` with `env` on a free port and waits until GET /api/health answers 200.
 * stdout/stderr go to `logFile` so a chatty logger never blocks on a full pipe.
 */
export async function startServer(args: string[], env: Record<string, string>, logFile: string, timeoutMs = 60_000): Promise<ServerProc> {
  const port = await freePort();
  const log = openSync(logFile, "a");
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `exited ${code ?? signal}`;
      resolve();
    });
  });
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exitPromise;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${args.join(" ")} ${exited} before answering; see ${logFile}`);
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return { url, pid: child.pid ?? -1, child, stop };
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`${args.join(" ")} did not answer /api/health within ${timeoutMs} ms; see ${logFile}`);
}

/** Resident and peak resident memory of a process, in bytes (Linux /proc). */
export function memoryOf(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

/** The direct children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Waits until the server's child processes (parser and query workers kept warm) have loaded:
 * their summed RSS has not changed by more than 2 MB for a second, or `maxMs` passed. On a loaded
 * machine they take seconds to start, and an upload timed before would time their start-up.
 */
export async function childrenSettled(pid: number, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let stable = 0;
  while (Date.now() < deadline && stable < 4) {
    await new Promise((r) => setTimeout(r, 250));
    const kids = childrenOf(pid);
    let rss = 0;
    for (const k of kids) {
      try {
        rss += memoryOf(k).rssBytes;
      } catch {
        // exited meanwhile
      }
    }
    stable = kids.length > 0 && Math.abs(rss - last) < 2 * 1024 * 1024 ? stable + 1 : 0;
    last = rss;
  }
}
