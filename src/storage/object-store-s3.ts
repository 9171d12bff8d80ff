/**
 * `s3://bucket/prefix`: objects in S3 or any S3-compatible store (MinIO, Ceph, R2, s3rver …)
 * through the AWS SDK. Credentials and region come the SDK's usual way (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, instance roles …); an endpoint makes it
 * talk to an S3-compatible store with path-style addressing. Large files go up as multipart
 * uploads, which S3 makes visible only when complete: a reader never sees part of an object.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { checkedKey, isObjectKey, ObjectMissingError, type ObjectInfo, type ObjectStore } from "./object-store.ts";

export interface S3Options {
  /** e.g. http://127.0.0.1:9000 for MinIO; unset for AWS S3 itself. */
  endpoint?: string;
  region?: string;
  /** Explicit credentials (tests); otherwise the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const PART_BYTES = 16 * 1024 * 1024;

export function createS3ObjectStore(url: URL, options: S3Options): ObjectStore {
  const bucket = url.hostname;
  if (bucket === "") throw new Error(`OBJECT_STORE_URL s3:// needs a bucket (s3://bucket/prefix), got "${url.href}"`);
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
  const fullKey = (key: string) => (prefix === "" ? checkedKey(key) : `${prefix}/${checkedKey(key)}`);
  const config: S3ClientConfig = { region: options.region ?? "us-east-1" };
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    config.forcePathStyle = true;
  }
  if (options.credentials) config.credentials = options.credentials;
  const client = new S3Client(config);

  return {
    url: `s3://${bucket}/${prefix}`,
    inPlace: false,

    async putFile(key, file) {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: fullKey(key), Body: createReadStream(file), ContentType: "application/vnd.apache.parquet" },
        partSize: PART_BYTES,
        queueSize: 4,
      });
      await upload.done();
    },

    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
        if (!(out.Body instanceof Readable)) throw new Error("S3 GetObject gave no stream");
        return out.Body;
      } catch (error) {
        if (isNotFound(error)) throw new ObjectMissingError(key);
        throw error;
      }
    },

    localPath: (key) => {
      checkedKey(key);
      return null;
    },

    async stat(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
        return { key, bytes: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date(0) };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
    },

    async *list(): AsyncIterable<ObjectInfo> {
      const listPrefix = prefix === "" ? "datasets/" : `${prefix}/datasets/`;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token }));
        for (const item of page.Contents ?? []) {
          const key = prefix === "" ? (item.Key ?? "") : (item.Key ?? "").slice(prefix.length + 1);
          if (isObjectKey(key)) yield { key, bytes: item.Size ?? 0, modifiedAt: item.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async close() {
      client.destroy();
    },
  };
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}
