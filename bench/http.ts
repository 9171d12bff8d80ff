/**
 * HTTP clients for the benchmark: a streamed multipart upload, a timed GET, and an autocannon
 * load run with a request path that changes on every request.
 */
import { openAsBlob } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";

/** Outcome of one upload. */
export interface UploadResult {
  ms: number;
  status: number;
  body: unknown;
  /** Stage times the server reported (Server-Timing), ms by stage. */
  stages: Record<string, number>;
}

/**
 * POSTs `file` as multipart `file` field to `url`. `openAsBlob` lets fetch stream the file from
 * disk instead of holding 190 MB in JS memory. Time runs from the request to the full response.
 */
export async function upload(url: string, file: string, fields: Record<string, string>): Promise<UploadResult> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", await openAsBlob(file), path.basename(file));
  const t = performance.now();
  const res = await fetch(url, { method: "POST", body: form, signal: AbortSignal.timeout(300_000) });
  const text = await res.text();
  return { ms: performance.now() - t, status: res.status, body: parsed(text), stages: serverTiming(res.headers.get("server-timing")) };
}

/** The server's stage times of an upload (`Server-Timing: receive;dur=12.3, …`, src/timing.ts), in ms. */
function serverTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? "").split(",")) {
    const m = /^\s*([\w-]+);dur=([\d.]+)\s*$/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The body as JSON when it is JSON, else the text (shown in error messages). */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** GETs `url`, returning status, parsed body and the time to the last byte. */
export async function timedGet(url: string): Promise<{ ms: number; status: number; body: unknown }> {
  const t = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  const text = await res.text();
  return { ms: performance.now() - t, status: res.status, body: parsed(text) };
}

/** Summary of one load run. */
export interface LoadResult {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** Options of one load run. */
export interface LoadOptions {
  origin: string;
  /** Called for each request; returns the path + query to request. */
  nextPath: () => string;
  connections: number;
  /** Upper bound of the run in seconds. */
  durationSec: number;
  /** Ends the run early when it settles (used to stop load when an upload finishes). */
  until?: Promise<unknown>;
}

/** Runs autocannon against `origin` and summarises the run. */
export function load(opts: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.origin,
        connections: opts.connections,
        duration: opts.durationSec,
        requests: [
          {
            method: "GET",
            setupRequest: (req) => ({ ...req, path: opts.nextPath() }),
          },
        ],
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        resolve({
          reqPerSec: result.requests.average,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          requests: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
        });
      },
    );
    void opts.until?.finally(() => instance.stop());
  });
}
