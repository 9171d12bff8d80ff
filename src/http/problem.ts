/**
 * The one place errors become responses: RFC 9457 problem+json. Unknown errors are logged
 * and answered with a bare 500 that carries no internal text.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import multer from "multer";
import { ApiError, badRequest, tooLarge } from "../errors.ts";

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

export function sendProblem(res: Response, err: ApiError): void {
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res
    .status(err.status)
    .type("application/problem+json")
    .send(
      JSON.stringify({
        type: `about:blank#${err.code}`,
        title: err.title,
        status: err.status,
        detail: err.message,
        code: err.code,
        ...err.extra,
      }),
    );
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
    let problem: ApiError;
    if (err instanceof ApiError) problem = err;
    else if (err instanceof multer.MulterError) problem = fromMulter(err, maxUploadBytes);
    else if (isBodyParserError(err)) problem = err.status === 413 ? tooLarge("The request body is too large.") : badRequest(`The request body could not be read: ${err.type === "entity.parse.failed" ? "invalid JSON" : err.type}.`);
    else if (isAbortedUpload(err)) problem = badRequest("The upload was cut off before it was complete.");
    else {
      log.error({ err, method: req.method, url: req.originalUrl }, "unhandled error");
      problem = new ApiError(500, "INTERNAL", "An unexpected error occurred; it has been logged.");
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, problem);
  };
}

/** Unknown routes: 404 problem+json rather than Express's HTML page. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, "NOT_FOUND", `No route for ${req.method} ${req.path}.`));
};

function isBodyParserError(err: unknown): err is { status: number; type: string } {
  return typeof err === "object" && err !== null && "type" in err && typeof (err as { type: unknown }).type === "string" && "status" in err;
}

function isAbortedUpload(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : "";
  return /Unexpected end of form|Request aborted|Malformed part header|Multipart: Boundary not found/i.test(msg);
}
