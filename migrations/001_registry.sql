-- The registry of the postgres backend: datasets, versions, statistics, and the bookkeeping that
-- lets many instances share one database and one object store. JSON documents (a version's source
-- and columns, statistics) are kept as text, exactly as written: jsonb would reorder their keys
-- and refuse \u0000 in a value.

CREATE TABLE datasets (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  -- RegistryState.nameKey(name) (NFC + Unicode case folding), computed by the service so that
  -- every backend compares names the same way; the unique index makes it the database's rule.
  name_key text NOT NULL,
  description text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- The highest version number ever issued: numbers are never reused, even after deletions.
  -- Incrementing it takes the dataset's row lock, which serialises commits to one dataset.
  highest_issued integer NOT NULL CHECK (highest_issued >= 0)
);
CREATE UNIQUE INDEX datasets_name_key ON datasets (name_key);
CREATE INDEX datasets_listing ON datasets (created_at DESC, id);

CREATE TABLE versions (
  dataset_id uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  created_at timestamptz NOT NULL,
  source text NOT NULL,
  row_count bigint NOT NULL,
  column_count integer NOT NULL,
  columns text NOT NULL,
  -- The Parquet object holding the rows, written before this row commits.
  object_key text NOT NULL UNIQUE,
  object_bytes bigint NOT NULL,
  object_sha256 text NOT NULL,
  -- Polars' estimate of the frame's in-memory size: whether it fits an instance's cache.
  frame_bytes bigint NOT NULL,
  PRIMARY KEY (dataset_id, version)
);

CREATE TABLE version_stats (
  dataset_id uuid NOT NULL,
  version integer NOT NULL,
  body text NOT NULL,
  PRIMARY KEY (dataset_id, version),
  FOREIGN KEY (dataset_id, version) REFERENCES versions (dataset_id, version) ON DELETE CASCADE
);

-- Every running instance, holding the session advisory lock (1146314546, id) while it lives: a
-- lock that can be taken means its owner is gone (a kill -9 drops the connection and the lock).
CREATE TABLE instances (
  id serial PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  host text NOT NULL,
  pid integer NOT NULL
);

-- Objects being written for a version that has not committed yet. The commit deletes the row in
-- the transaction that inserts the version; a row whose instance is gone is a crash's leftover.
CREATE TABLE pending_objects (
  object_key text PRIMARY KEY,
  instance_id integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);

-- Objects of deleted versions: removed by the sweep once the grace period has passed, so reads
-- that other instances started before the deletion can finish.
CREATE TABLE deleted_objects (
  object_key text PRIMARY KEY,
  deleted_at timestamptz NOT NULL DEFAULT now()
);
