-- Idempotency-Key: the first answer to each caller's key, for replays.

CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status BIGINT, response TEXT, etag TEXT, created_at BIGINT NOT NULL,
    PRIMARY KEY (caller, key));

CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
