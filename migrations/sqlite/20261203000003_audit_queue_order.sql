-- The sequencer reads the queue in arrival order a batch at a time; without
-- this index every batch sorts the whole queue.
CREATE INDEX audit_queue_by_arrival ON audit_queue (enqueued_us, event_id);
