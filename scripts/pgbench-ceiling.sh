#!/usr/bin/env bash
# The PostgreSQL ceiling for closures: pgbench runs one closure's database
# work, as the reference service does it, as fast as this machine allows,
# with nothing else in the way (no HTTP, no JSON, no library). One pgbench
# "transaction" is one whole closure, so its rate is closures/s; the
# service's sweep rate divided by it is how much of the database's capacity
# the service uses (offboard-load --profile inactive-sweep prints both).
#
#   scripts/pgbench-ceiling.sh DATABASE_URL [EFFECTS] [STAGES] [CLIENTS] [SECONDS]
#
# EFFECTS per closure (default 10) in STAGES (default 5), run by CLIENTS
# connections (default 8) for SECONDS (default 10). The writes, per closure:
#   - the sweep's transaction: the closure row locked (none yet), the
#     account read (8 lookups), the closure inserted, its audit events and
#     its first stage's outbox rows inserted (one multi-row statement each);
#   - one lease of the closure's first stage (an UPDATE, autocommit);
#   - per effect, the fake downstream's transaction (a key looked up and
#     inserted, a log row inserted), as the service's fakes make it;
#   - per stage, the report's transaction: the closure locked and its holds
#     read (2 lookups), the state updated, the audit events inserted, the
#     stage's rows settled, the next stage's rows inserted and leased.
# Lookups stand in on the closures table's primary key. The tables are the
# service's (its migration), in a schema of their own, dropped at the end.
# Prints a line `ceiling_closures_per_s=N` last.
set -euo pipefail
url=${1:?usage: pgbench-ceiling.sh DATABASE_URL [EFFECTS] [STAGES] [CLIENTS] [SECONDS]}
effects=${2:-10}
stages=${3:-5}
clients=${4:-8}
seconds=${5:-10}
schema=offboard_ceiling
command -v pgbench >/dev/null || { echo "pgbench-ceiling: pgbench is not installed (Debian: postgresql-client)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"; psql "$url" -qXc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT

psql "$url" -qX -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
SET search_path = $schema;
CREATE TABLE closures (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, phase TEXT NOT NULL,
    state TEXT NOT NULL, version BIGINT NOT NULL, next_tick_at BIGINT,
    last_error TEXT, updated_at BIGINT NOT NULL);
CREATE INDEX closures_next_tick ON closures (next_tick_at);
CREATE TABLE audit_log (
    closure_id TEXT NOT NULL, sequence BIGINT NOT NULL, hash TEXT NOT NULL,
    event TEXT NOT NULL, PRIMARY KEY (closure_id, sequence));
CREATE TABLE outbox (
    key TEXT PRIMARY KEY, closure_id TEXT NOT NULL, adapter TEXT NOT NULL,
    action TEXT NOT NULL, effect TEXT NOT NULL, status TEXT NOT NULL,
    deliveries BIGINT NOT NULL, lease_owner TEXT, lease_until BIGINT,
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, turn BIGINT NOT NULL DEFAULT 0);
CREATE INDEX outbox_status ON outbox (status, created_at);
CREATE INDEX outbox_turns ON outbox (status, turn, created_at);
CREATE INDEX outbox_closure ON outbox (closure_id);
CREATE TABLE downstream_keys (
    key TEXT PRIMARY KEY, adapter TEXT NOT NULL, calls BIGINT NOT NULL, performed_by TEXT NOT NULL);
CREATE TABLE downstream_log (
    key TEXT NOT NULL, adapter TEXT NOT NULL, action TEXT NOT NULL, worker TEXT NOT NULL);
CREATE INDEX downstream_log_key ON downstream_log (key);
SQL

# The closure's state and an audit event, at the sizes the samples give
# (a lone-user state is about 6 KB of JSON, an event about 600 bytes).
python3 - "$effects" "$stages" "$schema" > "$dir/closure.sql" <<'PY'
import sys
effects, stages, schema = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
state = "x" * 6000
event = "e" * 600
per = [effects // stages + (1 if i < effects % stages else 0) for i in range(stages)]
out = [r"\set n random(1, 1000000000000)", f"SET search_path = {schema};"]
key = lambda s, e: f"'fx_' || :n || '_{s}_{e}'"
cl = "'cl_' || :n"
def rows(s):
    return ", ".join(
        f"({key(s, e)}, {cl}, 'identity', 'revoke_sessions', '{event}', 'pending', 0, 1, 1, {s})"
        for e in range(per[s]))
seq = 0
def audit(n):
    global seq
    vals = ", ".join(f"({cl}, {seq + i}, 'h', '{event}')" for i in range(n))
    seq += n
    return f"INSERT INTO audit_log (closure_id, sequence, hash, event) VALUES {vals};"
# The sweep: request and confirm, one transaction.
out += ["BEGIN;", f"SELECT version FROM closures WHERE account_id = 'u_' || :n FOR UPDATE;"]
out += [f"SELECT version FROM closures WHERE id = {cl};"] * 8
out += [f"INSERT INTO closures (id, account_id, phase, state, version, next_tick_at, updated_at) "
        f"VALUES ({cl}, 'u_' || :n, 'executing', '{state}', 1, NULL, 1) ON CONFLICT DO NOTHING;",
        audit(3),
        f"INSERT INTO outbox (key, closure_id, adapter, action, effect, status, deliveries, created_at, updated_at, turn) VALUES {rows(0)} ON CONFLICT DO NOTHING;",
        "COMMIT;",
        f"UPDATE outbox SET lease_owner = 'w', lease_until = 2, deliveries = deliveries + 1 "
        f"WHERE closure_id = {cl} AND status = 'pending';"]
for s in range(stages):
    for e in range(per[s]):
        out += ["BEGIN;",
                f"UPDATE downstream_keys SET calls = calls + 1 WHERE key = {key(s, e)};",
                f"INSERT INTO downstream_keys (key, adapter, calls, performed_by) VALUES ({key(s, e)}, 'identity', 1, 'w') ON CONFLICT DO NOTHING;",
                f"INSERT INTO downstream_log (key, adapter, action, worker) VALUES ({key(s, e)}, 'identity', 'revoke_sessions', 'w');",
                "COMMIT;"]
    keys = ", ".join(key(s, e) for e in range(per[s]))
    out += ["BEGIN;", f"SELECT version FROM closures WHERE id = {cl} FOR UPDATE;"]
    out += [f"SELECT version FROM closures WHERE id = {cl};"] * 2
    out += [f"UPDATE closures SET state = '{state}', version = version + 1, updated_at = 2 WHERE id = {cl};",
            audit(max(per[s], 1)),
            f"UPDATE outbox SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = 2 WHERE key IN ({keys});"]
    if s + 1 < stages:
        out += [f"INSERT INTO outbox (key, closure_id, adapter, action, effect, status, deliveries, created_at, updated_at, turn) VALUES {rows(s + 1)} ON CONFLICT DO NOTHING;",
                f"UPDATE outbox SET lease_owner = 'w', lease_until = 2, deliveries = deliveries + 1 "
                f"WHERE closure_id = {cl} AND status = 'pending';"]
    out += ["COMMIT;"]
print("\n".join(out))
PY

pgbench "$url" -n -c "$clients" -j 2 -T "$seconds" -f "$dir/closure.sql" > "$dir/out.txt" 2>&1 || { cat "$dir/out.txt" >&2; exit 1; }
grep -E "^(number of transactions actually processed|latency average|tps)" "$dir/out.txt"
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/out.txt" | head -1)
echo "ceiling_closures_per_s=${tps}"
