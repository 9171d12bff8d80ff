/**
 * The hello-world baseline: a bare Express 5 app, run as its own process with the same Node as
 * the server (`PORT=<n> node bench/hello.ts`). It has none of the service's middleware, so the
 * page benchmark's ratio against it is "what the service costs on top of Express itself".
 */
import express from "express";

const app = express();
app.get("/hello", (_req, res) => {
  res.json({ hello: "world" });
});
app.get("/api/health", (_req, res) => {
  res.json({ status: "ok" });
});
const port = Number(process.env.PORT ?? 0);
const server = app.listen(port, "127.0.0.1", () => {
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${actual}` }));
});
// The harness kills this process; SIGTERM closes the listener so the exit is clean.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
