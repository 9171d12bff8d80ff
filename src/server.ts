/** Entry point: read config, open storage, listen, and shut down cleanly on SIGTERM/SIGINT. */
import { loadDemo } from "../scripts/demo.ts";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { createHttpServer } from "./http/connections.ts";
import { prepareUploadDir } from "./http/upload.ts";
import { createLogger } from "./log.ts";
import { releaseSoon } from "./native-memory.ts";
import { createParser } from "./sandbox/parser.ts";
import { createQueryWorkers } from "./sandbox/queries.ts";
import { createSpool } from "./spool.ts";
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
  // At start-up nothing of this process exists yet: files with our pid are an earlier process's.
  prepareUploadDir(config.uploadDir, { includeOwn: true });
  const queries = createQueryWorkers(config);
  const storage = await createStorage(config, { queries });
  const parser = createParser(config);
  parser.warm();
  queries.warm();
  const spool = createSpool({ dir: config.spoolDir, budgetBytes: config.spoolBudgetBytes });
  const app = createApp({ config, storage, logger, parser, queries, spool });
  const server = createHttpServer(app, config, logger);
  server.listen(config.port, config.host);
  server.once("listening", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, backend: storage.name, auth: config.apiTokens ? "bearer tokens" : "open (API_TOKENS unset)" }, "listening");
    releaseSoon(); // start-up garbage (~15–20 MB of heap from loading every module) goes now, not at the first upload
    if (config.demo) {
      // the demo datasets go in through the public API, like any client's uploads
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
      void Promise.allSettled([parser.close(), queries.close(), storage.close(), spool.close()]).finally(() => {
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
