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
    identity_sealed    BLOB NOT NULL,                  -- sealed JSON of the identity fields
    identity_index     TEXT NOT NULL,                  -- blind index for duplicate detection
    dek_kek_id         TEXT NOT NULL,
    dek_wrapped        BLOB NOT NULL,
    policy_version     TEXT NOT NULL,
    policy_sha256      TEXT NOT NULL,
    created_us         INTEGER NOT NULL,
    updated_us         INTEGER NOT NULL,
    row_version        INTEGER NOT NULL DEFAULT 1      -- optimistic concurrency
);
CREATE INDEX applications_by_owner ON applications (owner_index, id);
CREATE INDEX applications_by_state ON applications (state, id);
CREATE INDEX applications_by_identity ON applications (identity_index);

CREATE TABLE consent_records (
    id                 TEXT PRIMARY KEY NOT NULL,      -- UUIDv7
    application_id     TEXT NOT NULL REFERENCES applications (id),
    purpose            TEXT NOT NULL,
    granted            INTEGER NOT NULL CHECK (granted IN (0, 1)),
    text_version       TEXT NOT NULL,
    text_sha256        TEXT NOT NULL,
    locale             TEXT NOT NULL,
    channel            TEXT NOT NULL,
    recorded_us        INTEGER NOT NULL,
    client_sealed      BLOB NOT NULL,                  -- sealed client IP and user agent
    policy_version     TEXT NOT NULL,
    policy_sha256      TEXT NOT NULL
);
CREATE INDEX consent_records_by_application ON consent_records (application_id, recorded_us, id);

-- Consent records are append-only (GDPR Art. 7(1)): withdrawal is a new record.
CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;
CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;

CREATE TABLE idempotency_keys (
    scope              TEXT NOT NULL,                  -- blind index of the caller
    idem_key           TEXT NOT NULL,
    request_sha256     TEXT NOT NULL,
    status             INTEGER NOT NULL,
    response           BLOB NOT NULL,
    created_us         INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_us);
