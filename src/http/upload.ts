/**
 * Receives one multipart file onto disk (never into memory), enforcing MAX_UPLOAD_BYTES while
 * streaming, and removes it when the request is over, whatever happened. Uploads being received
 * at once are capped per client and in total (MAX_UPLOADS_PER_CLIENT / MAX_UPLOADS): one over a
 * cap is answered 429 / 503 with Retry-After before a byte of its body is read. A body that
 * arrives too slowly is cut off by the server's deadlines (http/connections.ts); multer then
 * removes its temp file, and parsing never starts before the whole body is here, so a slow
 * client never holds a parser.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import multer from "multer";
import { ApiError, badRequest } from "../errors.ts";
import type { UploadedFile } from "../ingest/index.ts";
import { clientAddress } from "./connections.ts";

/**
 * Our temp files are named `<kind>-<pid>-<uuid>…`: start-up cleaning removes only files of
 * processes that are gone, so servers sharing one UPLOAD_DIR never delete each other's uploads.
 */
const OURS = /^(upload|ingest)-(\d+)-/;

/** A fresh temp file name in UPLOAD_DIR for this process. */
export function tempName(kind: "upload" | "ingest", suffix = ""): string {
  return `${kind}-${process.pid}-${randomUUID()}${suffix}`;
}

/** Whether a process with this pid exists (ours counts as alive). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface UploadLimits {
  uploadDir: string;
  maxUploadBytes: number;
  /** Shared counters of uploads in progress (one per app, for every route that receives files). */
  slots?: UploadSlots;
}

/** Counts uploads being received, per client and in total. */
export interface UploadSlots {
  /** Takes a slot for `client`, or returns the problem to answer instead. */
  acquire(client: string): ApiError | null;
  release(client: string): void;
  inProgress(): number;
}

export function createUploadSlots(limits: { total: number; perClient: number }): UploadSlots {
  const perClient = new Map<string, number>();
  let total = 0;
  return {
    acquire(client) {
      const mine = perClient.get(client) ?? 0;
      if (mine >= limits.perClient) {
        return new ApiError(429, "RATE_LIMITED", `This client is already sending ${mine} uploads (MAX_UPLOADS_PER_CLIENT is ${limits.perClient}); wait for one to finish.`, {}, { "Retry-After": "10", Connection: "close" });
      }
      if (total >= limits.total) {
        return new ApiError(503, "BUSY", `The server is receiving its maximum of ${limits.total} uploads (MAX_UPLOADS); retry in a few seconds.`, {}, { "Retry-After": "10", Connection: "close" });
      }
      perClient.set(client, mine + 1);
      total += 1;
      return null;
    },
    release(client) {
      const mine = (perClient.get(client) ?? 1) - 1;
      if (mine <= 0) perClient.delete(client);
      else perClient.set(client, mine);
      total = Math.max(0, total - 1);
    },
    inProgress: () => total,
  };
}

/**
 * Creates the upload folder and removes temp files left behind by processes that are gone
 * (with `includeOwn`, this process's too: used at shutdown).
 */
export function prepareUploadDir(uploadDir: string, { includeOwn = false } = {}): void {
  mkdirSync(uploadDir, { recursive: true });
  for (const name of readdirSync(uploadDir)) {
    const pid = Number(OURS.exec(name)?.[2] ?? NaN);
    if (Number.isNaN(pid)) continue;
    if ((includeOwn && pid === process.pid) || !processAlive(pid)) rmSync(path.join(uploadDir, name), { force: true, recursive: true });
  }
}

/** How long each request's file took to arrive (from the first byte of the form to the last), and its hash. */
const received = new WeakMap<Request, { ms: number; sha256?: string }>();

/**
 * multer's disk storage, hashing the bytes as they are written (SHA-256, the version's
 * `source.sha256`), so ingest does not read the whole file again just to hash it. The hash
 * listener joins the stream right after disk storage piped it (synchronously, with a fixed
 * destination and name), so it sees every chunk the file gets; otherwise no hash is given.
 */
