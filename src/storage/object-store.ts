/**
 * Where the `postgres` backend keeps version data: immutable objects under OBJECT_STORE_URL,
 * `file:///shared/dir` (a folder every instance mounts) or `s3://bucket/prefix` (S3 or any
 * S3-compatible store). Objects are written once under a name no one else can pick
 * (`uniqueObjectKey`) and never changed; a key that is not one of ours is refused, so nothing a
 * client sends can name a file or object outside the store.
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { createFileObjectStore } from "./object-store-file.ts";
import { createS3ObjectStore, type S3Options } from "./object-store-s3.ts";

export interface ObjectInfo {
  key: string;
  bytes: number;
  modifiedAt: Date;
}

export interface ObjectStore {
  /** The store's URL, for logs (never holds credentials). */
  readonly url: string;
  /** Stores the local file `file` under `key`, whole or not at all (readers never see part of it). */
  putFile(key: string, file: string): Promise<void>;
  /** The object's bytes as a stream; throws `ObjectMissingError` when there is none. */
  get(key: string): Promise<Readable>;
  /** True when objects are read in place (`localPath` gives their files). */
  readonly inPlace: boolean;
  /** A path that reads the object in place when the store is a file system, else null. */
  localPath(key: string): string | null;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Removes the object; a missing one is fine. */
  delete(key: string): Promise<void>;
  /** Every object in the store (in no particular order). */
  list(): AsyncIterable<ObjectInfo>;
  close(): Promise<void>;
}

export class ObjectMissingError extends Error {
  constructor(key: string) {
    super(`object ${key} is missing from the store`);
    this.name = "ObjectMissingError";
  }
}

export interface ObjectStoreOptions {
  /** S3: endpoint of an S3-compatible store (path-style addressing is then used). */
  s3?: S3Options;
  /**
   * Names the store's temporary files (file:// only) after their writer, so a sweep can tell the
   * leftovers of a dead instance from the work of a live one.
   */
  writerTag?: string;
}

/** Opens the store named by `url`; throws a plain message for a URL it cannot use. */
export function createObjectStore(url: string, options: ObjectStoreOptions = {}): ObjectStore {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`OBJECT_STORE_URL must be file:///path or s3://bucket/prefix, got "${url}"`);
  }
  switch (parsed.protocol) {
    case "file:":
      return createFileObjectStore(parsed, options.writerTag ?? `${process.pid}`);
    case "s3:":
      return createS3ObjectStore(parsed, options.s3 ?? {});
    default:
      throw new Error(`OBJECT_STORE_URL must be file:///path or s3://bucket/prefix, got "${url}"`);
  }
}

const KEY = /^datasets\/[0-9a-f-]{36}\/[0-9a-f-]{36}\.parquet$/;

/** A fresh key for one version's data: `datasets/<dataset id>/<random uuid>.parquet`. */
export function uniqueObjectKey(datasetId: string): string {
  return checkedKey(`datasets/${datasetId}/${randomUUID()}.parquet`);
}

/** True for keys this service makes (also what a sweep may delete). */
export function isObjectKey(key: string): boolean {
  return KEY.test(key);
}

export function checkedKey(key: string): string {
  if (!isObjectKey(key)) throw new Error(`not an object key of this service: ${JSON.stringify(key)}`);
  return key;
}
