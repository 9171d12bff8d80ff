/**
 * Bearer-token auth for /api when API_TOKENS is set: `read` tokens may only read, `write`
 * tokens may do everything. Tokens are compared in constant time and never logged.
 *
 * Guessing is rate limited per client: after AUTH_FAILURES_PER_WINDOW invalid tokens within
 * RATE_LIMIT_WINDOW_MS, every request of that client that carries a token is answered 429 with
 * Retry-After until the window ends — without comparing the token, so a blocked client learns
 * nothing about its guesses (a correct one is refused like the others).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler } from "express";
import type { Role } from "../config.ts";
import { ApiError } from "../errors.ts";
import { clientAddress } from "./connections.ts";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** POST routes (under /api) that only read: SQL queries send their text in a body. */
const READ_ONLY_POSTS = new Set(["/sql", "/sql/download"]);

/** Whether a request only reads (for roles and rate limits). */
export function isReadRequest(req: Request): boolean {
  return READ_METHODS.has(req.method) || (req.method === "POST" && READ_ONLY_POSTS.has(req.path));
}
const REALM = 'Bearer realm="dataset-service"';
/** Clients remembered at once; past it, expired entries are dropped first. */
const MAX_TRACKED = 10_000;

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

export interface GuessLimit {
  windowMs: number;
  /** Invalid tokens allowed per window and client (0 = unlimited). */
  maxFailures: number;
  /** Told of each failed attempt (never the token). */
  onFailure?: (client: string, failures: number) => void;
  /**
   * Failed attempts by client. Give every guard of one server the same ledger (`new Map()`), so
   * guesses against `/api` and `/metrics` count together; by default each guard keeps its own.
   */
  ledger?: Map<string, Failures>;
}

export interface Failures {
  count: number;
  resetAt: number;
}

export function requireToken(tokens: ReadonlyMap<string, Role> | null, guesses: GuessLimit = { windowMs: 60_000, maxFailures: 0 }): RequestHandler {
  if (!tokens) return (_req, _res, next) => next();
  const known = [...tokens].map(([token, role]) => ({ hash: digest(token), role }));
  const failures = guesses.ledger ?? new Map<string, Failures>();

  const blockedFor = (client: string, now: number): number => {
    const f = failures.get(client);
    if (!f) return 0;
    if (f.resetAt <= now) {
      failures.delete(client);
      return 0;
    }
    return guesses.maxFailures > 0 && f.count >= guesses.maxFailures ? f.resetAt - now : 0;
  };

  const fail = (client: string, now: number) => {
    if (failures.size >= MAX_TRACKED) {
      for (const [k, f] of failures) if (f.resetAt <= now) failures.delete(k);
      if (failures.size >= MAX_TRACKED) failures.delete(failures.keys().next().value as string);
    }
    const f = failures.get(client) ?? { count: 0, resetAt: now + guesses.windowMs };
    f.count += 1;
    failures.set(client, f);
    guesses.onFailure?.(client, f.count);
  };

  return (req, _res, next) => {
    const header = req.get("Authorization") ?? "";
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError(401, "UNAUTHORIZED", "This API needs a bearer token: send Authorization: Bearer <token>.", {}, { "WWW-Authenticate": REALM });
    }
    const client = clientAddress(req.socket);
    const now = Date.now();
    const waitMs = blockedFor(client, now);
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError(429, "RATE_LIMITED", `Too many invalid tokens from this client (AUTH_FAILURES_PER_WINDOW is ${guesses.maxFailures}); retry after ${retryAfter} s.`, {}, { "Retry-After": String(retryAfter) });
    }
    const presented = digest(match[1]);
    let role: Role | undefined;
    // Compare against every token so timing does not reveal which (if any) matched.
    for (const k of known) if (timingSafeEqual(k.hash, presented)) role = k.role;
    if (!role) {
      fail(client, now);
      throw new ApiError(401, "UNAUTHORIZED", "The bearer token is not valid.", {}, { "WWW-Authenticate": `${REALM}, error="invalid_token"` });
    }
    if (role === "read" && !isReadRequest(req)) {
      throw new ApiError(403, "FORBIDDEN", "This token may only read; changing data needs a token with role write.", {}, { "WWW-Authenticate": `${REALM}, error="insufficient_scope"` });
    }
    next();
  };
}
