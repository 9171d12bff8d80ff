/**
 * A real S3-compatible server for the tests: the npm package `s3rver`, in a child process of its
 * own (never an in-process mock), started by this vitest global setup on a free loopback port with
 * one bucket. Suites get an `s3://bucket/<fresh prefix>` URL each from `s3TestStore()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { inject } from "vitest";
import type { TestProject } from "vitest/node";
import { freePort } from "./postgres.ts";

export const S3_BUCKET = "dataset-tests";
/** s3rver's fixed development credentials. */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string | null;
  }
}

export interface S3Server {
  endpoint: string;
  stop(): Promise<void>;
}

const REPO = path.resolve(import.meta.dirname, "..", "..");

const CHILD = `
const S3rver = require("s3rver");
const [port, directory, bucket] = process.argv.slice(1);
new S3rver({ port: Number(port), address: "127.0.0.1", directory, silent: true, configureBuckets: [{ name: bucket }] })
  .run()
  .then(() => process.stdout.write("ready\\n"), (error) => { console.error(error); process.exit(1); });
`;

/** Starts s3rver in its own process; resolves once it listens. */
export async function startS3rver(): Promise<S3Server> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "ds-s3rver-"));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["-e", CHILD, String(port), directory, S3_BUCKET], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "ready") {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The s3rver endpoint inside a test worker. */
export function s3Endpoint(): string {
  const endpoint = inject("s3Endpoint");
  if (!endpoint) throw new Error("s3rver is not running for this test run");
  return endpoint;
}

/** A fresh, empty place in the test bucket. */
export function s3TestStore(): { url: string; endpoint: string } {
  return { url: `s3://${S3_BUCKET}/t-${randomUUID()}`, endpoint: s3Endpoint() };
}

// vitest global setup: one s3rver for the whole run.
let server: S3Server | null = null;

export async function setup(project: TestProject): Promise<void> {
  server = await startS3rver();
  project.provide("s3Endpoint", server.endpoint);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  server = null;
}

/** Options that point an object store at the test s3rver. */
export function s3TestOptions(): { s3: { endpoint: string; credentials: typeof S3_CREDENTIALS } } {
  return { s3: { endpoint: s3Endpoint(), credentials: S3_CREDENTIALS } };
}
