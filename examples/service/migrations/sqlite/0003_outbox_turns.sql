-- Each outbox row's turn: the effect's place in its closure's plan. Workers
-- lease by turn, then age, so every closure's next effect comes before a
-- large plan's later ones, and one account cannot starve the others.

ALTER TABLE outbox ADD COLUMN turn BIGINT NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS outbox_turn ON outbox (status, turn, created_at);
