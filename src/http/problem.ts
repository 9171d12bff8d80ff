/**
 * The one place errors become responses: RFC 9457 problem+json. Unknown errors are logged
 * and answered with a bare 500 that carries no internal text.
 *
 * Rules that hold for every error, whichever route or middleware raised it:
 * - it is never cacheable: `Cache-Control: no-store`, and no validator (ETag, Last-Modified) or
 *   link a handler may have set before it failed, so no cache keeps it and no conditional
 *   re-request can be answered 304 for it;
 * - a full disk (ENOSPC/EDQUOT, from Node or from Polars) is 507 STORAGE_FULL, not a 500;
 * - a client that went away is not an error of ours: logged at debug level, nothing sent.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import multer from "multer";
import { ApiError, badRequest, tooLarge } from "../errors.ts";
import { diskFull, isDiskFull } from "./disk-full.ts";

export { diskFull, isDiskFull };

export interface ErrorLogger {
  error(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** Headers a handler may have set for a success that must not survive on an error. */
const SUCCESS_ONLY_HEADERS = ["ETag", "Last-Modified", "Link", "Content-Disposition", "Content-Length", "Expires"];

/** The problem+json body of an error. */
export function problemJson(err: ApiError): string {
  return JSON.stringify({
    type: `about:blank#${err.code}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...err.extra,
  });
}

export function sendProblem(res: Response, err: ApiError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  for (const name of SUCCESS_ONLY_HEADERS) res.removeHeader(name);
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.setHeader("Cache-Control", "no-store");
  res.status(err.status).type("application/problem+json").send(problemJson(err));
}

/**
 * A whole HTTP/1.1 response as bytes, for the places where no Express response exists: protocol
 * errors (`clientError`) and connections refused before any request was read.
 */
export function rawProblem(err: ApiError): string {
  const body = problemJson(err);
  const reason = { 400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large", 503: "Service Unavailable" }[err.status] ?? "Error";
  const headers = [
    `HTTP/1.1 ${err.status} ${reason}`,
    "Content-Type: application/problem+json",
    "Cache-Control: no-store",
    "Connection: close",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(err.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${headers.join("\r\n")}\r\n\r\n${body}`;
}

const CLIENT_GONE_CODES = new Set(["ERR_STREAM_PREMATURE_CLOSE", "ECONNRESET", "EPIPE", "ERR_STREAM_DESTROYED", "ECONNABORTED"]);

/** Errors that only say the client closed the connection (mid-download, say). */
export function isClientGone(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && CLIENT_GONE_CODES.has(code);
}

/** Maps multer's errors (limits, unexpected fields, broken streams) to our codes. */
function fromMulter(err: multer.MulterError, maxUploadBytes: number): ApiError {
  switch (err.code) {
    case "LIMIT_FILE_SIZE":
      return tooLarge(`The upload is larger than the ${maxUploadBytes}-byte limit (MAX_UPLOAD_BYTES).`);
    case "LIMIT_UNEXPECTED_FILE":
      return badRequest(`Unexpected file field "${err.field ?? ""}": send exactly one file, in the field "file".`);
    default:
      return badRequest(`Malformed multipart upload: ${err.message}${err.field ? ` (field "${err.field}")` : ""}.`);
  }
}

export function errorHandler(log: ErrorLogger, maxUploadBytes: number): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const gone = res.destroyed || req.socket.destroyed;
    if (isClientGone(err) || (gone && !(err instanceof ApiError))) {
      log.debug?.({ method: req.method, url: req.path, code: (err as { code?: unknown }).code }, "client closed the connection");
      res.destroy();
      return;
    }
    let problem: ApiError;
    if (err instanceof ApiError) problem = err;
    else if (isDiskFull(err)) problem = diskFull();
    else if (err instanceof multer.MulterError) problem = fromMulter(err, maxUploadBytes);
    else if (isBodyParserError(err)) problem = fromBodyParser(err);
    else if (isAbortedUpload(err)) problem = badRequest("The upload was cut off before it was complete.");
    else if (err instanceof URIError) problem = badRequest("The URL's path is not valid percent-encoding: a % must start an encoded UTF-8 byte such as %20 (%25 for a % itself).");
    else if (isClientHttpError(err)) problem = fromClientHttpError(err);
    else {
      log.error({ err: logSafeError(err), method: req.method, route: routePattern(req) }, "unhandled error");
      problem = new ApiError(500, "INTERNAL", "An unexpected error occurred; it has been logged.");
    }
    sendProblem(res, problem);
  };
}

