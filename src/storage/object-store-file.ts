/**
 * `file:///shared/dir`: objects are files under the folder (typically a volume every instance
 * mounts). A file is copied to `.tmp/<writer>-<random>`, fsynced and renamed into place, so a
 * reader on any instance sees the whole object or none; the rename's folder is fsynced too.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { fsyncPath } from "./local-fs.ts";
import { checkedKey, isObjectKey, ObjectMissingError, type ObjectInfo, type ObjectStore } from "./object-store.ts";

export interface FileObjectStore extends ObjectStore {
  /** Temp files being written (or left by a writer that died), with the tag of their writer. */
  listTemp(): Promise<{ name: string; tag: string }[]>;
  removeTemp(name: string): Promise<void>;
}

const TEMP = /^([A-Za-z0-9]+)-[0-9a-f-]{36}$/;

export function createFileObjectStore(url: URL, writerTag: string): FileObjectStore {
  if (url.host !== "" && url.host !== "localhost") throw new Error(`OBJECT_STORE_URL file:// names a folder on this machine (file:///path), got "${url.href}"`);
  if (!/^[A-Za-z0-9]+$/.test(writerTag)) throw new Error(`bad writer tag ${writerTag}`);
  const root = fileURLToPath(url);
  const tmpDir = path.join(root, ".tmp");
  const fileOf = (key: string) => path.join(root, ...checkedKey(key).split("/"));
  let ready: Promise<void> | null = null;
  const ensureRoot = () => (ready ??= fs.mkdir(tmpDir, { recursive: true }).then(() => undefined));

  return {
    url: url.href,
    inPlace: true,

    async putFile(key, file) {
      await ensureRoot();
      const target = fileOf(key);
      const tmp = path.join(tmpDir, `${writerTag}-${randomUUID()}`);
      try {
        await fs.copyFile(file, tmp);
        await fsyncPath(tmp);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.rename(tmp, target);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        throw error;
      }
      await fsyncPath(path.dirname(target));
    },

    async get(key) {
      const file = fileOf(key);
      const stream: Readable = createReadStream(file);
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT" ? new ObjectMissingError(key) : error));
      });
      return stream;
    },

    localPath: fileOf,

    async stat(key) {
      try {
        const s = await fs.stat(fileOf(key));
        return { key, bytes: s.size, modifiedAt: s.mtime };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    },

    async delete(key) {
      await fs.rm(fileOf(key), { force: true });
    },

    async *list(): AsyncIterable<ObjectInfo> {
      const datasets = path.join(root, "datasets");
      for (const dir of await readdirOrEmpty(datasets)) {
        for (const name of await readdirOrEmpty(path.join(datasets, dir))) {
          const key = `datasets/${dir}/${name}`;
          if (!isObjectKey(key)) continue;
          try {
            const s = await fs.stat(path.join(datasets, dir, name));
            yield { key, bytes: s.size, modifiedAt: s.mtime };
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          }
        }
      }
    },

    async listTemp() {
      const out: { name: string; tag: string }[] = [];
      for (const name of await readdirOrEmpty(tmpDir)) {
        const tag = TEMP.exec(name)?.[1];
        if (tag !== undefined) out.push({ name, tag });
      }
      return out;
    },

    async removeTemp(name) {
      if (!TEMP.test(name)) throw new Error(`not a temp file of this store: ${JSON.stringify(name)}`);
      await fs.rm(path.join(tmpDir, name), { force: true });
    },

    async close() {},
  };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
