/**
 * Tools of the hostile suites: the real server as a child process (optionally under a small
 * open-file limit), a `/api/health` watcher that measures latency while an attack runs, and raw
 * sockets bound to other loopback addresses (127.0.0.2, …) so that attackers and the watcher are
 * different clients, as they would be in production.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");

/** Servers started here that are still running: killed when the test process exits, whatever happened. */
const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of started) p.kill("SIGKILL");
});

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  pid: number;
  /** Everything the server printed so far. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `node src/server.ts` with `env`; `nofile` runs it under that open-file limit (prlimit). */
export async function startServerProcess(env: Record<string, string>, options: { nofile?: number } = {}): Promise<ServerProcess> {
  const node = [process.execPath, "src/server.ts"];
  const command = options.nofile && existsSync("/usr/bin/prlimit") ? ["/usr/bin/prlimit", `--nofile=${options.nofile}`, ...node] : node;
  const proc = spawn(command[0] as string, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", RATE_LIMIT_READS: "0", RATE_LIMIT_UPLOADS: "0", MALLOC_ARENA_MAX: "2", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(proc);
  proc.once("exit", () => started.delete(proc));
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  });
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out.slice(-2000)}`)), 60_000);
    const check = () => {
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        proc.stdout!.off("data", check);
        resolve(m[1]);
      }
    };
    proc.stdout!.on("data", check);
    void exited.then(() => reject(new Error(`server exited at start-up: ${out.slice(-2000)}`)));
  });
  return {
    proc,
    url,
    port: Number(new URL(url).port),
    pid: proc.pid as number,
    output: () => out,
    exited,
    async kill() {
      proc.kill("SIGKILL");
      await exited;
    },
    async stop() {
      proc.kill("SIGTERM");
      return exited;
    },
  };
}

export interface HealthReport {
  count: number;
  p50: number;
  max: number;
  /** Statuses seen other than 200 (with counts), and failed requests as "error: …". */
  failures: Record<string, number>;
}

/**
 * Polls `/api/health` every `everyMs` from 127.0.0.1 until stopped, one request at a time,
 * each with a 5 s deadline (a hung server shows up as a 5000 ms latency, not as a hung test).
 */
export function watchHealth(url: string, headers: Record<string, string> = {}, everyMs = 100): { stop(): Promise<HealthReport> } {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await fetch(`${url}/api/health`, { headers, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) failures[String(res.status)] = (failures[String(res.status)] ?? 0) + 1;
      } catch (err) {
        const key = `error: ${(err as Error).name}`;
        failures[key] = (failures[key] ?? 0) + 1;
      }
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        count: sorted.length,
        p50: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
        max: Math.round(sorted[sorted.length - 1] ?? 0),
        failures,
      };
    },
  };
}

/**
 * Runs `attack` while watching health; returns the attack's result and the health report. The
 * watcher runs in this (the test) process: build big inputs before calling, or their generation
 * shows up as the server's latency.
 */
export async function underAttack<T>(url: string, attack: () => Promise<T>, headers: Record<string, string> = {}): Promise<{ result: T; health: HealthReport }> {
  const watch = watchHealth(url, headers);
  // let the watcher take a first sample before the attack starts
  await new Promise((r) => setTimeout(r, 150));
  const started = Date.now();
  try {
    const result = await attack();
    // short attacks: keep watching a little, so aftermath (cleanup, late work) is measured too
    await new Promise((r) => setTimeout(r, Math.max(500, 1500 - (Date.now() - started))));
    return { result, health: await watch.stop() };
  } catch (err) {
    await watch.stop();
    throw err;
  }
}

/** A TCP connection to the server from `localAddress` (another loopback address = another client). */
export function connect(port: number, localAddress = "127.0.0.2"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Collects what the server sends on `socket` until it closes (or `timeoutMs`). */
export function readAll(socket: net.Socket, timeoutMs = 10_000): Promise<{ text: string; closed: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let text = "";
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.once("close", () => done(true));
    socket.once("error", () => undefined);
  });
}

/** Sends `request` raw and reads the answer until the server closes (or `timeoutMs`). */
export async function rawExchange(port: number, request: string | Buffer, localAddress = "127.0.0.2", timeoutMs = 10_000): Promise<{ status: number; headers: string; body: string; closed: boolean; ms: number }> {
  const socket = await connect(port, localAddress);
  const reading = readAll(socket, timeoutMs);
  socket.write(request);
  const { text, closed, ms } = await reading;
  socket.destroy();
  return { ...parseResponse(text), closed, ms };
}

export function parseResponse(text: string): { status: number; headers: string; body: string } {
  const end = text.indexOf("\r\n\r\n");
  const head = end === -1 ? text : text.slice(0, end);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: end === -1 ? "" : text.slice(end + 4) };
}

/** The head of a multipart upload whose body is announced as `contentLength` bytes. */
export function multipartHead(pathname: string, contentLength: number, extraHeaders = ""): { head: string; partHead: string } {
  const boundary = "----hostile";
  return {
    head: `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${contentLength}\r\n${extraHeaders}\r\n`,
    partHead: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n`,
  };
}

/** Other loopback addresses work as source addresses on Linux; elsewhere attackers share 127.0.0.1. */
export async function loopbackAliases(): Promise<boolean> {
  try {
    const s = await connect(1, "127.0.0.2").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") return null;
      throw err;
    });
    s?.destroy();
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
