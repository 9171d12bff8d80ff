import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers and child processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // nodejs-polars' wrappers made cheap before it loads, as the server's processes run it (src/polars-fast.ts)
    execArgv: ["--import", "./src/polars-fast.ts"],
    // A real PostgreSQL and a real S3-compatible server (s3rver) for the postgres backend's tests.
    globalSetup: ["test/helpers/postgres.ts", "test/helpers/s3.ts"],
  },
});
