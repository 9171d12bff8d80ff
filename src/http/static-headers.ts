/**
 * A header-only middleware (helmet's) turned into one that sets the same headers from a list made
 * once. helmet runs a chain of eleven middlewares per request (~15 µs on this machine, a tenth of
 * a cached page); with our options every header it sets is the same on every response, so they
 * are captured at start-up by running it once on a stand-in response.
 *
 * Refuses (throws at start-up) a middleware that does anything but set or remove headers and call
 * `next()` synchronously, so a helmet upgrade that starts varying headers per request is noticed.
 */
import type { RequestHandler } from "express";

export function staticHeaders(middleware: RequestHandler): RequestHandler {
  const set = new Map<string, string | number | readonly string[]>();
  const removed = new Set<string>();
  let called = false;
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set.set(name, value);
      removed.delete(name.toLowerCase());
      return res;
    },
    removeHeader(name: string) {
      set.delete(name);
      removed.add(name.toLowerCase());
    },
  };
  const req = { method: "GET", url: "/", headers: {} };
  middleware(req as never, res as never, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    called = true;
  });
  if (!called) throw new Error("staticHeaders: the middleware did not call next() synchronously");
  const headers = [...set];
  const remove = [...removed];
  return (_req, response, next) => {
    for (const name of remove) response.removeHeader(name);
    for (const [name, value] of headers) response.setHeader(name, value);
    next();
  };
}
