/**
 * The HTTP server around the Express app, with the rules that keep it from being held open,
 * exhausted or confused by clients (used by src/server.ts and by the tests, so both run alike):
 *
 * - **Deadlines.** Headers must arrive within HEADERS_TIMEOUT_MS and a whole request within
 *   REQUEST_TIMEOUT_MS (408 REQUEST_TIMEOUT); an idle keep-alive connection is closed after
 *   KEEP_ALIVE_TIMEOUT_MS; a connection on which nothing moves for IDLE_TIMEOUT_MS while a body
 *   is arriving (a stalled uploader) or a response is going out (a client that stopped reading)
 *   is closed. The server's own work time (a parse, a query) never counts as idle: those have
 *   their own deadlines.
 * - **Connection caps.** At most MAX_CONNECTIONS open connections (by default half the
 *   open-file limit, so the process keeps descriptors for its own files), at most
 *   MAX_CONNECTIONS_PER_CLIENT per IP address. A connection over a cap gets one problem+json
 *   answer (503 BUSY or 429 RATE_LIMITED, with Retry-After) and is closed; no request on it
 *   reaches the app.
 * - **Protocol errors in our words.** What Node's parser refuses (a request head over
 *   MAX_HEADER_BYTES, malformed requests, timeouts) is answered as problem+json (431, 400, 408)
 *   instead of a bare status line.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { Express } from "express";
import type { Config } from "../config.ts";
import { ApiError, badRequest } from "../errors.ts";
import type { Logger } from "../log.ts";
import { problemJson, rawProblem } from "./problem.ts";

type Limits = Pick<Config, "requestTimeoutMs" | "headersTimeoutMs" | "keepAliveTimeoutMs" | "idleTimeoutMs" | "maxConnections" | "maxConnectionsPerClient" | "maxHeaderBytes">;

/** How long a refused connection (or one answered before its body arrived) may stay open to read its answer. */
const REFUSED_LINGER_MS = 1000;
const REFUSED = Symbol("connection refused");

const ANSWERED_EARLY = Symbol("answered before the body arrived");

interface TrackedSocket extends Socket {
  [REFUSED]?: ApiError;
  /** A response was sent before its request's body had fully arrived (an early error). */
  [ANSWERED_EARLY]?: boolean;
}

/** The client a connection or request counts against: its IP address (IPv4-mapped IPv6 as IPv4). */
export function clientAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? "unknown";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

export const requestTimedOut = (ms: number) =>
  new ApiError(408, "REQUEST_TIMEOUT", `The request did not arrive completely within ${Math.round(ms / 1000)} s (REQUEST_TIMEOUT_MS / HEADERS_TIMEOUT_MS, or no byte for IDLE_TIMEOUT_MS); the connection is closed and nothing was stored.`);

/** The problem for an error Node's HTTP parser raised on a connection. */
function protocolProblem(err: NodeJS.ErrnoException, limits: Limits): ApiError {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return new ApiError(
        431,
        "HEADERS_TOO_LARGE",
        `The request's URL and headers together are larger than the server accepts (${limits.maxHeaderBytes.toLocaleString("en")} bytes, MAX_HEADER_BYTES); send a shorter URL (fewer filter values) or fewer or shorter headers.`,
        { limitBytes: limits.maxHeaderBytes },
      );
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return new ApiError(413, "FILE_TOO_LARGE", "The request's chunk extensions are too large.");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return requestTimedOut(limits.requestTimeoutMs);
    default:
      return badRequest(`The request is not valid HTTP/1.1 (${err.code ?? "parse error"}); check the request line, headers and body framing.`);
  }
}

/** Writes a raw problem answer (when no response has started) and closes the connection. */
function answerAndClose(socket: TrackedSocket, problem: ApiError): void {
  const res = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (socket.writable && !res?.headersSent && !socket[ANSWERED_EARLY]) {
    // the in-flight response (if any) must not write after us
    if (res) (res as { _headerSent?: boolean })._headerSent = true;
    socket.end(rawProblem(problem));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  } else {
    socket.destroy();
  }
}

