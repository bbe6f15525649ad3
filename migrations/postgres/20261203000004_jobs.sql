-- The durable job queue (no broker): background work such as KYC checks and
-- outbound deliveries. Workers claim ready jobs with a lease; a crashed
-- worker's lease runs out and the job is claimed again; failures retry with
-- exponential backoff up to max_attempts, then end as failed with a reason.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY NOT NULL,      -- UUIDv7
    kind           TEXT NOT NULL,
    dedupe_key     TEXT NOT NULL UNIQUE,           -- one job per piece of work, however often enqueued
    payload        BYTEA NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL,
    run_after_us   BIGINT NOT NULL,
    lease_owner    TEXT,
    lease_until_us BIGINT,
    last_error     TEXT,
    created_us     BIGINT NOT NULL,
    updated_us     BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after_us);
