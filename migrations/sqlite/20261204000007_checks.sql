-- KYC checks (issue #7). Submission moves an application to 'checking' and,
-- in the same transaction, adds one row per check the policy requires and a
-- job that runs it. A check row is written once more, when it ends; then it
-- is kept as it is.

-- The MRZ text the app read off an identity document, sealed with the
-- document's data key (it holds the document number and date of birth).
ALTER TABLE documents ADD COLUMN mrz_sealed BLOB;

DROP TRIGGER documents_supersede_only;
CREATE TRIGGER documents_supersede_only BEFORE UPDATE ON documents
WHEN OLD.superseded_by IS NOT NULL OR NEW.superseded_by IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.application_id IS NOT OLD.application_id OR NEW.kind IS NOT OLD.kind
  OR NEW.side IS NOT OLD.side OR NEW.content_type IS NOT OLD.content_type OR NEW.size_bytes IS NOT OLD.size_bytes
  OR NEW.sha256 IS NOT OLD.sha256 OR NEW.blob_path IS NOT OLD.blob_path OR NEW.blob_bytes IS NOT OLD.blob_bytes
  OR NEW.dek_kek_id IS NOT OLD.dek_kek_id OR NEW.dek_wrapped IS NOT OLD.dek_wrapped
  OR NEW.original_name_sealed IS NOT OLD.original_name_sealed OR NEW.created_us IS NOT OLD.created_us
  OR NEW.mrz_sealed IS NOT OLD.mrz_sealed
BEGIN SELECT RAISE(ABORT, 'documents are kept for the record'); END;

CREATE TABLE checks (
    id               TEXT PRIMARY KEY NOT NULL,    -- UUIDv7; also the job's dedupe key
    application_id   TEXT NOT NULL REFERENCES applications (id),
    round            INTEGER NOT NULL,             -- 1 for the first submission, +1 per resubmission
    kind             TEXT NOT NULL,                -- 'mrz', 'sanctions'
    provider         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'clear', 'consider', 'fail', 'error')),
    reason_codes     TEXT NOT NULL DEFAULT '',     -- comma-separated stable codes
    evidence_sealed  BLOB,                         -- raw result (JSON), sealed with the application's data key
    policy_version   TEXT NOT NULL,
    created_us       INTEGER NOT NULL,
    completed_us     INTEGER,
    UNIQUE (application_id, round, kind)
);
CREATE INDEX checks_by_application ON checks (application_id, round);

CREATE TRIGGER checks_no_delete BEFORE DELETE ON checks
BEGIN SELECT RAISE(ABORT, 'check results are kept for the record'); END;
CREATE TRIGGER checks_end_once BEFORE UPDATE ON checks
WHEN OLD.state <> 'pending' OR NEW.state = 'pending'
  OR NEW.id IS NOT OLD.id OR NEW.application_id IS NOT OLD.application_id OR NEW.round IS NOT OLD.round
  OR NEW.kind IS NOT OLD.kind OR NEW.provider IS NOT OLD.provider OR NEW.policy_version IS NOT OLD.policy_version
  OR NEW.created_us IS NOT OLD.created_us
BEGIN SELECT RAISE(ABORT, 'check results are kept for the record'); END;
