-- A closure's own outbox rows, found by its id: the report transaction
-- leases the closure's next stage, and the lease takes whole closures.
CREATE INDEX IF NOT EXISTS outbox_closure ON outbox (closure_id, status, turn);

-- A closure's state is JSON of a few kilobytes, rewritten at every step:
-- stored out of line but not compressed (pglz on every write cost more
-- CPU than the bytes it saved).
ALTER TABLE closures ALTER COLUMN state SET STORAGE EXTERNAL;
