-- KYC checks (issue #7). Submission moves an application to 'checking' and,
-- in the same transaction, adds one row per check the policy requires and a
-- job that runs it. A check row is written once more, when it ends; then it
-- is kept as it is.

-- The MRZ text the app read off an identity document, sealed with the
-- document's data key (it holds the document number and date of birth).
-- documents_refuse_change() compares whole rows, so it covers this column.
ALTER TABLE documents ADD COLUMN mrz_sealed BYTEA;

CREATE TABLE checks (
    id               TEXT PRIMARY KEY NOT NULL,    -- UUIDv7; also the job's dedupe key
    application_id   TEXT NOT NULL REFERENCES applications (id),
    round            BIGINT NOT NULL,              -- 1 for the first submission, +1 per resubmission
    kind             TEXT NOT NULL,                -- 'mrz', 'sanctions'
    provider         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'clear', 'consider', 'fail', 'error')),
    reason_codes     TEXT NOT NULL DEFAULT '',     -- comma-separated stable codes
    evidence_sealed  BYTEA,                        -- raw result (JSON), sealed with the application's data key
    policy_version   TEXT NOT NULL,
    created_us       BIGINT NOT NULL,
    completed_us     BIGINT,
    UNIQUE (application_id, round, kind)
);
CREATE INDEX checks_by_application ON checks (application_id, round);

CREATE FUNCTION checks_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = 'pending' AND NEW.state <> 'pending'
       AND (to_jsonb(OLD) - 'state' - 'reason_codes' - 'evidence_sealed' - 'completed_us')
         = (to_jsonb(NEW) - 'state' - 'reason_codes' - 'evidence_sealed' - 'completed_us') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'check results are kept for the record: % refused', TG_OP;
END;
$$;
CREATE TRIGGER checks_keep BEFORE UPDATE OR DELETE ON checks
    FOR EACH ROW EXECUTE FUNCTION checks_refuse_change();
