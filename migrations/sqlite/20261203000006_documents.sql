-- Identity documents (issue: identity document upload). The bytes live in
-- object storage, encrypted (chunked AES-256-GCM) under a per-document data
-- key that is stored here wrapped by a key-encryption key named by id. A row
-- exists only for a blob that was written completely; a blob without a row
-- is an orphan that the sweeper removes.

CREATE TABLE documents (
    id                    TEXT PRIMARY KEY NOT NULL,   -- UUIDv7; also names the blob
    application_id        TEXT NOT NULL REFERENCES applications (id),
    kind                  TEXT NOT NULL,
    side                  TEXT,                        -- 'front' / 'back' for cards
    content_type          TEXT NOT NULL,               -- decided by content, never by the client
    size_bytes            INTEGER NOT NULL,            -- plaintext
    sha256                TEXT NOT NULL,               -- of the plaintext, hex
    width                 INTEGER,
    height                INTEGER,
    pages                 INTEGER,
    original_name_sealed  BLOB,                        -- the client's file name, sealed (may name the person)
    blob_path             TEXT NOT NULL,
    blob_bytes            INTEGER NOT NULL,            -- ciphertext length, checked before a download
    dek_kek_id            TEXT NOT NULL,
    dek_wrapped           BLOB NOT NULL,
    uploaded_by           TEXT NOT NULL,               -- 'applicant' or 'service'
    created_us            INTEGER NOT NULL,
    superseded_by         TEXT,                        -- the replacement; the old one is kept for the record
    superseded_us         INTEGER
);
CREATE INDEX documents_by_application ON documents (application_id, id);
-- The same bytes twice to one application are the same document.
CREATE UNIQUE INDEX documents_same_bytes ON documents (application_id, sha256)
    WHERE superseded_by IS NULL;
-- One current document per kind and side; a replacement supersedes it.
CREATE UNIQUE INDEX documents_one_current ON documents (application_id, kind, COALESCE(side, ''))
    WHERE superseded_by IS NULL;

-- Documents are never deleted through the application, and only the
-- superseding columns may change, once.
CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN SELECT RAISE(ABORT, 'documents are kept for the record'); END;
CREATE TRIGGER documents_supersede_only BEFORE UPDATE ON documents
WHEN OLD.superseded_by IS NOT NULL OR NEW.superseded_by IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.application_id IS NOT OLD.application_id OR NEW.kind IS NOT OLD.kind
  OR NEW.side IS NOT OLD.side OR NEW.content_type IS NOT OLD.content_type OR NEW.size_bytes IS NOT OLD.size_bytes
  OR NEW.sha256 IS NOT OLD.sha256 OR NEW.blob_path IS NOT OLD.blob_path OR NEW.blob_bytes IS NOT OLD.blob_bytes
  OR NEW.dek_kek_id IS NOT OLD.dek_kek_id OR NEW.dek_wrapped IS NOT OLD.dek_wrapped
  OR NEW.original_name_sealed IS NOT OLD.original_name_sealed OR NEW.created_us IS NOT OLD.created_us
BEGIN SELECT RAISE(ABORT, 'documents are kept for the record'); END;
