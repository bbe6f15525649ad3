-- Decisions, the exceptions queue and the hand-off outbox (issue #9).
--
-- decisions: every decision, by the policy or by people, with the policy
-- version and hash and a digest of its inputs; kept as written.
-- cases: one per application that needed a person; reopened (new round)
-- when the applicant resubmits after a request for information.
-- case_events: the case's history (claims, notes, proposals, decisions);
-- kept as written. Notes are sealed with the application's data key.
-- outbox: events for the bank's downstream systems, written in the same
-- transaction as the decision and delivered by a worker.

CREATE FUNCTION review_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: % refused', TG_ARGV[0], TG_OP;
END;
$$;

CREATE TABLE decisions (
    id               TEXT PRIMARY KEY NOT NULL,     -- UUIDv7
    application_id   TEXT NOT NULL REFERENCES applications (id),
    round            BIGINT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('approve', 'review', 'reject', 'request_info')),
    reason_codes     TEXT NOT NULL,                 -- comma-separated
    decided_by       TEXT NOT NULL,                 -- 'policy', or the pseudonymous staff id
    confirmed_by     TEXT,                          -- the second senior officer of a four-eyes approval
    policy_version   TEXT NOT NULL,
    policy_sha256    TEXT NOT NULL,
    inputs_sha256    TEXT NOT NULL,                 -- digest of the check results decided on
    request_items    TEXT,                          -- request_info: what the applicant must add (JSON array)
    created_us       BIGINT NOT NULL
);
CREATE INDEX decisions_by_application ON decisions (application_id, created_us);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('decisions are kept as written');
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('decisions are kept as written');

CREATE TABLE cases (
    id               TEXT PRIMARY KEY NOT NULL,     -- UUIDv7
    application_id   TEXT NOT NULL UNIQUE REFERENCES applications (id),
    round            BIGINT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    priority         BIGINT NOT NULL,              -- 1 is the most urgent
    reason_codes     TEXT NOT NULL,
    high_risk        BOOLEAN NOT NULL,
    sla_due_us       BIGINT NOT NULL,
    assignee         TEXT,                          -- pseudonymous staff id holding the claim
    lease_until_us   BIGINT,
    proposal_by      TEXT,                          -- a pending four-eyes approval
    proposal_reason  TEXT,
    proposal_inputs  TEXT,                          -- evidence digest when proposed
    proposal_us      BIGINT,
    created_us       BIGINT NOT NULL,
    updated_us       BIGINT NOT NULL,
    row_version      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX cases_queue ON cases (state, priority, sla_due_us);
CREATE TRIGGER cases_no_delete BEFORE DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('cases are kept for the record');

CREATE TABLE case_events (
    id               TEXT PRIMARY KEY NOT NULL,     -- UUIDv7, so ordered by time
    case_id          TEXT NOT NULL REFERENCES cases (id),
    round            BIGINT NOT NULL,
    kind             TEXT NOT NULL,                 -- opened, claimed, released, note, proposed, confirmed, decided, cancelled, reopened
    actor            TEXT NOT NULL,                 -- 'policy', 'system' or the pseudonymous staff id
    role             TEXT,
    reason_code      TEXT,
    note_sealed      BYTEA,
    created_us       BIGINT NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_id, id);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('case history is kept as written');
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('case history is kept as written');

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY NOT NULL,     -- UUIDv7; the webhook-id
    application_id   TEXT NOT NULL REFERENCES applications (id),
    event_type       TEXT NOT NULL,                 -- application.approved, .rejected, .info_requested, .withdrawn, .stalled, document.expiring
    dedupe_key       TEXT UNIQUE,                   -- events raised by scans (stalled, expiring) are raised once
    payload          BYTEA NOT NULL,                 -- the JSON body sent downstream, sealed with the application's data key
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_us  BIGINT NOT NULL,
    last_error       TEXT,
    created_us       BIGINT NOT NULL,
    delivered_us     BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_us);
CREATE INDEX outbox_by_application ON outbox (application_id, id);
CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
    FOR EACH ROW EXECUTE FUNCTION review_refuse_change('outbox events are kept for replay');
