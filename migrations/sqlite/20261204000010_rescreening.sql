-- Ongoing screening (issue #8): when a new sanctions list version
-- activates, approved customers are screened again; a potential match not
-- seen before for that customer opens a review case. One row per customer
-- and set of list versions, kept as written.
CREATE TABLE rescreenings (
    id               TEXT PRIMARY KEY NOT NULL,     -- UUIDv7
    application_id   TEXT NOT NULL REFERENCES applications (id),
    lists_sha256     TEXT NOT NULL,                 -- digest of the list versions screened against
    matched_entries  TEXT NOT NULL,                 -- comma-separated list:entry ids at or above the threshold
    new_matches      TEXT NOT NULL,                 -- those never seen before for this customer
    evidence_sealed  BLOB NOT NULL,                 -- the screening with its explanations, sealed with the application's data key
    created_us       INTEGER NOT NULL,
    UNIQUE (application_id, lists_sha256)
);
CREATE TRIGGER rescreenings_no_update BEFORE UPDATE ON rescreenings
BEGIN SELECT RAISE(ABORT, 'rescreenings are kept as written'); END;
CREATE TRIGGER rescreenings_no_delete BEFORE DELETE ON rescreenings
BEGIN SELECT RAISE(ABORT, 'rescreenings are kept as written'); END;
