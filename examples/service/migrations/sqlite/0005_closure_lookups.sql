-- A closure's own outbox rows, found by its id: the report transaction
-- leases the closure's next stage, and the lease takes whole closures.
CREATE INDEX IF NOT EXISTS outbox_closure ON outbox (closure_id, status, turn);