/**
 * An unexpected error as it may be logged: its class, code and stack frames, and its message with
 * quoted and bracketed runs (where Polars and Node put values: `'abc'`, `["x", …]`) replaced by `…`,
 * so that no cell value, name or path from user data reaches the logs (README: security notes).
 */
export function logSafeError(err: unknown): { type: string; code?: string; message: string; stack?: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const frames = e.stack?.split("\n").filter((line) => /^\s+at /.test(line)).join("\n");
  return {
    type: e.name,
    ...(typeof code === "string" || typeof code === "number" ? { code: String(code) } : {}),
    message: scrubMessage(e.message),
    ...(frames ? { stack: frames } : {}),
  };
}

/** The matched route's pattern (`/api/datasets/:id`), never the URL, as the request log does. */
function routePattern(req: { baseUrl: string; route?: { path?: unknown } }): string {
  return `${req.baseUrl}${typeof req.route?.path === "string" ? req.route.path : ""}`;
}

function scrubMessage(message: string): string {
  const scrubbed = message
    .replace(/\[[^\]]*\]?/g, "[…]")
    .replace(/'[^']*'?|"[^"]*"?|`[^`]*`?/g, "…")
    .replace(/\d{4,}/g, "#");
  return scrubbed.length > 300 ? `${scrubbed.slice(0, 300)}…` : scrubbed;
}

/** Unknown routes: 404 problem+json rather than Express's HTML page (the path as the client sent it, without the query). */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, "NOT_FOUND", `No route for ${req.method} ${req.baseUrl}${req.path}.`));
};

interface BodyParserError {
  status: number;
  type: string;
  charset?: string;
  encoding?: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === "object" && err !== null && "type" in err && typeof (err as { type: unknown }).type === "string" && "status" in err;
}

/** body-parser's errors (express.json) in our words; its `type` names the case. */
function fromBodyParser(err: BodyParserError): ApiError {
  switch (err.type) {
    case "entity.too.large":
      return tooLarge("The request body is too large (JSON bodies are at most 64 KiB).");
    case "entity.parse.failed":
      return badRequest("The request body could not be read: invalid JSON.");
    case "charset.unsupported":
      return new ApiError(415, "UNSUPPORTED_FORMAT", `The request body's charset ${JSON.stringify(String(err.charset ?? "").slice(0, 40))} is not supported: send JSON as UTF-8.`);
    case "encoding.unsupported":
      return new ApiError(415, "UNSUPPORTED_FORMAT", `The request body's Content-Encoding ${JSON.stringify(String(err.encoding ?? "").slice(0, 40))} is not supported: send it as identity, gzip, deflate or br.`);
    case "request.size.invalid":
    case "request.aborted":
      return badRequest("The request body did not match its Content-Length, or was cut off before it was complete.");
    default:
      return err.status === 413 ? tooLarge("The request body is too large.") : badRequest("The request body could not be read.");
  }
}

/** An error of the http-errors kind (Express, body-parser, zlib via body-parser) that is the client's: a 4xx it marks as safe to show. */
function isClientHttpError(err: unknown): err is { status: number; code?: unknown } {
  if (typeof err !== "object" || err === null) return false;
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === "number" && status >= 400 && status < 500 && (err as { expose?: unknown }).expose !== false;
}

function fromClientHttpError(err: { status: number; code?: unknown }): ApiError {
  const status = err.status;
  // a compressed body that does not decompress (body-parser passes zlib's error on as a 400)
  if (typeof err.code === "string" && err.code.startsWith("Z_")) return badRequest("The request body could not be decompressed: it does not match its Content-Encoding.");
  if (status === 413) return tooLarge("The request body is too large.");
  if (status === 415) return new ApiError(415, "UNSUPPORTED_FORMAT", "The request body's media type or encoding is not supported.");
  if (status === 404) return new ApiError(404, "NOT_FOUND", "Not found.");
  return badRequest("The request is not valid.");
}

function isAbortedUpload(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : "";
  return /Unexpected end of form|Request aborted|Request closed|Malformed part header|Multipart: Boundary not found/i.test(msg);
}
