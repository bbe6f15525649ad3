-- The immutable audit log (DESIGN.md, "The audit log").
-- Writers insert into audit_queue inside their own transaction; the sequencer
-- moves entries into audit_entries with contiguous indices and records the
-- Merkle tree state and a signed checkpoint, all in one transaction.

CREATE TABLE audit_queue (
    event_id    TEXT PRIMARY KEY NOT NULL,
    entry       BLOB NOT NULL,            -- canonical bytes, exactly as hashed
    enqueued_us INTEGER NOT NULL
);

CREATE TABLE audit_entries (
    idx         INTEGER PRIMARY KEY NOT NULL,  -- leaf index, assigned by the sequencer
    event_id    TEXT NOT NULL UNIQUE,
    entry       BLOB NOT NULL,                 -- canonical bytes, exactly as hashed
    leaf_hash   BLOB NOT NULL,                 -- SHA-256(0x00 || entry), RFC 6962 §2.1
    -- Copies of entry fields for filtering; the entry bytes stay the record.
    time_us     INTEGER NOT NULL,
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
    tree_size  INTEGER PRIMARY KEY NOT NULL,
    root       BLOB NOT NULL,
    frontier   BLOB NOT NULL,
    created_us INTEGER NOT NULL
);

-- C2SP tlog-checkpoint signed notes, on every size change and at least hourly.
CREATE TABLE audit_checkpoints (
    tree_size  INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (tree_size, created_us)
);

-- Append-only: UPDATE and DELETE are refused. SQLite has no TRUNCATE; an
-- unqualified DELETE fires these triggers too (they disable the truncate
-- optimisation).
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_tree_states_no_update BEFORE UPDATE ON audit_tree_states
BEGIN SELECT RAISE(ABORT, 'audit_tree_states is append-only'); END;
CREATE TRIGGER audit_tree_states_no_delete BEFORE DELETE ON audit_tree_states
BEGIN SELECT RAISE(ABORT, 'audit_tree_states is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
-- The queue is never edited, and an entry leaves it only once sequenced.
CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue
BEGIN SELECT RAISE(ABORT, 'audit_queue entries cannot be changed'); END;
CREATE TRIGGER audit_queue_delete_only_sequenced BEFORE DELETE ON audit_queue
WHEN NOT EXISTS (SELECT 1 FROM audit_entries WHERE event_id = OLD.event_id)
BEGIN SELECT RAISE(ABORT, 'audit_queue: only sequenced entries may leave the queue'); END;
