/**
 * Who a request comes from, as the pools' fair queues see it: the bearer token when there is one
 * (hashed, so no secret is kept in memory longer than the request), else the peer's address.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";

export function clientKey(req: Pick<IncomingMessage, "headers" | "socket">): string {
  const auth = req.headers.authorization;
  const token = typeof auth === "string" && /^Bearer\s+\S/i.test(auth) ? auth.replace(/^Bearer\s+/i, "").trim() : "";
  if (token !== "") return `token:${createHash("sha256").update(token).digest("hex").slice(0, 16)}`;
  return `ip:${req.socket.remoteAddress ?? "unknown"}`;
}
