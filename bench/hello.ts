/**
 * The hello-world baseline: a bare Express 5 app, run as its own process with the same Node as
 * the server (`PORT=<n> node bench/hello.ts`). It has none of the service's middleware, so the
 * page benchmark's ratio against it is "what the service costs on top of Express itself".
 */
import { readFileSync } from "node:fs";
import express from "express";

const app = express();
app.get("/hello", (_req, res) => {
  res.json({ hello: "world" });
});
// A page-sized body (BODY_FILE: the bytes of a real page, bench/pages.ts): what sending them costs.
const body = process.env.BODY_FILE ? readFileSync(process.env.BODY_FILE) : Buffer.from("{}");
app.get("/body", (_req, res) => {
  res.type("application/json").send(body);
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
