/**
 * Bearer-token auth for /api when API_TOKENS is set: `read` tokens may only read, `write`
 * tokens may do everything. Tokens are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import type { Role } from "../config.ts";
import { ApiError } from "../errors.ts";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** POST routes (under /api) that only read: SQL queries send their text in a body. */
const READ_ONLY_POSTS = new Set(["/sql", "/sql/download"]);

/** Whether a request only reads (for roles and rate limits). */
export function isReadRequest(req: Request): boolean {
  return READ_METHODS.has(req.method) || (req.method === "POST" && READ_ONLY_POSTS.has(req.path));
}
const REALM = 'Bearer realm="dataset-service"';

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

export function requireToken(tokens: ReadonlyMap<string, Role> | null): RequestHandler {
  if (!tokens) return (_req, _res, next) => next();
  const known = [...tokens].map(([token, role]) => ({ hash: digest(token), role }));
  return (req, _res, next) => {
    const header = req.get("Authorization") ?? "";
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError(401, "UNAUTHORIZED", "This API needs a bearer token: send Authorization: Bearer <token>.", {}, { "WWW-Authenticate": REALM });
    }
    const presented = digest(match[1]);
    let role: Role | undefined;
    // Compare against every token so timing does not reveal which (if any) matched.
    for (const k of known) if (timingSafeEqual(k.hash, presented)) role = k.role;
    if (!role) {
      throw new ApiError(401, "UNAUTHORIZED", "The bearer token is not valid.", {}, { "WWW-Authenticate": `${REALM}, error="invalid_token"` });
    }
    if (role === "read" && !isReadRequest(req)) {
      throw new ApiError(403, "FORBIDDEN", "This token may only read; changing data needs a token with role write.", {}, { "WWW-Authenticate": `${REALM}, error="insufficient_scope"` });
    }
    next();
  };
}
