-- Applications, their encrypted identity data, consent records and
-- idempotency keys (issue: applications, identity data and consent).
-- Identity fields are sealed with a per-application data key (AES-256-GCM);
-- the data key is stored wrapped by a key-encryption key named by id.

CREATE TABLE applications (
    id                 TEXT PRIMARY KEY NOT NULL,      -- UUIDv7
    owner_index        TEXT NOT NULL,                  -- blind index of the applicant's token subject
    created_by         TEXT NOT NULL,                  -- 'applicant' or 'service'
    product            TEXT NOT NULL,
    jurisdiction       TEXT NOT NULL,
    state              TEXT NOT NULL,
    identity_sealed    BYTEA NOT NULL,                 -- sealed JSON of the identity fields
    identity_index     TEXT NOT NULL,                  -- blind index for duplicate detection
    dek_kek_id         TEXT NOT NULL,
    dek_wrapped        BYTEA NOT NULL,
    policy_version     TEXT NOT NULL,
    policy_sha256      TEXT NOT NULL,
    created_us         BIGINT NOT NULL,
    updated_us         BIGINT NOT NULL,
    row_version        BIGINT NOT NULL DEFAULT 1       -- optimistic concurrency
);
CREATE INDEX applications_by_owner ON applications (owner_index, id);
CREATE INDEX applications_by_state ON applications (state, id);
CREATE INDEX applications_by_identity ON applications (identity_index);

CREATE TABLE consent_records (
    id                 TEXT PRIMARY KEY NOT NULL,      -- UUIDv7
    application_id     TEXT NOT NULL REFERENCES applications (id),
    purpose            TEXT NOT NULL,
    granted            BOOLEAN NOT NULL,
    text_version       TEXT NOT NULL,
    text_sha256        TEXT NOT NULL,
    locale             TEXT NOT NULL,
    channel            TEXT NOT NULL,
    recorded_us        BIGINT NOT NULL,
    client_sealed      BYTEA NOT NULL,                 -- sealed client IP and user agent
    policy_version     TEXT NOT NULL,
    policy_sha256      TEXT NOT NULL
);
CREATE INDEX consent_records_by_application ON consent_records (application_id, recorded_us, id);

-- Consent records are append-only (GDPR Art. 7(1)): withdrawal is a new record.
CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON consent_records FROM PUBLIC;

CREATE TABLE idempotency_keys (
    scope              TEXT NOT NULL,                  -- blind index of the caller
    idem_key           TEXT NOT NULL,
    request_sha256     TEXT NOT NULL,
    status             INTEGER NOT NULL,
    response           BYTEA NOT NULL,
    created_us         BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_us);
