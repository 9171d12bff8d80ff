/**
 * Runs a bench task in a child Node process (same binary as the harness) and returns the JSON it
 * prints last on stdout. Children keep native libraries' threads and memory out of the harness and
 * of each other's measurements; a timeout kills a stuck child so the run always ends.
 */
import { spawn } from "node:child_process";

/** Runs `node <script> ...args`, resolving with the parsed last stdout line. */
export function runJsonChild<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) {
        reject(new Error(`${script} ${args.join(" ")} exited ${code ?? signal}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}
