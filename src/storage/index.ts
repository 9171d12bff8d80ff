/** The one switch on STORAGE_BACKEND. */
import type { Config } from "../config.ts";
import { createLocalStorage } from "./local.ts";
import { createMemoryStorage } from "./memory.ts";
import type { Storage } from "./types.ts";

export async function createStorage(config: Config): Promise<Storage> {
  switch (config.storageBackend) {
    case "memory":
      return createMemoryStorage({ budgetBytes: config.memoryBudgetBytes });
    case "local":
      return createLocalStorage({ dataDir: config.dataDir, budgetBytes: config.memoryBudgetBytes });
    default: {
      const never: never = config.storageBackend;
      throw new Error(`unknown storage backend ${String(never)}`);
    }
  }
}
