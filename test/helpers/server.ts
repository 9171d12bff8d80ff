/** Starts the real app on a loopback port for HTTP tests, with any backend and settings. */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createApp } from "../../src/app.ts";
import { loadConfig, type SETTINGS } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { createStorage } from "../../src/storage/index.ts";
import type { Storage } from "../../src/storage/types.ts";
import { prepareUploadDir } from "../../src/http/upload.ts";
import { createParser, type Parser } from "../../src/sandbox/parser.ts";
import { createQueryWorkers, type QueryWorkers } from "../../src/sandbox/queries.ts";

export type BackendName = "memory" | "local";
export const BACKENDS: BackendName[] = ["memory", "local"];

type Env = Partial<Record<(typeof SETTINGS)[number]["env"], string>>;

export interface TestServer {
  url: string;
  storage: Storage;
  parser: Parser;
  queries: QueryWorkers;
  dataDir: string;
  uploadDir: string;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function startServer(backend: BackendName, env: Env = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? (await mkdtemp(path.join(os.tmpdir(), "ds-test-data-")));
  const uploadDir = env.UPLOAD_DIR ?? (await mkdtemp(path.join(os.tmpdir(), "ds-test-uploads-")));
  const config = loadConfig({ STORAGE_BACKEND: backend, DATA_DIR: dataDir, UPLOAD_DIR: uploadDir, PORT: "0", LOG_LEVEL: "silent", ...env }, {});
  prepareUploadDir(config.uploadDir);
  const queries = createQueryWorkers(config);
  const storage = await createStorage(config, { queries });
  const parser = createParser(config);
  const app = createApp({ config, storage, parser, queries, logger: createLogger(config.logLevel) });
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    storage,
    parser,
    queries,
    dataDir,
    uploadDir,
    async close({ keepData = false } = {}) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await parser.close();
      await queries.close();
      await storage.close();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
      await rm(uploadDir, { recursive: true, force: true });
    },
  };
}

/** Posts a file (from disk or from bytes) as multipart/form-data, like curl -F would. */
export async function upload(
  url: string,
  file: { name: string; content: string | Uint8Array | Blob } | null,
  fields: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) {
    const blob = file.content instanceof Blob ? file.content : new Blob([file.content]);
    form.append("file", blob, file.name);
  }
  const res = await fetch(url, { method: "POST", body: form });
  return { status: res.status, body: await parseBody(res), headers: res.headers };
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await parseBody(res), headers: res.headers };
}

async function parseBody(res: Response): Promise<any> {
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return type.includes("json") && text !== "" ? JSON.parse(text) : text;
}
