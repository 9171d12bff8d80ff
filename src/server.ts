/** Entry point: read config, open storage, listen, and shut down cleanly on SIGTERM/SIGINT. */
import type { Server } from "node:http";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { prepareUploadDir } from "./http/upload.ts";
import { createLogger } from "./log.ts";
import { createParser } from "./sandbox/parser.ts";
import { createQueryWorkers } from "./sandbox/queries.ts";
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
  const queries = createQueryWorkers(config);
  const storage = await createStorage(config, { queries });
  const parser = createParser(config);
  parser.warm();
  queries.warm();
  const app = createApp({ config, storage, logger, parser, queries });
  const server: Server = app.listen(config.port, config.host);
  server.requestTimeout = 0; // large uploads may take a while; parse limits bound the work instead
  server.once("listening", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    logger.info({ url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`, backend: storage.name, auth: config.apiTokens ? "bearer tokens" : "open (API_TOKENS unset)" }, "listening");
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
      void Promise.allSettled([parser.close(), queries.close(), storage.close()]).finally(() => {
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
