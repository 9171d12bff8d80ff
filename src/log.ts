/** Structured JSON logs (pino). Never log file contents, tokens or query values. */
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ["req.headers.authorization", "headers.authorization", "*.authorization"], censor: "[redacted]" },
  });
}
