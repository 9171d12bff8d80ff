/**
 * `npm start` as a process manager runs it: the server answers, and a SIGTERM sent to npm reaches the
 * server (the script execs node), which stops cleanly instead of living on as an orphan.
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Whether a process with this id still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The ids of `pid`'s descendants (children, their children, …) whose command line runs the server. */
function serverDescendants(pid: number): number[] {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const p of table.filter((row) => row.ppid === parent)) {
      if (p.args.includes("src/server.ts") && !p.args.startsWith("sh ")) found.push(p.pid);
      walk(p.pid);
    }
  };
  walk(pid);
  return found;
}

describe("npm start", () => {
  it("serves, and stops with npm on SIGTERM (no orphaned server)", async () => {
    // npm from PATH runs on whatever node is first there; vitest's PATH has the project's Node 24 first.
    const npm = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", LOG_LEVEL: "info", STORAGE_BACKEND: "memory" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    npm.stdout!.on("data", (d) => (out += d));
    npm.stderr!.on("data", (d) => (out += d));
    let servers: number[] = [];
    const npmExited = new Promise<void>((resolve) => npm.on("exit", () => resolve()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`npm start did not listen: ${out}`)), 45_000);
        npm.stdout!.on("data", () => {
          const m = /"url":"(http:[^"]+)"/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        npm.on("exit", () => reject(new Error(`npm start exited: ${out}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });

      // The server's own process: node src/server.ts under npm (the script's shell execs it).
      servers = serverDescendants(npm.pid!);
      expect(servers).toHaveLength(1);
      const pid = servers[0]!;

      npm.kill("SIGTERM");
      await npmExited;
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid)).toBe(false);
      expect(out).toContain('"msg":"shutting down"');
      expect(out).toContain('"msg":"stopped"');
    } finally {
      if (npm.exitCode === null) npm.kill("SIGKILL");
      for (const pid of servers) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
