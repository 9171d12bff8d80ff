/** Entry point: read config, open storage, listen, and shut down cleanly on SIGTERM/SIGINT. */
import type { Server } from "node:http";
import { loadDemo } from "../scripts/demo.ts";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { prepareUploadDir } from "./http/upload.ts";
import { createLogger } from "./log.ts";
import { createParser } from "./sandbox/parser.ts";
import { createStorage } from "./storage/index.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  prepareUploadDir(config.uploadDir);
  const storage = await createStorage(config);
  const parser = createParser(config);
  parser.warm();
  const app = createApp({ config, storage, logger, parser });
  const server: Server = app.listen(config.port, config.host);
  server.requestTimeout = 0; // large uploads may take a while; parse limits bound the work instead
  server.once("listening", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, backend: storage.name, auth: config.apiTokens ? "bearer tokens" : "open (API_TOKENS unset)" }, "listening");
    if (config.demo) {
      const writer = [...(config.apiTokens ?? new Map<string, string>()).entries()].find(([, role]) => role === "write")?.[0];
      loadDemo(url, writer ? { Authorization: `Bearer ${writer}` } : {}).then(
        (names) => logger.info({ datasets: names }, names.length > 0 ? "demo datasets loaded" : "demo datasets already present"),
        (err: unknown) => logger.error({ err }, "loading the demo datasets failed"),
      );
    }
  });
  server.once("error", (err) => {
    logger.fatal({ err }, "could not listen");
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
    const deadline = setTimeout(() => {
      logger.warn("grace period over; closing remaining connections");
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    deadline.unref();
    server.close(() => {
      void Promise.allSettled([parser.close(), storage.close()]).finally(() => {
        prepareUploadDir(config.uploadDir, { includeOwn: true });
        logger.info("stopped");
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
