import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig, SETTINGS } from "../src/config.ts";

describe("configuration", () => {
  it("has defaults for everything, memory backend first", () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({ storageBackend: "memory", port: 3000, host: "127.0.0.1", maxUploadBytes: 1024 ** 3, maxColumns: 2000, maxRows: 100_000_000, parseTimeoutMs: 120_000, parseMemoryMb: 4096, apiTokens: null });
    expect(c.memoryBudgetBytes).toBeGreaterThan(0);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("fails at start-up naming the variable of a bad value", () => {
    expect(() => loadConfig({}, { STORAGE_BACKEND: "s3" })).toThrow(/STORAGE_BACKEND/);
    expect(() => loadConfig({}, { PORT: "http" })).toThrow(/PORT/);
    expect(() => loadConfig({}, { MAX_UPLOAD_BYTES: "-1" })).toThrow(/MAX_UPLOAD_BYTES/);
    expect(() => loadConfig({}, { API_TOKENS: "abc:admin" })).toThrow(/API_TOKENS.*role/);
  });

  it("lets the headers deadline follow a smaller request deadline unless it was set (QA Q19)", () => {
    expect(loadConfig({}, { REQUEST_TIMEOUT_MS: "3000" }).headersTimeoutMs).toBe(3000);
    expect(loadConfig({}, {}).headersTimeoutMs).toBe(20000);
    expect(() => loadConfig({}, { REQUEST_TIMEOUT_MS: "3000", HEADERS_TIMEOUT_MS: "5000" })).toThrow(/HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS/);
  });

  it("never echoes a token in a configuration error", () => {
    try {
      loadConfig({}, { API_TOKENS: "s3cr3t-token" });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain("s3cr3t");
    }
  });

  it("parses API_TOKENS into roles", () => {
    const c = loadConfig({}, { API_TOKENS: "r1:read, w1:write" });
    expect([...(c.apiTokens ?? [])]).toEqual([["r1", "read"], ["w1", "write"]]);
  });

  it("documents every setting in the README's configuration table and in .env.memory", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const template = readFileSync(new URL("../.env.memory", import.meta.url), "utf8");
    for (const s of SETTINGS) {
      expect(readme, `README.md documents ${s.env}`).toMatch(new RegExp(`^\\| \`${s.env}\` \\|`, "m"));
      expect(template, `.env.memory shows ${s.env}`).toContain(`${s.env}=`);
    }
  });
});
