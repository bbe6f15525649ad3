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
    size_bytes            BIGINT NOT NULL,             -- plaintext
    sha256                TEXT NOT NULL,               -- of the plaintext, hex
    width                 BIGINT,
    height                BIGINT,
    pages                 BIGINT,
    original_name_sealed  BYTEA,                       -- the client's file name, sealed (may name the person)
    blob_path             TEXT NOT NULL,
    blob_bytes            BIGINT NOT NULL,             -- ciphertext length, checked before a download
    dek_kek_id            TEXT NOT NULL,
    dek_wrapped           BYTEA NOT NULL,
    uploaded_by           TEXT NOT NULL,               -- 'applicant' or 'service'
    created_us            BIGINT NOT NULL,
    superseded_by         TEXT,                        -- the replacement; the old one is kept for the record
    superseded_us         BIGINT
);
CREATE INDEX documents_by_application ON documents (application_id, id);
-- The same bytes twice to one application are the same document.
CREATE UNIQUE INDEX documents_same_bytes ON documents (application_id, sha256)
    WHERE superseded_by IS NULL;
-- One current document per kind and side; a replacement supersedes it.
CREATE UNIQUE INDEX documents_one_current ON documents (application_id, kind, COALESCE(side, ''))
    WHERE superseded_by IS NULL;

-- Documents are never deleted through the application, and only the
-- superseding columns may change once.
CREATE FUNCTION documents_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL
       AND (to_jsonb(OLD) - 'superseded_by' - 'superseded_us') = (to_jsonb(NEW) - 'superseded_by' - 'superseded_us') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'documents are kept for the record: % refused', TG_OP;
END;
$$;
CREATE TRIGGER documents_keep BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION documents_refuse_change();
