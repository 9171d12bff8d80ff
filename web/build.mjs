#!/usr/bin/env node
/**
 * Builds the web viewer into web/dist when it is missing or older than its sources (web/, the typed
 * client in client/), so `npm ci` (prepare), `npm start` and `npm test` build it once and later starts
 * write nothing. `--force` always builds. Plain JavaScript on purpose: it is the first thing an install
 * runs, and it must be able to say clearly that the Node on PATH is too old for the server.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WEB = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(WEB);
const BUILT = path.join(WEB, "dist", "index.html");
const SOURCES = [path.join(WEB, "src"), path.join(WEB, "index.html"), path.join(WEB, "vite.config.ts"), path.join(ROOT, "client")];
const MIN_NODE = 24;

/** Newest modification time under `p` (a file or a folder). */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const entry of readdirSync(p)) t = Math.max(t, newest(path.join(p, entry)));
  return t;
}

const args = new Set(process.argv.slice(2));
if (args.has("--check-node")) {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE) {
    console.error(
      `dataset-service needs Node ${MIN_NODE} or newer; the node on PATH is ${process.version}.\n` +
        `  - install with dev dependencies (\`npm ci\`): they include Node ${MIN_NODE}, which npm scripts use, or\n` +
        `  - put Node ${MIN_NODE} on PATH (\`nvm install\` reads .nvmrc), then \`npm ci --omit=dev && npm start\`.`,
    );
    process.exit(1);
  }
}

const stale = args.has("--force") || !existsSync(BUILT) || Math.max(...SOURCES.map(newest)) > statSync(BUILT).mtimeMs;
if (stale) {
  const { build } = await import("vite");
  await build({ configFile: path.join(WEB, "vite.config.ts"), logLevel: "warn" });
}
