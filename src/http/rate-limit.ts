/** Per-client rate limits: uploads and other writes are limited separately from reads. */
import type { RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import { ApiError } from "../errors.ts";
import { isReadRequest } from "./auth.ts";
import { sendProblem } from "./problem.ts";


export function rateLimits(options: { windowMs: number; reads: number; writes: number }): RequestHandler[] {
  const limiter = (limit: number, kind: string, applies: (req: Parameters<typeof isReadRequest>[0]) => boolean): RequestHandler => {
    if (limit === 0) return (_req, _res, next) => next();
    return rateLimit({
      windowMs: options.windowMs,
      limit,
      standardHeaders: "draft-7",
      legacyHeaders: false,
      skip: (req) => !applies(req),
      handler: (req, res, _next, opts) => {
        const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfter = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + opts.windowMs) - Date.now()) / 1000));
        sendProblem(res, new ApiError(429, "RATE_LIMITED", `Too many ${kind} from this client: at most ${limit} per ${Math.round(opts.windowMs / 1000)} s. Retry after ${retryAfter} s.`, {}, { "Retry-After": String(retryAfter) }));
      },
    });
  };
  return [
    limiter(options.writes, "uploads and changes", (req) => !isReadRequest(req)),
    limiter(options.reads, "reads", (req) => isReadRequest(req)),
  ];
}