/** Creates the HTTP server for `app` with every limit above applied (not listening yet). */
export function createHttpServer(app: Express, limits: Limits, logger: Pick<Logger, "warn" | "debug">): http.Server {
  const perClient = new Map<string, number>();
  let open = 0;

  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // long filter URLs (thousands of `in` values, percent-encoded) and their cursors fit (QA Q9)
      maxHeaderSize: limits.maxHeaderBytes,
      // how often deadlines are checked: a fraction of the shortest one (Node's default is 30 s)
      connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    },
    (req, res) => {
      const socket = req.socket as TrackedSocket;
      // An error answered before the body arrived (401, 413, 415, 429 on an upload…): the rest of
      // the body is not worth reading. The answer says `Connection: close`, so the client does not
      // send its next request on this connection (it would be cut off below, mid-request), and
      // the connection is closed shortly after, once the answer is out.
      const writeHead = res.writeHead;
      res.writeHead = function (this: http.ServerResponse, ...args: Parameters<typeof writeHead>) {
        if (!req.complete && !this.headersSent) this.setHeader("Connection", "close");
        return writeHead.apply(this, args);
      } as typeof writeHead;
      res.once("finish", () => {
        if (req.complete) return;
        socket[ANSWERED_EARLY] = true;
        setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      });
      const refused = socket[REFUSED];
      if (refused) {
        const body = problemJson(refused);
        res.writeHead(refused.status, { ...refused.headers, "Content-Type": "application/problem+json", "Cache-Control": "no-store", Connection: "close", "Content-Length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      app(req, res);
    },
  );
  // A backstop the caps above normally keep us from (refused connections linger a moment before
  // they close): beyond it Node drops connections unanswered.
  server.maxConnections = limits.maxConnections + Math.max(64, Math.floor(limits.maxConnections / 4));
  server.timeout = limits.idleTimeoutMs;

  server.prependListener("connection", (socket: TrackedSocket) => {
    const client = clientAddress(socket);
    const mine = perClient.get(client) ?? 0;
    // Only accepted connections count: a refused one is closed within REFUSED_LINGER_MS, and Node's
    // own backstop (maxConnections above) bounds how many of those can pile up.
    if (open >= limits.maxConnections) {
      socket[REFUSED] = new ApiError(503, "BUSY", `The server has its maximum of ${limits.maxConnections} connections open (MAX_CONNECTIONS); retry in a few seconds.`, {}, { "Retry-After": "5" });
    } else if (mine >= limits.maxConnectionsPerClient) {
      socket[REFUSED] = new ApiError(429, "RATE_LIMITED", `This client has ${limits.maxConnectionsPerClient} connections open already (MAX_CONNECTIONS_PER_CLIENT); reuse them or close some.`, {}, { "Retry-After": "5" });
    }
    if (socket[REFUSED]) {
      logger.debug({ client: "refused", open }, "connection refused");
      // answer it if it sends a request at once; close it either way
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    open += 1;
    perClient.set(client, mine + 1);
    socket.once("close", () => {
      open -= 1;
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client);
      else perClient.set(client, n);
    });
  });

  server.on("clientError", (err: NodeJS.ErrnoException, socket: TrackedSocket) => {
    if (err.code === "ECONNRESET" || err.code === "EPIPE" || !socket.writable) {
      socket.destroy();
      return;
    }
    logger.debug({ code: err.code }, "protocol error");
    answerAndClose(socket, protocolProblem(err, limits));
  });

  // No byte moved for IDLE_TIMEOUT_MS. Listening replaces Node's default (destroy), so we choose.
  server.on("timeout", (socket: TrackedSocket) => {
    const req = (socket as { parser?: { incoming?: http.IncomingMessage } }).parser?.incoming;
    const res = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
    if (req && !req.complete) answerAndClose(socket, requestTimedOut(limits.idleTimeoutMs)); // stalled body
    else if (!res || res.headersSent) socket.destroy(); // idle, or a client that stopped reading
    // else: the server is still working on the answer; its own deadlines bound that
  });

  return server;
}

/** Listens on `port`/`host`; resolves with the bound port. */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
