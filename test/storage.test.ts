/** The storage contract suite against every backend; the local one in a fresh temp folder each time. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLocalStorage } from "../src/storage/local.ts";
import { createMemoryStorage } from "../src/storage/memory.ts";
import { runStorageContract } from "./storage-contract.ts";

const BUDGET = 256 * 1024 * 1024;

runStorageContract("memory", async (options) => {
  const filesDir = await mkdtemp(path.join(os.tmpdir(), "storage-contract-memory-"));
  const storage = createMemoryStorage({ budgetBytes: options?.budgetBytes ?? BUDGET, filesDir });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(filesDir, { recursive: true, force: true });
    },
  };
});

runStorageContract("local", async (options) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "storage-contract-"));
  const storage = await createLocalStorage({ dataDir, budgetBytes: options?.budgetBytes ?? BUDGET });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