function hashingDiskStorage(uploadDir: string): multer.StorageEngine {
  const disk = multer.diskStorage({
    // made again if it went away while we run (a tmp cleaner): else every upload would be a 500
    destination: (_req, _file, cb) => {
      try {
        mkdirSync(uploadDir, { recursive: true });
        cb(null, uploadDir);
      } catch (err) {
        cb(err as Error, uploadDir);
      }
    },
    filename: (_req, _file, cb) => cb(null, tempName("upload")),
  });
  return {
    _handleFile(req, file, cb) {
      let hash: ReturnType<typeof createHash> | null = null;
      disk._handleFile(req, file, (err, info) => {
        cb(err, err || !hash ? info : { ...info, sha256: hash.digest("hex") } as Partial<Express.Multer.File>);
      });
      if (file.path !== undefined && !file.stream.destroyed) {
        const h = createHash("sha256");
        hash = h;
        file.stream.on("data", (chunk: Buffer) => h.update(chunk));
      }
    },
    _removeFile: (req, file, cb) => disk._removeFile(req, file, cb),
  };
}

export function receiveUpload(limits: UploadLimits): RequestHandler {
  const middleware = multer({
    storage: hashingDiskStorage(limits.uploadDir),
    limits: {
      fileSize: limits.maxUploadBytes,
      files: 1,
      parts: 32,
      fields: 24,
      fieldSize: 64 * 1024,
      fieldNameSize: 100,
      fieldNestingDepth: 0,
      fieldArrayIndexLimit: 0,
    },
  }).single("file");

  return (req: Request, res: Response, next: NextFunction) => {
    if (req.is("application/x-www-form-urlencoded")) {
      // a form, but one that cannot carry a file: the file part is what is missing (QA Q8)
      next(badRequest('The form has no file: send it as multipart/form-data with the file in the field "file" (this form is application/x-www-form-urlencoded, which cannot carry one).', { parameter: "file" }));
      return;
    }
    if (!req.is("multipart/form-data")) {
      // not a form at all (JSON, say): 415, saying how to send the file
      next(new ApiError(415, "UNSUPPORTED_FORMAT", "Send the file as multipart/form-data with the file in the field \"file\"."));
      return;
    }
    const client = clientAddress(req.socket);
    const refused = limits.slots?.acquire(client);
    if (refused) {
      next(refused);
      return;
    }
    // Remove the temp file and free the slot once the response is done or the client went away.
    res.once("close", () => {
      limits.slots?.release(client);
      if (req.file?.path) void rm(req.file.path, { force: true });
    });
    const started = performance.now();
    middleware(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (!req.file) return next(badRequest('The form has no file: send it in the field "file".', { parameter: "file" }));
      const sha256 = (req.file as { sha256?: unknown }).sha256;
      received.set(req, { ms: performance.now() - started, ...(typeof sha256 === "string" ? { sha256 } : {}) });
      next();
    });
  };
}

/** The received file, in the ingest layer's terms. */
export function uploadedFile(req: Request): UploadedFile {
  const file = req.file;
  if (!file) throw badRequest('The form has no file: send it in the field "file".', { parameter: "file" });
  const sha256 = received.get(req)?.sha256;
  return { path: file.path, originalName: safeName(file.originalname), sizeBytes: file.size, ...(sha256 ? { sha256 } : {}) };
}

/** Milliseconds the request's file took to arrive (0 when it did not come through `receiveUpload`). */
export function receiveMs(req: Request): number {
  return received.get(req)?.ms ?? 0;
}

/** Busboy decodes file names as latin1 by default; browsers send UTF-8. */
function safeName(name: string): string {
  const utf8 = Buffer.from(name, "latin1").toString("utf8");
  const chosen = utf8.includes("\uFFFD") ? name : utf8;
  return path.basename(chosen.replace(/\\/g, "/")).slice(0, 255) || "upload";
}
