/**
 * Who a request comes from, as the pools' fair queues see it: with API_TOKENS set, the bearer
 * token that passed auth (hashed, so no secret is kept); otherwise the peer's address (a token
 * then proves nothing, so it cannot be used to pose as many clients).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";

type Req = Pick<IncomingMessage, "headers" | "socket">;

const known = new WeakMap<object, string>();

function addressOf(req: Req): string {
  return `ip:${req.socket.remoteAddress ?? "unknown"}`;
}

/** Middleware (after auth): remembers each request's client key. */
export function identifyClients(tokensChecked: boolean): RequestHandler {
  return (req, _res, next) => {
    const auth = req.headers.authorization;
    const token = tokensChecked && typeof auth === "string" ? auth.replace(/^Bearer\s+/i, "").trim() : "";
    known.set(req, token !== "" ? `token:${createHash("sha256").update(token).digest("hex").slice(0, 16)}` : addressOf(req));
    next();
  };
}

export function clientKey(req: Req): string {
  return known.get(req) ?? addressOf(req);
}
