/** The one switch on STORAGE_BACKEND. */
import os from "node:os";
import path from "node:path";
import type { Config } from "../config.ts";
import type { QueryWorkers } from "../sandbox/queries.ts";
import { createLocalStorage } from "./local.ts";
import { createMemoryStorage } from "./memory.ts";
import type { Storage } from "./types.ts";

export interface StorageDeps {
  /** Proves data files written by an earlier build before they are served (local layout 1). */
  queries?: Pick<QueryWorkers, "run">;
}

export async function createStorage(config: Config, deps: StorageDeps = {}): Promise<Storage> {
  switch (config.storageBackend) {
    case "memory":
      // the query workers' copies of the versions' data files, in a folder of this process
      return createMemoryStorage({ budgetBytes: config.memoryBudgetBytes, filesDir: path.join(os.tmpdir(), "dataset-service-memory") });
    case "local": {
      const queries = deps.queries;
      return createLocalStorage({
        dataDir: config.dataDir,
        budgetBytes: config.memoryBudgetBytes,
        prove: queries ? (file) => queries.run("proveStored", { file }, { client: "storage" }) : undefined,
      });
    }
    default: {
      const never: never = config.storageBackend;
      throw new Error(`unknown storage backend ${String(never)}`);
    }
  }
}
