-- The full checksum of each version's object (whole-file SHA-256 plus one SHA-256 per block, as
-- src/storage/checksum.ts computes it), so a read can verify just the blocks it decodes. JSON text.
-- Versions committed before this migration have none: they are verified whole (object_sha256).
ALTER TABLE versions ADD COLUMN object_checksum text;
