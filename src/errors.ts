/**
 * One error class for everything a client is told. Handlers and modules throw `ApiError`;
 * the error middleware (http/problem.ts) turns it into RFC 9457 problem+json.
 */

export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "NAME_TAKEN"
  | "FILE_TOO_LARGE"
  | "UNSUPPORTED_FORMAT"
  | "UNPARSEABLE_FILE"
  | "PARSE_LIMIT"
  | "QUERY_LIMIT"
  | "VERSION_DAMAGED"
  | "INVALID_ARCHIVE"
  | "RATE_LIMITED"
  | "BUSY"
  | "STORAGE_FULL"
  | "REQUEST_TIMEOUT"
  | "HEADERS_TOO_LARGE"
  | "INTERNAL";

const TITLES: Record<ErrorCode, string> = {
  BAD_REQUEST: "Bad request",
  UNAUTHORIZED: "Unauthorized",
  FORBIDDEN: "Forbidden",
  NOT_FOUND: "Not found",
  METHOD_NOT_ALLOWED: "Method not allowed",
  NAME_TAKEN: "Name taken",
  FILE_TOO_LARGE: "File too large",
  UNSUPPORTED_FORMAT: "Unsupported format",
  UNPARSEABLE_FILE: "Unparseable file",
  PARSE_LIMIT: "Parse limit exceeded",
  QUERY_LIMIT: "Query limit exceeded",
  VERSION_DAMAGED: "Version damaged",
  INVALID_ARCHIVE: "Invalid archive",
  RATE_LIMITED: "Too many requests",
  BUSY: "Busy",
  STORAGE_FULL: "Storage full",
  REQUEST_TIMEOUT: "Request timeout",
  HEADERS_TOO_LARGE: "Request headers too large",
  INTERNAL: "Internal server error",
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(status: number, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }

  get title(): string {
    return TITLES[this.code];
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new ApiError(400, "BAD_REQUEST", detail, extra);
export const notFound = (detail: string) => new ApiError(404, "NOT_FOUND", detail);
export const nameTaken = (name: string, datasetId: string) =>
  new ApiError(409, "NAME_TAKEN", `A dataset named "${name}" already exists.`, { datasetId });
export const tooLarge = (detail: string) => new ApiError(413, "FILE_TOO_LARGE", detail);
export const unsupported = (detail: string) => new ApiError(415, "UNSUPPORTED_FORMAT", detail);
export const unparseable = (detail: string, extra?: Record<string, unknown>) => new ApiError(422, "UNPARSEABLE_FILE", detail, extra);
export const parseLimit = (detail: string) => new ApiError(422, "PARSE_LIMIT", detail);
export const queryLimit = (detail: string) => new ApiError(422, "QUERY_LIMIT", detail);
/** A stored version whose data file is missing or fails its checksum: never served, kept for a person to inspect. */
export const versionDamaged = (detail: string, extra?: Record<string, unknown>) => new ApiError(410, "VERSION_DAMAGED", detail, extra);
/** An import archive that is damaged, truncated, edited or not ours: nothing of it is stored. */
export const invalidArchive = (detail: string, extra?: Record<string, unknown>) => new ApiError(422, "INVALID_ARCHIVE", detail, extra);
export const busy = (retryAfterSeconds: number) =>
  new ApiError(503, "BUSY", `Every parser is busy; retry in ${retryAfterSeconds} s.`, {}, { "Retry-After": String(retryAfterSeconds) });
export const storageFull = (detail: string) => new ApiError(507, "STORAGE_FULL", detail);

/**
 * Parser messages can be huge (polars has produced a 63 MB one) and can carry file-system
 * paths; clients get a short excerpt with paths removed.
 */
export function excerpt(message: string, max = 300): string {
  const firstLines = message.replace(/\r/g, "").split("\n").filter((l) => l.trim() !== "").slice(0, 3).join(" ");
  const noPaths = firstLines.replace(/(?:\/[\w.@+-]+){2,}/g, "<file>");
  return noPaths.length > max ? `${noPaths.slice(0, max)}…` : noPaths;
}
