/** CORS for browser clients on other origins, allowed by CORS_ORIGINS (`*` for any). */
import type { RequestHandler } from "express";

const EXPOSED = "ETag, Link, Location, Retry-After, X-Request-Id, Content-Disposition, RateLimit, RateLimit-Policy";

export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get("Origin");
    if (origin && (any || allowed.has(origin))) {
      res.setHeader("Access-Control-Allow-Origin", any ? "*" : origin);
      res.setHeader("Access-Control-Expose-Headers", EXPOSED);
      if (req.method === "OPTIONS" && req.get("Access-Control-Request-Method")) {
        res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, PATCH, DELETE, OPTIONS");
        res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, If-None-Match, X-Request-Id");
        res.setHeader("Access-Control-Max-Age", "600");
        res.status(204).end();
        return;
      }
    }
    // res.vary parses the header it extends; on the usual response there is none yet
    if (!any) {
      if (res.getHeader("Vary") === undefined) res.setHeader("Vary", "Origin");
      else res.vary("Origin");
    }
    next();
  };
}
