-- The closure store: accounts, closures, the append-only audit log, the
-- outbox and the fake downstream systems' records. IF NOT EXISTS, so a
-- database made before migrations existed takes this one as it is.

CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS closures (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, phase TEXT NOT NULL,
    state TEXT NOT NULL, version BIGINT NOT NULL, next_tick_at BIGINT,
    last_error TEXT, updated_at BIGINT NOT NULL);

CREATE INDEX IF NOT EXISTS closures_next_tick ON closures (next_tick_at);

CREATE TABLE IF NOT EXISTS audit_log (
    closure_id TEXT NOT NULL, sequence BIGINT NOT NULL, hash TEXT NOT NULL,
    event TEXT NOT NULL, PRIMARY KEY (closure_id, sequence));

CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, closure_id TEXT NOT NULL, adapter TEXT NOT NULL,
    action TEXT NOT NULL, effect TEXT NOT NULL, status TEXT NOT NULL,
    deliveries BIGINT NOT NULL,
    lease_owner TEXT, lease_until BIGINT, created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL);

CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, created_at);

CREATE TABLE IF NOT EXISTS downstream_keys (
    key TEXT PRIMARY KEY, adapter TEXT NOT NULL, calls BIGINT NOT NULL,
    performed_by TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS downstream_log (
    key TEXT NOT NULL, adapter TEXT NOT NULL, action TEXT NOT NULL, worker TEXT NOT NULL);

CREATE INDEX IF NOT EXISTS downstream_log_key ON downstream_log (key);

CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The audit log is append-only.
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
