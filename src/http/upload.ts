/**
 * Receives one multipart file onto disk (never into memory), enforcing MAX_UPLOAD_BYTES while
 * streaming, and removes it when the request is over, whatever happened.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import multer from "multer";
import { ApiError, badRequest } from "../errors.ts";
import type { UploadedFile } from "../ingest/index.ts";

/** Our temp files carry these prefixes so start-up cleaning never touches anything else. */
const PREFIX = "upload-";
const OURS = /^(upload|download|ingest)-/;

export interface UploadLimits {
  uploadDir: string;
  maxUploadBytes: number;
}

/** Creates the upload folder and removes temp files left behind by a previous process. */
export function prepareUploadDir(uploadDir: string): void {
  mkdirSync(uploadDir, { recursive: true });
  for (const name of readdirSync(uploadDir)) {
    if (OURS.test(name)) rmSync(path.join(uploadDir, name), { force: true, recursive: true });
  }
}

export function receiveUpload(limits: UploadLimits): RequestHandler {
  const middleware = multer({
    storage: multer.diskStorage({
      destination: limits.uploadDir,
      filename: (_req, _file, cb) => cb(null, `${PREFIX}${randomUUID()}`),
    }),
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
    if (!req.is("multipart/form-data")) {
      next(new ApiError(415, "UNSUPPORTED_FORMAT", "Send the file as multipart/form-data with the file in the field \"file\"."));
      return;
    }
    // Remove the temp file once the response is done or the client went away.
    res.on("close", () => {
      if (req.file?.path) void rm(req.file.path, { force: true });
    });
    middleware(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (!req.file) return next(badRequest('The form has no file: send it in the field "file".'));
      next();
    });
  };
}

/** The received file, in the ingest layer's terms. */
export function uploadedFile(req: Request): UploadedFile {
  const file = req.file;
  if (!file) throw badRequest('The form has no file: send it in the field "file".');
  return { path: file.path, originalName: safeName(file.originalname), sizeBytes: file.size };
}

/** Text fields of the form, as strings only. */
export function formFields(req: Request): Record<string, string> {
  const body: unknown = req.body;
  const out: Record<string, string> = {};
  if (body && typeof body === "object") {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v !== "string") throw badRequest(`Form field "${k}" must be given once, as text.`);
      out[k] = v;
    }
  }
  return out;
}

/** Busboy decodes file names as latin1 by default; browsers send UTF-8. */
function safeName(name: string): string {
  const utf8 = Buffer.from(name, "latin1").toString("utf8");
  const chosen = utf8.includes("\uFFFD") ? name : utf8;
  return path.basename(chosen.replace(/\\/g, "/")).slice(0, 255) || "upload";
}
