/** The object store (file:// and s3:// against a real s3rver process): one suite, both kinds. */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createObjectStore, ObjectMissingError, uniqueObjectKey, type ObjectStore } from "../src/storage/object-store.ts";
import { S3_CREDENTIALS, s3TestStore } from "./helpers/s3.ts";

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

const KINDS = {
  file: async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "objects-"));
    return { store: createObjectStore(pathToFileURL(dir).href), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  s3: async () => {
    const { url, endpoint } = s3TestStore();
    return { store: createObjectStore(url, { s3: { endpoint, credentials: S3_CREDENTIALS } }), cleanup: async () => {} };
  },
};

for (const [kind, make] of Object.entries(KINDS)) {
  describe(`object store (${kind})`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let scratch: string;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
      scratch = await mkdtemp(path.join(os.tmpdir(), "objects-src-"));
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    async function put(datasetId: string, content: string | Buffer): Promise<string> {
      const file = path.join(scratch, randomUUID());
      await writeFile(file, content);
      const key = uniqueObjectKey(datasetId);
      await store.putFile(key, file);
      return key;
    }

    it("stores, stats, streams, lists and deletes objects", async () => {
      const a = randomUUID();
      const big = Buffer.alloc(40 * 1024 * 1024 + 123, 7); // past one multipart part
      big.write("tail", big.length - 4);
      const k1 = await put(a, "first ✓");
      const k2 = await put(a, big);
      const k3 = await put(randomUUID(), "");
      expect(k1).not.toBe(k2);
      expect(await store.stat(k1)).toMatchObject({ key: k1, bytes: Buffer.byteLength("first ✓") });
      expect((await store.stat(k2))?.bytes).toBe(big.length);
      expect(await text(await store.get(k1))).toBe("first ✓");
      const got = Buffer.from(await text(await store.get(k2)), "utf8");
      expect(got.length).toBe(big.length);
      expect(got.subarray(-4).toString()).toBe("tail");
      const listed = [];
      for await (const info of store.list()) listed.push(info);
      expect(listed.map((i) => i.key).sort()).toEqual([k1, k2, k3].sort());
      for (const info of listed) expect(Date.now() - info.modifiedAt.getTime()).toBeLessThan(10 * 60_000);
      await store.delete(k1);
      await store.delete(k1); // missing is fine
      expect(await store.stat(k1)).toBeNull();
      await expect(store.get(k1)).rejects.toBeInstanceOf(ObjectMissingError);
      const local = store.localPath(k2);
      if (kind === "file") expect((await readFile(local as string)).length).toBe(big.length);
      else expect(local).toBeNull();
    });

    it("refuses keys it did not make", async () => {
      for (const key of ["../etc/passwd", "datasets/x/../../y.parquet", "/abs", "datasets/a/b.parquet"]) {
        await expect(store.stat(key)).rejects.toThrow(/not an object key/);
        expect(() => store.localPath(key)).toThrow(/not an object key/);
      }
    });
  });
}
