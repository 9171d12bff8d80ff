/**
 * One log line per request: method, route, status, duration, bytes, request id. No bodies, no
 * tokens, no query values (the route is the matched pattern, never the URL).
 *
 * A request whose client went away before the answer was complete (a download closed mid-way,
 * a page abandoned) is not an error: it gets its one line at info level with `aborted: true`.
 */
import { randomUUID } from "node:crypto";
import type { Request, RequestHandler } from "express";
import type { Logger } from "../log.ts";

/**
 * The matched route pattern with its router's mount path (`/api/datasets/:datasetId`). Express
 * restores `req.baseUrl` when a request leaves a router (an error handled at the app level), so
 * the mount path is taken when the route is set.
 */
function trackRoute(req: Request): () => string {
  let route: unknown = req.route;
  let pattern: string | undefined;
  Object.defineProperty(req, "route", {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (path !== undefined) pattern = `${req.baseUrl}${String(path)}`;
    },
  });
  return () => pattern ?? "unmatched";
}

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get("X-Request-Id");
    const id = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", id);
    const route = trackRoute(req);
    const line = () => ({
      reqId: id,
      method: req.method,
      route: route(),
      status: res.statusCode,
      durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      bytes: Number(res.getHeader("Content-Length") ?? 0),
      // uploads: ms per ingest stage (src/timing.ts)
      ...(res.locals.stages ? { stages: res.locals.stages as unknown } : {}),
    });
    // the line is built only when it is written (LOG_LEVEL above info: never)
    res.once("finish", () => {
      if (logger.isLevelEnabled("info")) logger.info(line(), "request");
    });
    res.once("close", () => {
      if (res.writableFinished) return;
      // the connection closed first (the client left, or a deadline cut it): the status we had begun to send, if any
      logger.info({ ...line(), status: res.headersSent ? res.statusCode : null, aborted: true }, "request aborted");
    });
    next();
  };
}
