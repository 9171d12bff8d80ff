/** One log line per request: method, route, status, duration, bytes, request id. No bodies, no tokens, no query values. */
import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import type { Logger } from "../log.ts";

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get("X-Request-Id");
    const id = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", id);
    res.on("finish", () => {
      logger.info(
        {
          reqId: id,
          method: req.method,
          route: req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched",
          status: res.statusCode,
          durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
          bytes: Number(res.getHeader("Content-Length") ?? 0),
          // uploads: ms per ingest stage (src/timing.ts)
          ...(res.locals.stages ? { stages: res.locals.stages as unknown } : {}),
        },
        "request",
      );
    });
    next();
  };
}
