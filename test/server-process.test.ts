/** The real entry point as a child process: start-up log, request logs, clean shutdown. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

interface Child {
  proc: ChildProcess;
  url: string;
  lines: () => string[];
  exited: Promise<number | null>;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ["src/server.ts"], { cwd: ROOT, env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    proc.stdout!.on("data", () => {
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", () => reject(new Error(`server exited: ${out}`)));
  });
  return { proc, url, lines: () => out.split("\n").filter((l) => l.trim() !== ""), exited };
}

describe("server process", () => {
  let child: Child | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    child?.proc.kill("SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
    child = undefined;
  });

  it("logs one JSON line per request without secrets, and exits 0 on SIGTERM with temp files cleaned", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-proc-"));
    const uploadDir = path.join(dir, "uploads");
    child = await startChild({ API_TOKENS: "very-secret-token:write", UPLOAD_DIR: uploadDir });
    expect(child.lines().some((l) => l.includes('"auth":"bearer tokens"'))).toBe(true);
    const form = new FormData();
    form.append("file", new Blob(["a,b\n1,secret-cell-value\n"]), "s.csv");
    const res = await fetch(`${child.url}/api/datasets/upload`, { method: "POST", body: form, headers: { authorization: "Bearer very-secret-token" } });
    expect(res.status).toBe(201);
    // A leftover of this server (cleaned at shutdown), of a dead process (cleaned) and of another live one (kept).
    await writeFile(path.join(uploadDir, `upload-${child.proc.pid}-leftover`), "x");
    await writeFile(path.join(uploadDir, "upload-999999999-dead"), "x");
    await writeFile(path.join(uploadDir, `upload-${process.pid}-live`), "x");
    child.proc.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const lines = child.lines();
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", route: "/api/datasets/upload", status: 201, reqId: expect.any(String), durationMs: expect.any(Number) });
    const all = lines.join("\n");
    expect(all).not.toContain("very-secret-token");
    expect(all).not.toContain("secret-cell-value");
    expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(await readdir(uploadDir)).toEqual([`upload-${process.pid}-live`]);
  });

  it("says at start-up that the API is open when no tokens are set, and refuses bad settings by name", async () => {
    child = await startChild({});
    expect(child.lines().some((l) => l.includes("open (API_TOKENS unset)"))).toBe(true);
    child.proc.kill("SIGTERM");
    expect(await child.exited).toBe(0);

    const bad = spawn(process.execPath, ["src/server.ts"], { cwd: ROOT, env: { ...process.env, PORT: "0", MAX_COLUMNS: "lots" }, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    bad.stderr.on("data", (d) => (err += d));
    const code = await new Promise((resolve) => bad.on("exit", resolve));
    expect(code).toBe(1);
    expect(err).toContain("MAX_COLUMNS");
  });
});
