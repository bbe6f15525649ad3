-- The immutable audit log (DESIGN.md, "The audit log").
-- Writers insert into audit_queue inside their own transaction; the sequencer
-- (elected with an advisory lock) moves entries into audit_entries with
-- contiguous indices and records the Merkle tree state and a signed
-- checkpoint, all in one transaction.

CREATE TABLE audit_queue (
    event_id    TEXT PRIMARY KEY NOT NULL,
    entry       BYTEA NOT NULL,           -- canonical bytes, exactly as hashed
    enqueued_us BIGINT NOT NULL
);

CREATE TABLE audit_entries (
    idx         BIGINT PRIMARY KEY NOT NULL,   -- leaf index, assigned by the sequencer
    event_id    TEXT NOT NULL UNIQUE,
    entry       BYTEA NOT NULL,                -- canonical bytes, exactly as hashed
    leaf_hash   BYTEA NOT NULL,                -- SHA-256(0x00 || entry), RFC 6962 §2.1
    -- Copies of entry fields for filtering; the entry bytes stay the record.
    time_us     BIGINT NOT NULL,
    action      TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    target_kind TEXT,
    target_id   TEXT
);
CREATE INDEX audit_entries_by_time ON audit_entries (time_us, idx);
CREATE INDEX audit_entries_by_action ON audit_entries (action, idx);
CREATE INDEX audit_entries_by_target ON audit_entries (target_kind, target_id, idx);
CREATE INDEX audit_entries_by_actor ON audit_entries (actor_id, idx);

-- One row per tree size: the compact range (frontier) lets the sequencer
-- resume after a crash without reading every leaf.
CREATE TABLE audit_tree_states (
    tree_size  BIGINT PRIMARY KEY NOT NULL,
    root       BYTEA NOT NULL,
    frontier   BYTEA NOT NULL,
    created_us BIGINT NOT NULL
);

-- C2SP tlog-checkpoint signed notes, on every size change and at least hourly.
CREATE TABLE audit_checkpoints (
    tree_size  BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    root       BYTEA NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (tree_size, created_us)
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_tree_states_append_only BEFORE UPDATE OR DELETE ON audit_tree_states
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_tree_states_no_truncate BEFORE TRUNCATE ON audit_tree_states
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The queue is never edited, and an entry leaves it only once sequenced.
CREATE FUNCTION audit_queue_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_entries WHERE event_id = OLD.event_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_queue: % refused (only sequenced entries may leave the queue)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_queue_guard BEFORE UPDATE OR DELETE ON audit_queue
    FOR EACH ROW EXECUTE FUNCTION audit_queue_guard();
CREATE TRIGGER audit_queue_no_truncate BEFORE TRUNCATE ON audit_queue
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Prevention by grants too (the Merkle tree is the evidence). Without effect
-- for superusers; production runs the gateway as a non-owner role (README).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_tree_states, audit_checkpoints FROM PUBLIC;
REVOKE UPDATE, TRUNCATE ON audit_queue FROM PUBLIC;
