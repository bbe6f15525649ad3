-- The document and liveness vendor (issue #7). What the gateway created at
-- the vendor for each of its checks, so a retried or taken-over check job
-- reuses it and never starts a second billable vendor check; the billable
-- calls per UTC day, shared by every replica, for the spending cap; and the
-- webhook events already seen, so a replayed event has no second effect.

CREATE TABLE vendor_checks (
    check_id           TEXT PRIMARY KEY NOT NULL REFERENCES checks (id),
    applicant_id       TEXT,                 -- the vendor's applicant, one per check
    document_ids       TEXT NOT NULL DEFAULT '',  -- the vendor's document ids, comma-separated
    live_photo_id      TEXT,
    check_requested_us INTEGER,              -- set before the billable call: a retry looks the check up first
    vendor_check_id    TEXT UNIQUE,          -- set once; never replaced
    next_poll_us       INTEGER,              -- when the poller asks for the result next
    deadline_us        INTEGER,              -- no result by then: the check ends as error
    created_us         INTEGER NOT NULL,
    updated_us         INTEGER NOT NULL
);
CREATE INDEX vendor_checks_due ON vendor_checks (next_poll_us) WHERE vendor_check_id IS NOT NULL;

-- The link to a billable vendor check is written once: replacing it would
-- lose a check the bank paid for, and a later retry would start another.
CREATE TRIGGER vendor_checks_no_delete BEFORE DELETE ON vendor_checks
BEGIN SELECT RAISE(ABORT, 'vendor check links are kept'); END;
CREATE TRIGGER vendor_checks_keep_link BEFORE UPDATE ON vendor_checks
WHEN OLD.vendor_check_id IS NOT NULL AND NEW.vendor_check_id IS NOT OLD.vendor_check_id
BEGIN SELECT RAISE(ABORT, 'vendor check links are kept'); END;

CREATE TABLE vendor_spend (
    day            TEXT PRIMARY KEY NOT NULL, -- UTC date, YYYY-MM-DD
    billable_calls INTEGER NOT NULL
);

CREATE TABLE vendor_webhook_events (
    event_id     TEXT PRIMARY KEY NOT NULL,
    received_us  INTEGER NOT NULL,
    outcome      TEXT NOT NULL               -- 'applied' or 'ignored'
);
