//! The data-access layer: one set of SQL for SQLite and PostgreSQL, through
//! sqlx's `Any` driver.
//!
//! Tables:
//! - the account tables (`users`, `tenants`, `memberships`, `subscriptions`,
//!   `domains`, `payment_methods`, `invoices`, `legal_holds`), which
//!   snapshots are assembled from (see [`crate::accounts`]), and
//!   `billing_customers`;
//! - `closures`: each closure's state JSON, with a `version` for optimistic
//!   concurrency and `next_tick_at` for the worker;
//! - `audit_log`: the hash-chained events, append-only (triggers refuse
//!   updates and deletes);
//! - `outbox`: the effects to perform, keyed by their idempotency key;
//! - `downstream_keys` and `downstream_log`: the fake remote systems' own
//!   records (see [`crate::adapters`]);
//! - `settings`: the clock offset.
//!
//! Every step of a closure is one transaction: read the state (locked on
//! PostgreSQL), run the step through the core's host loop
//! ([`offboard::machine::Driver`], rebuilt from the stored state), write the
//! new state if its version is unchanged, append the audit events, settle the
//! outbox rows the step settled and upsert every effect the driver then has
//! due. The outbox is the driver's queue made durable. Either all of it
//! lands or none.

use chrono::{DateTime, Utc};
use offboard::audit::AuditEvent;
use offboard::machine::{self, ClosureState, Command, Context, Driver, EffectStatus, Phase, Step};
use offboard::model::{Account, RecordClass};
use offboard::plan::{Action, Effect};
use offboard::{Actor, Assessment, ClosurePolicy, Snapshot};
use serde::Serialize;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::accounts;
use crate::adapters::Adapter;
use crate::error::ServiceError;

/// Which database the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Embedded SQLite (the default): one file, nothing to set up.
    Sqlite,
    /// PostgreSQL, for several service processes on one database.
    Postgres,
}

impl Backend {
    /// Which backend a database URL names.
    pub fn of_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(format!("`{url}` is neither a sqlite: nor a postgres: URL"))
        }
    }

    /// The row-locking clause for a read that will be written back.
    fn lock(self) -> &'static str {
        match self {
            // SQLite has one writer at a time; the service uses one connection.
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// The row-locking clause for work another worker may already hold.
    fn claim(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub url: String,
    /// PostgreSQL only: keep the tables in this schema (created if missing).
    pub schema: Option<String>,
    /// PostgreSQL only: drop the schema first (for tests).
    pub reset_schema: bool,
    /// How large a snapshot and a plan may be.
    pub limits: crate::config::Limits,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    limits: crate::config::Limits,
    backend: Backend,
    /// Where [`Store::apply_reports`] hands its batches to the committer,
    /// which the first report starts; shared by the store's clones.
    group: Arc<OnceLock<tokio::sync::mpsc::UnboundedSender<GroupMember>>>,
    /// Report transactions committed, and the batches they carried.
    grouped: Arc<(AtomicU64, AtomicU64)>,
}

/// At most this many closures' batches share one transaction.
const GROUP_MAX: usize = 64;

/// What [`Store::apply_reports`] was given, owned, for the committer.
#[derive(Debug)]
struct ReportBatch {
    closure: String,
    reports: Vec<Command>,
    actor: Actor,
    policy: ClosurePolicy,
    now: DateTime<Utc>,
    halted_recheck_seconds: i64,
    worker: String,
    lease_seconds: i64,
}

/// A batch waiting for the group's transaction, and where its answer goes.
#[derive(Debug)]
struct GroupMember {
    request: ReportBatch,
    reply: tokio::sync::oneshot::Sender<Result<Reports, ServiceError>>,
}

/// Where a step finds its closure.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// The closure of this account (created by a `request`).
    Account(&'a str),
    /// The closure with this id.
    Closure(&'a str),
}

/// A stored closure.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    account: String,
    state: ClosureState,
    version: i64,
    next_tick_at: Option<i64>,
    last_error: Option<String>,
}

/// Reads a closure row; [`Store::read`] takes the columns in this order.
const SELECT_CLOSURE: &str =
    "SELECT id, account_id, state, version, next_tick_at, last_error FROM closures";

/// An outbox row as leased: key, closure, effect JSON, deliveries.
fn leased(r: &sqlx::any::AnyRow) -> Result<Leased, ServiceError> {
    let key: String = r.try_get(0)?;
    let effect: String = r.try_get(2)?;
    Ok(Leased {
        closure: r.try_get(1)?,
        effect: serde_json::from_str(&effect).map_err(|e| corrupt(&format!("outbox {key}"), e))?,
        deliveries: r.try_get(3)?,
    })
}

/// At most this many of a closure's next effects are leased with the
/// report that issued them (see [`Store::apply_reports`]); a closure with
/// more pending is a large plan, which takes its turn in the queue.
pub const NEXT_STAGE_EFFECTS: i64 = 16;

/// What a batch of reports came to: each report's result, in order, and the
/// closure's next effects, leased to the worker in the same transaction.
#[derive(Debug)]
pub struct Reports {
    /// Each report's result.
    pub results: Vec<Reported>,
    /// The effects then pending, leased to the reporting worker.
    pub next: Vec<Leased>,
}

/// A closure as the API shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClosureView {
    /// The closure's id.
    pub closure: String,
    /// The account it closes.
    pub account: String,
    /// The phase, e.g. `executing`.
    pub phase: String,
    /// Bumped by every accepted step.
    pub version: i64,
    /// When the worker will tick it next.
    pub next_tick_at: Option<String>,
    /// Why the last tick was refused, if it was.
    pub last_error: Option<String>,
    /// The full state the library keeps.
    pub state: ClosureState,
}

/// An accepted step and the closure after it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Applied {
    /// The closure after the step.
    pub closure: ClosureView,
    /// Effects issued (now in the outbox).
    pub effects: Vec<Effect>,
    /// Audit events appended.
    pub audit: Vec<AuditEvent>,
    /// What to tell the person or an operator.
    pub notices: Vec<machine::Notice>,
}

/// What became of one report of a batch ([`Store::apply_reports`]).
#[derive(Debug)]
pub enum Reported {
    /// The closure took it.
    Accepted,
    /// The closure no longer wants that effect (a new request replaced the
    /// old one): its outbox row can be dropped.
    Unwanted,
    /// The library refused it; the lease runs out and it is delivered again.
    Refused(offboard::Error),
}

/// What a worker's tick did.
#[derive(Debug)]
pub enum Ticked {
    /// Nothing was due.
    NothingDue,
    /// A due closure was stepped.
    Stepped(Box<Applied>),
    /// A due closure refused the tick; it is looked at again later.
    Refused(String, offboard::Error),
}

/// An effect a worker has leased from the outbox.
#[derive(Debug, Clone)]
pub struct Leased {
    /// The closure it belongs to.
    pub closure: String,
    /// The effect (its id is the idempotency key).
    pub effect: Effect,
    /// How many times it has been handed to a worker, this time included.
    pub deliveries: i64,
}

/// One idempotency key as the fake downstream systems recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownstreamKey {
    /// The idempotency key.
    pub key: String,
    /// The system that recorded it.
    pub adapter: String,
    /// How often it was called with the key.
    pub calls: i64,
    /// How often it performed the action (1 when all is well).
    pub performed: i64,
}

/// One outbox row with what the downstream systems recorded for its key.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EffectRow {
    /// The idempotency key.
    pub key: String,
    /// The closure.
    pub closure: String,
    /// The adapter that performs it.
    pub adapter: String,
    /// The action's type, e.g. `cancel_subscription`.
    pub action: String,
    /// `pending`, `waiting_retry`, `done`, `failed` or `dropped`.
    pub status: String,
    /// Times handed to a worker.
    pub deliveries: i64,
    /// Times the downstream system was called with this key.
    pub calls: i64,
    /// Times the downstream system actually performed it (1 when all is well).
    pub performed: i64,
    /// The worker whose call performed it.
    pub performed_by: Option<String>,
}

/// Counts for the operator.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Stats {
    /// The backend.
    pub backend: Backend,
    /// Accounts stored.
    pub accounts: i64,
    /// Closures per phase.
    pub closures: Vec<(String, i64)>,
    /// Outbox rows per status.
    pub outbox: Vec<(String, i64)>,
    /// Audit events stored.
    pub audit_events: i64,
    /// Actions the downstream systems performed.
    pub performed: i64,
    /// Actions performed under a key the outbox never held (must be 0).
    pub performed_without_outbox: i64,
    /// Deliveries of outbox effects beyond the first: retries after a
    /// failure or a timeout, and leases that ran out before their report.
    pub redeliveries: i64,
    /// Calls the downstream systems received (each key's first and every
    /// repeat): each is one transaction of theirs.
    pub downstream_calls: i64,
    /// PostgreSQL's own counters (absent on SQLite), for load tests.
    pub database: Option<DatabaseCounters>,
}

/// PostgreSQL's counters for the service's database and schema
/// (`pg_stat_database`, `pg_stat_user_tables`; the server publishes them
/// within about a second).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DatabaseCounters {
    /// Transactions committed in the database since its statistics began,
    /// by every client (read-only ones included).
    pub commits: i64,
    /// Rows ever inserted into or updated in the schema's `closures` table:
    /// one per write of a closure.
    pub closure_writes: i64,
}

/// An account as listed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountSummary {
    /// Its id.
    pub id: String,
    /// Its closure's phase, if it has one.
    pub phase: Option<String>,
}

/// How many times a step is re-run when another writer changed the closure first.
const MAX_ATTEMPTS: u32 = 8;

fn schema_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> ServiceError {
    ServiceError::Corrupt(format!("{what}: {err}"))
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn rfc3339(seconds: i64) -> Option<String> {
    DateTime::from_timestamp(seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Plain data with string keys: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The outbox word for an effect's progress.
fn outbox_status(status: &EffectStatus) -> &'static str {
    match status {
        EffectStatus::Planned => "planned",
        EffectStatus::Pending => "pending",
        EffectStatus::RetryScheduled { .. } => "waiting_retry",
        EffectStatus::Succeeded { .. } => "done",
        EffectStatus::Failed { .. } => "failed",
        EffectStatus::Withdrawn { .. } => "dropped",
        // A status added by a later core: still to be performed.
        _ => "pending",
    }
}

/// One step through the core's host loop: a driver rebuilt from the stored
/// state applies `command`; returns the step and every effect then due (what
/// the outbox must hold as pending). A refused command changes nothing.
fn drive_step(
    state: &ClosureState,
    command: &Command,
    ctx: &Context<'_>,
) -> Result<(Step, Vec<Effect>), offboard::Error> {
    let mut driver = Driver::new(state.clone());
    let step = driver.handle(command, ctx)?;
    let due = std::iter::from_fn(|| driver.poll_effect()).collect();
    Ok((step, due))
}

/// Rows per multi-row statement: at 10 parameters a row, far below
/// SQLite's 32 766 and PostgreSQL's 65 535.
const ROWS_PER_STATEMENT: usize = 500;

/// `head`, then `rows` tuples of `columns` numbered placeholders (`($1, $2),
/// ($3, $4)`), then `tail`: one statement for many rows.
fn values_sql(head: &str, rows: usize, columns: usize, tail: &str) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 6);
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            let _ = write!(
                sql,
                "{}${}",
                if c == 0 { "" } else { ", " },
                r * columns + c + 1
            );
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Whether `after` lacks an effect `before` listed. The effects list only
/// grows at its end, except when a step compacts settled effects away; so
/// when the last effect `before` listed is still in its place, none went.
fn dropped_some(before: &ClosureState, after: &ClosureState) -> bool {
    let Some(last) = before.effects.len().checked_sub(1) else {
        return false;
    };
    after.effects.get(last).map(|r| &r.effect.id) != before.effects.get(last).map(|r| &r.effect.id)
}

/// How many entities a snapshot holds: what `--max-snapshot-entities`
/// bounds.
pub fn entities(snapshot: &Snapshot) -> usize {
    let members: usize = snapshot.tenants.iter().map(|t| t.members.len()).sum();
    snapshot.tenants.len()
        + members
        + snapshot.subscriptions.len()
        + snapshot.domains.len()
        + snapshot.payment_methods.len()
        + snapshot.invoices.len()
        + snapshot.legal_holds.len()
}

/// When the worker should tick `state` next, in Unix seconds. A halted
/// closure waits on the account's facts, so it is re-checked periodically.
fn next_tick_at(
    state: &ClosureState,
    policy: &ClosurePolicy,
    now: DateTime<Utc>,
    halted_recheck_seconds: i64,
) -> Option<i64> {
    match state.phase {
        Phase::Halted { .. } => Some(timestamp(now).saturating_add(halted_recheck_seconds)),
        _ => state.next_tick(policy).map(timestamp),
    }
}

impl Store {
    /// Connects, creates the tables if they are missing and adds the sample accounts.
    pub async fn open(options: &StoreOptions) -> Result<Store, ServiceError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(&options.url).map_err(ServiceError::Startup)?;
        let schema = match (&options.schema, backend) {
            (Some(name), Backend::Postgres) if schema_name_ok(name) => Some(name.clone()),
            (Some(name), Backend::Postgres) => {
                return Err(ServiceError::Startup(format!(
                    "schema `{name}`: use lower-case letters, digits and _"
                )))
            }
            (Some(_), Backend::Sqlite) => {
                return Err(ServiceError::Startup(
                    "--schema is for PostgreSQL; SQLite keeps one database per file".into(),
                ))
            }
            (None, _) => None,
        };
        if let Some(schema) = &schema {
            let mut conn = AnyConnection::connect(&options.url).await?;
            if options.reset_schema {
                conn.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                    .await?;
            }
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await?;
            conn.close().await?;
        }
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL survives a killed process; NORMAL sync skips an fsync per commit.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect(&options.url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(move |conn, _| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            // A safety net: the server ends a transaction left open
                            // (say, by a cancelled future) instead of keeping its locks.
                            conn.execute("SET idle_in_transaction_session_timeout = '60s'")
                                .await?;
                            if let Some(schema) = schema {
                                conn.execute(format!("SET search_path TO {schema}").as_str())
                                    .await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(&options.url)
                    .await?
            }
        };
        let store = Store {
            pool,
            backend,
            limits: options.limits,
            group: Arc::default(),
            grouped: Arc::default(),
        };
        store.migrate().await?;
        store.move_legacy_accounts().await?;
        store.seed_samples().await?;
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the tables up to date: the migrations in
    /// `examples/service/migrations/<backend>`, built into the binary, each
    /// run once and recorded in `_sqlx_migrations`. On PostgreSQL the
    /// migrator holds an advisory lock, so processes starting together do
    /// not race; a database already further along than this binary knows
    /// is refused.
    async fn migrate(&self) -> Result<(), ServiceError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| ServiceError::Startup(format!("migrating the database: {e}")))
    }

    /// Moves accounts stored by a service before migration 0004 (one JSON
    /// document per row in `accounts`) into the account tables, in one
    /// transaction, emptying `accounts`. A document the library no longer
    /// reads stops the start: data is not dropped silently.
    async fn move_legacy_accounts(&self) -> Result<(), ServiceError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query("SELECT id, data, updated_at FROM accounts ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        for r in &rows {
            let id: String = r.try_get(0)?;
            let data: String = r.try_get(1)?;
            let updated_at: i64 = r.try_get(2)?;
            let snapshot = Snapshot::from_json(&data).map_err(|e| {
                ServiceError::Startup(format!(
                    "moving account `{id}` into the account tables: {e}"
                ))
            })?;
            let at = DateTime::from_timestamp(updated_at, 0).unwrap_or(snapshot.taken_at);
            accounts::write(&mut tx, &snapshot, at).await?;
        }
        if !rows.is_empty() {
            sqlx::query("DELETE FROM accounts")
                .execute(&mut *tx)
                .await?;
            tracing::info!(
                accounts = rows.len(),
                "moved the stored accounts into the account tables"
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds the sample accounts to a database that has never had them
    /// (recorded in `settings`, so an account closed and deleted does not
    /// come back at the next start).
    async fn seed_samples(&self) -> Result<(), ServiceError> {
        let mut tx = self.pool.begin().await?;
        let seeded = sqlx::query("SELECT value FROM settings WHERE name = 'samples_seeded'")
            .fetch_optional(&mut *tx)
            .await?;
        if seeded.is_some() {
            return Ok(());
        }
        for (_, sample) in crate::samples::ALL {
            let snapshot = Snapshot::from_json(sample)?;
            if !accounts::known(&mut tx, snapshot.account.id.as_str()).await? {
                accounts::write(&mut tx, &snapshot, snapshot.taken_at).await?;
            }
        }
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('samples_seeded', '1')
             ON CONFLICT (name) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores (or replaces) an account's data: a valid snapshot of the
    /// account `id`, written into the account tables (see
    /// [`crate::accounts`]). Refused, with nothing written, when it is over
    /// the limits, when it names records of other accounts, or when it
    /// would leave another account's snapshot invalid.
    pub async fn put_account(
        &self,
        id: &str,
        data: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let snapshot = Snapshot::from_json(data)?;
        self.within_limits(&snapshot)?;
        snapshot.validate()?;
        if snapshot.account.id.as_str() != id {
            return Err(ServiceError::BadBody(format!(
                "the snapshot is of account `{}`, not `{id}`",
                snapshot.account.id
            )));
        }
        let mut tx = self.pool.begin().await?;
        let others = accounts::write(&mut tx, &snapshot, now).await?;
        for other in others {
            let Some(theirs) = accounts::read(&mut tx, &other, now).await? else {
                continue;
            };
            let checked = self
                .within_limits(&theirs)
                .and_then(|()| theirs.validate().map_err(ServiceError::from));
            if let Err(e) = checked {
                return Err(ServiceError::ImportConflict(format!(
                    "it would leave account `{other}`, which shares a tenant with `{id}`, \
                     with data that is not valid: {e}"
                )));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    fn within_limits(&self, snapshot: &Snapshot) -> Result<(), ServiceError> {
        let entities = entities(snapshot);
        if entities > self.limits.snapshot_entities {
            return Err(ServiceError::LimitExceeded {
                what: "entities in the account's snapshot",
                actual: entities,
                limit: self.limits.snapshot_entities,
            });
        }
        Ok(())
    }

    /// An account's data: its snapshot, assembled from the account tables now.
    pub async fn account(&self, id: &str, now: DateTime<Utc>) -> Result<Snapshot, ServiceError> {
        let mut conn = self.pool.acquire().await?;
        accounts::read(&mut conn, id, now)
            .await?
            .ok_or_else(|| ServiceError::UnknownAccount(id.to_owned()))
    }

    /// The stored account `id` itself (its row, not its records), if any.
    pub async fn account_row(&self, id: &str) -> Result<Option<Account>, ServiceError> {
        let mut conn = self.pool.acquire().await?;
        Ok(accounts::read_account(&mut conn, id).await?.map(|(a, _)| a))
    }

    /// Records the account's customer at the billing provider (`stripe`,
    /// `cus_…`), which the billing adapter deletes when the account's
    /// personal data is purged.
    pub async fn set_billing_customer(
        &self,
        id: &str,
        provider: &str,
        customer: &str,
    ) -> Result<(), ServiceError> {
        let mut tx = self.pool.begin().await?;
        if !accounts::known(&mut tx, id).await? {
            return Err(ServiceError::UnknownAccount(id.to_owned()));
        }
        sqlx::query(
            "INSERT INTO billing_customers (user_id, provider, customer_id) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET provider = excluded.provider,
                 customer_id = excluded.customer_id",
        )
        .bind(id)
        .bind(provider)
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account's billing provider and customer there, if recorded.
    pub async fn billing_customer(
        &self,
        id: &str,
    ) -> Result<Option<(String, String)>, ServiceError> {
        let row =
            sqlx::query("SELECT provider, customer_id FROM billing_customers WHERE user_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        })
    }

    /// The customer at `provider` of the account whose closure is `closure`.
    pub async fn billing_customer_of_closure(
        &self,
        closure: &str,
        provider: &str,
    ) -> Result<Option<String>, ServiceError> {
        let row = sqlx::query(
            "SELECT b.customer_id FROM billing_customers b
             JOIN closures c ON c.account_id = b.user_id
             WHERE c.id = $1 AND b.provider = $2",
        )
        .bind(closure)
        .bind(provider)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    /// The accounts, with their closures' phases, by id: at most `limit`
    /// of them after the id `after`.
    pub async fn accounts(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccountSummary>, ServiceError> {
        let rows = sqlx::query(
            // Closed accounts have no data any more (the fake delete_account
            // removes it), but their closures are still listed.
            "SELECT id, phase FROM (
                SELECT a.id AS id, c.phase AS phase FROM users a
                LEFT JOIN closures c ON c.account_id = a.id
                UNION ALL
                SELECT c.account_id AS id, c.phase AS phase FROM closures c
                WHERE NOT EXISTS (SELECT 1 FROM users a WHERE a.id = c.account_id)
             ) listed WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountSummary {
                    id: r.try_get(0)?,
                    phase: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// The snapshot a worker's tick or report of `state` is given: the
    /// whole account until execution starts, then only the account and its
    /// legal holds, all the library reads of it from then on
    /// ([`ClosureState::needs_snapshot`]).
    async fn snapshot_for_worker(
        conn: &mut AnyConnection,
        state: &ClosureState,
        now: DateTime<Utc>,
    ) -> Result<Option<Snapshot>, ServiceError> {
        let account = state.account.as_str();
        if state.needs_snapshot() {
            accounts::read(conn, account, now).await
        } else {
            accounts::read_account_and_holds(conn, account, now).await
        }
    }

    /// What closing the account would take, as `actor` sees it now.
    pub async fn assess(
        &self,
        account: &str,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
    ) -> Result<Assessment, ServiceError> {
        let mut conn = self.pool.acquire().await?;
        let snapshot = accounts::read(&mut conn, account, now)
            .await?
            .ok_or_else(|| ServiceError::UnknownAccount(account.to_owned()))?;
        Ok(offboard::assess(&snapshot, actor, policy, now)?)
    }

    async fn load(
        &self,
        conn: &mut AnyConnection,
        lookup: Lookup<'_>,
    ) -> Result<Option<Stored>, ServiceError> {
        let (column, key) = match lookup {
            Lookup::Account(id) => ("account_id", id),
            Lookup::Closure(id) => ("id", id),
        };
        let sql = format!(
            "{SELECT_CLOSURE} WHERE {column} = $1{}",
            self.backend.lock()
        );
        let row = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| Store::read(&r)).transpose()
    }

    fn read(r: &sqlx::any::AnyRow) -> Result<Stored, ServiceError> {
        let id: String = r.try_get(0)?;
        let state: String = r.try_get(2)?;
        let state =
            ClosureState::from_json(&state).map_err(|e| corrupt(&format!("closure {id}"), e))?;
        Ok(Stored {
            id,
            account: r.try_get(1)?,
            state,
            version: r.try_get(3)?,
            next_tick_at: r.try_get(4)?,
            last_error: r.try_get(5)?,
        })
    }

    /// The closure of `account`.
    pub async fn closure(&self, account: &str) -> Result<ClosureView, ServiceError> {
        let row = sqlx::query(&format!("{SELECT_CLOSURE} WHERE account_id = $1"))
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ServiceError::NoClosure(account.to_owned()))?;
        Ok(view(Store::read(&row)?))
    }

    /// Runs `command` against the closure `lookup` names, in one transaction.
    /// A `request` for an account without a closure creates it. With
    /// `expected_version` (the caller's `If-Match`), a closure at any other
    /// version (0: none yet) refuses the command and changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(
        &self,
        lookup: Lookup<'_>,
        command: &Command,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
        expected_version: Option<i64>,
    ) -> Result<Applied, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            let loaded = self.load(&mut tx, lookup).await?;
            if let Some(expected) = expected_version {
                let current = loaded.as_ref().map_or(0, |row| row.version);
                if current != expected {
                    return Err(ServiceError::PreconditionFailed { expected, current });
                }
            }
            let (row, is_new) = match loaded {
                Some(row) => (row, false),
                None => match (lookup, command) {
                    (Lookup::Account(account), Command::Request { .. }) => {
                        let id = crate::error::user_id("account", account)?;
                        let closure = format!("cl_{account}");
                        (
                            Stored {
                                state: ClosureState::new(closure.clone(), id)?,
                                id: closure,
                                account: account.to_owned(),
                                version: 0,
                                next_tick_at: None,
                                last_error: None,
                            },
                            true,
                        )
                    }
                    (Lookup::Account(account), _) => {
                        return Err(ServiceError::NoClosure(account.to_owned()))
                    }
                    (Lookup::Closure(id), _) => return Err(ServiceError::NoClosure(id.to_owned())),
                },
            };
            let snapshot = accounts::read(&mut tx, &row.account, now).await?;
            if is_new && snapshot.is_none() {
                return Err(ServiceError::UnknownAccount(row.account));
            }
            let ctx = Context {
                now,
                actor,
                policy,
                snapshot: snapshot.as_ref(),
                audit_key: None,
            };
            // A refused command writes nothing: the transaction is dropped, which rolls it back.
            let (step, due) = drive_step(&row.state, command, &ctx)?;
            if step.state.effects.len() > self.limits.plan_effects {
                return Err(ServiceError::LimitExceeded {
                    what: "effects in the closure's plan",
                    actual: step.state.effects.len(),
                    limit: self.limits.plan_effects,
                });
            }
            let written = self
                .commit_step(
                    tx,
                    row,
                    is_new,
                    step,
                    &due,
                    policy,
                    now,
                    halted_recheck_seconds,
                )
                .await?;
            if let Some(applied) = written {
                return Ok(applied);
            }
        }
        Err(ServiceError::Conflict(MAX_ATTEMPTS))
    }

    /// Closes `account` for inactivity as the host's system (`actor`): the
    /// request (reason `inactivity`) and its confirmation with the phrase
    /// the policy asks for, each a step of its own and audited as such, in
    /// one transaction that writes the closure once. The policy must allow
    /// it (`authorization.inactivity_closure`); anything the core refuses
    /// (blockers, a closure already under way) writes nothing.
    pub async fn sweep_inactive(
        &self,
        account: &str,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> Result<Applied, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            let loaded = self.load(&mut tx, Lookup::Account(account)).await?;
            let (row, is_new) = match loaded {
                Some(row) => (row, false),
                None => {
                    let id = crate::error::user_id("account", account)?;
                    let closure = format!("cl_{account}");
                    (
                        Stored {
                            state: ClosureState::new(closure.clone(), id)?,
                            id: closure,
                            account: account.to_owned(),
                            version: 0,
                            next_tick_at: None,
                            last_error: None,
                        },
                        true,
                    )
                }
            };
            let snapshot = accounts::read(&mut tx, &row.account, now)
                .await?
                .ok_or_else(|| ServiceError::UnknownAccount(row.account.clone()))?;
            let ctx = Context {
                now,
                actor,
                policy,
                snapshot: Some(&snapshot),
                audit_key: None,
            };
            let request = Command::Request {
                feedback: None,
                token_digest: None,
                reason: Some(machine::RequestReason::Inactivity),
            };
            let requested = machine::step(&row.state, &request, &ctx)?;
            let phrase = policy
                .confirmation_phrase(&snapshot.account)
                .unwrap_or_default();
            let (confirmed, due) = drive_step(&requested.state, &Command::confirm(phrase), &ctx)?;
            let step = Step {
                state: confirmed.state,
                effects: [requested.effects, confirmed.effects].concat(),
                audit: [requested.audit, confirmed.audit].concat(),
                notices: [requested.notices, confirmed.notices].concat(),
            };
            if let Some(applied) = self
                .commit_step(
                    tx,
                    row,
                    is_new,
                    step,
                    &due,
                    policy,
                    now,
                    halted_recheck_seconds,
                )
                .await?
            {
                return Ok(applied);
            }
        }
        Err(ServiceError::Conflict(MAX_ATTEMPTS))
    }

    /// Reports the outcomes of a batch of one closure's effects: each
    /// report is a step of its own through the driver (so each is audited
    /// as it would be alone), and the closure, its audit events and its
    /// outbox are written once. A worker performing a large plan so writes
    /// the state once per batch, not once per effect.
    ///
    /// The same transaction leases to `worker` (for `lease_seconds`) the
    /// effects the closure then has pending, up to [`NEXT_STAGE_EFFECTS`]:
    /// the next stage, which the batch's last report issued. The worker
    /// performs it at once and reports it the same way, so a closure goes
    /// through its plan at one write per stage rather than waiting a pass,
    /// and a lease, for each.
    ///
    /// **Group commit.** The reports of different closures that arrive
    /// while a transaction is under way share the next one: one committer
    /// per store takes every batch waiting (up to [`GROUP_MAX`]), writes
    /// each closure as above in closure-id order (so two processes' groups
    /// lock rows in one order and cannot deadlock), and commits once. Each
    /// stage is still durable before the worker performs the next (the
    /// point of no return is decided on what is written), but a commit now
    /// carries the stages of many closures. A closure another writer
    /// changed meanwhile is written again in the next transaction; any
    /// other error rolls the group back and each batch is then written in
    /// a transaction of its own, so an error reaches only the batch it
    /// belongs to, as without grouping.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_reports(
        &self,
        closure: &str,
        reports: &[Command],
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
        worker: &str,
        lease_seconds: i64,
    ) -> Result<Reports, ServiceError> {
        let request = ReportBatch {
            closure: closure.to_owned(),
            reports: reports.to_vec(),
            actor: actor.clone(),
            policy: policy.clone(),
            now,
            halted_recheck_seconds,
            worker: worker.to_owned(),
            lease_seconds,
        };
        let committer = self.group.get_or_init(|| {
            let (send, receive) = tokio::sync::mpsc::unbounded_channel();
            // The committer's own handle has no committer: it writes.
            let store = Store {
                group: Arc::default(),
                ..self.clone()
            };
            tokio::spawn(store.commit_groups(receive));
            send
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        match committer.send(GroupMember { request, reply }) {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                Err(ServiceError::Corrupt(
                    "the report committer stopped before it answered".into(),
                ))
            }),
            // The committer is gone (its runtime ended): write alone.
            Err(returned) => self.apply_alone(&returned.0.request).await,
        }
    }

    /// The committer: takes the batches waiting, writes them in one
    /// transaction, answers each, until every handle is dropped.
    async fn commit_groups(self, mut waiting: tokio::sync::mpsc::UnboundedReceiver<GroupMember>) {
        while let Some(first) = waiting.recv().await {
            let mut group = vec![first];
            while group.len() < GROUP_MAX {
                match waiting.try_recv() {
                    Ok(member) => group.push(member),
                    Err(_) => break,
                }
            }
            self.apply_group(group).await;
        }
    }

    /// Writes a group of batches, one transaction per attempt (see
    /// [`Store::apply_reports`]).
    async fn apply_group(&self, mut group: Vec<GroupMember>) {
        group.sort_by(|a, b| a.request.closure.cmp(&b.request.closure));
        for _ in 0..MAX_ATTEMPTS {
            if group.is_empty() {
                return;
            }
            let mut written = Vec::with_capacity(group.len());
            let mut again = Vec::new();
            let mut rest = std::mem::take(&mut group).into_iter();
            let outcome: Result<(), ServiceError> = async {
                let mut tx = self.pool.begin().await?;
                for member in rest.by_ref() {
                    match self.report_in(&mut tx, &member.request).await {
                        Ok(Some(reports)) => written.push((member, reports)),
                        Ok(None) => again.push(member),
                        Err(e) => {
                            // Back in line: the group is written again alone.
                            again.push(member);
                            return Err(e);
                        }
                    }
                }
                tx.commit().await?;
                Ok(())
            }
            .await;
            match outcome {
                Ok(()) => {
                    self.count_reports(written.len());
                    for (member, reports) in written {
                        let _ = member.reply.send(Ok(reports));
                    }
                    group = again;
                }
                Err(error) => {
                    // Rolled back (the transaction dropped): every batch
                    // of the group on its own, errors to their own.
                    tracing::warn!(%error, closures = written.len() + again.len() + rest.len(),
                        "a group of reports failed; writing each alone");
                    let members = written
                        .into_iter()
                        .map(|(member, _)| member)
                        .chain(again)
                        .chain(rest);
                    for member in members {
                        let answer = self.apply_alone(&member.request).await;
                        let _ = member.reply.send(answer);
                    }
                    return;
                }
            }
        }
        for member in group {
            let _ = member.reply.send(Err(ServiceError::Conflict(MAX_ATTEMPTS)));
        }
    }

    fn count_reports(&self, batches: usize) {
        self.grouped.0.fetch_add(1, Ordering::Relaxed);
        let batches = u64::try_from(batches).unwrap_or(u64::MAX);
        self.grouped.1.fetch_add(batches, Ordering::Relaxed);
    }

    /// Report transactions this store (and its clones) committed, and the
    /// batches of reports they carried: with many closures reporting at
    /// once, fewer transactions than batches.
    pub fn report_transactions(&self) -> (u64, u64) {
        (
            self.grouped.0.load(Ordering::Relaxed),
            self.grouped.1.load(Ordering::Relaxed),
        )
    }

    /// One batch in a transaction of its own.
    async fn apply_alone(&self, request: &ReportBatch) -> Result<Reports, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            if let Some(reports) = self.report_in(&mut tx, request).await? {
                tx.commit().await?;
                self.count_reports(1);
                return Ok(reports);
            }
            tx.rollback().await?;
        }
        Err(ServiceError::Conflict(MAX_ATTEMPTS))
    }

    /// One batch's steps and writes inside `tx`; `None` when another writer
    /// changed the closure first (nothing of the batch is written then).
    async fn report_in(
        &self,
        tx: &mut AnyConnection,
        request: &ReportBatch,
    ) -> Result<Option<Reports>, ServiceError> {
        let ReportBatch {
            closure,
            reports,
            actor,
            policy,
            now,
            halted_recheck_seconds,
            worker,
            lease_seconds,
        } = request;
        let (now, halted_recheck_seconds, lease_seconds) =
            (*now, *halted_recheck_seconds, *lease_seconds);
        let row = self
            .load(&mut *tx, Lookup::Closure(closure))
            .await?
            .ok_or_else(|| ServiceError::NoClosure(closure.to_owned()))?;
        let snapshot = Store::snapshot_for_worker(&mut *tx, &row.state, now).await?;
        let ctx = Context {
            now,
            actor,
            policy,
            snapshot: snapshot.as_ref(),
            audit_key: None,
        };
        // One step per report, through the core's pure `step`: the
        // state is cloned once per report (a plan of ten thousand
        // effects makes that the cost), nothing else is per effect.
        let mut combined = Step {
            state: row.state.clone(),
            effects: Vec::new(),
            audit: Vec::new(),
            notices: Vec::new(),
        };
        let mut results = Vec::with_capacity(reports.len());
        // How the batch's steps last saw the effects a later step
        // compacted away (a purge drops settled effects from the
        // state), for their outbox rows.
        let mut seen = std::collections::HashMap::new();
        for report in reports {
            match machine::step(&combined.state, report, &ctx) {
                Ok(step) => {
                    if dropped_some(&combined.state, &step.state) {
                        for r in &combined.state.effects {
                            seen.insert(r.effect.id.to_string(), outbox_status(&r.status));
                        }
                        for r in &step.state.effects {
                            seen.insert(r.effect.id.to_string(), outbox_status(&r.status));
                        }
                    }
                    combined.state = step.state;
                    combined.effects.extend(step.effects);
                    combined.audit.extend(step.audit);
                    combined.notices.extend(step.notices);
                    results.push(Reported::Accepted);
                }
                Err(e) if e.code() == offboard::ErrorCode::UnknownEffect => {
                    results.push(Reported::Unwanted);
                }
                Err(e) => results.push(Reported::Refused(e)),
            }
        }
        if !results.iter().any(|r| matches!(r, Reported::Accepted)) {
            // Nothing to write.
            return Ok(Some(Reports {
                results,
                next: Vec::new(),
            }));
        }
        // What a driver on the final state has due: every pending effect.
        let due: Vec<Effect> = combined
            .state
            .effects
            .iter()
            .filter(|r| r.status == EffectStatus::Pending)
            .map(|r| r.effect.clone())
            .collect();
        if self
            .write(
                &mut *tx,
                &row,
                false,
                &combined,
                &due,
                policy,
                now,
                halted_recheck_seconds,
                &seen,
            )
            .await?
        {
            let next = self
                .lease_rows(
                    &mut *tx,
                    "closure_id = $3",
                    closure,
                    worker,
                    now,
                    lease_seconds,
                    NEXT_STAGE_EFFECTS,
                )
                .await?;
            return Ok(Some(Reports { results, next }));
        }
        Ok(None)
    }

    /// Leases to `worker` the pending, unleased outbox rows `filter` picks
    /// (`$3` is `value`), in their plan's order.
    #[allow(clippy::too_many_arguments)]
    async fn lease_rows(
        &self,
        conn: &mut AnyConnection,
        filter: &str,
        value: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        limit: i64,
    ) -> Result<Vec<Leased>, ServiceError> {
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2, deliveries = deliveries + 1
             WHERE key IN (SELECT key FROM outbox WHERE {filter} AND status = 'pending'
                 AND (lease_until IS NULL OR lease_until < $4) ORDER BY turn, key LIMIT $5)
             RETURNING key, closure_id, effect, deliveries, turn"
        );
        let mut rows = sqlx::query(&sql)
            .bind(worker)
            .bind(timestamp(now).saturating_add(lease_seconds))
            .bind(value)
            .bind(timestamp(now))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.sort_by_key(|r| r.try_get::<i64, _>(4).unwrap_or(i64::MAX));
        rows.iter().map(leased).collect()
    }

    /// Claims one closure whose tick is due (skipping any another worker
    /// holds) and ticks it as `actor`.
    pub async fn tick_due(
        &self,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> Result<Ticked, ServiceError> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "{SELECT_CLOSURE} WHERE next_tick_at <= $1 ORDER BY next_tick_at LIMIT 1{}",
            self.backend.claim()
        );
        let found = sqlx::query(&sql)
            .bind(timestamp(now))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = found else {
            tx.commit().await?;
            return Ok(Ticked::NothingDue);
        };
        let row = Store::read(&found)?;
        let snapshot = Store::snapshot_for_worker(&mut tx, &row.state, now).await?;
        let ctx = Context {
            now,
            actor,
            policy,
            snapshot: snapshot.as_ref(),
            audit_key: None,
        };
        match drive_step(&row.state, &Command::Tick, &ctx) {
            Ok((step, due)) => Ok(self
                .commit_step(
                    tx,
                    row,
                    false,
                    step,
                    &due,
                    policy,
                    now,
                    halted_recheck_seconds,
                )
                .await?
                .map_or(Ticked::NothingDue, |applied| {
                    Ticked::Stepped(Box::new(applied))
                })),
            Err(err) => {
                // Look again later rather than spin on a closure that refuses.
                sqlx::query("UPDATE closures SET next_tick_at = $1, last_error = $2 WHERE id = $3")
                    .bind(timestamp(now).saturating_add(halted_recheck_seconds))
                    .bind(err.to_string())
                    .bind(row.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Ticked::Refused(row.id, err))
            }
        }
    }

    /// Writes an accepted step and commits. `None` (rolled back) when another
    /// writer changed the closure first.
    #[allow(clippy::too_many_arguments)]
    async fn commit_step(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        row: Stored,
        is_new: bool,
        step: Step,
        due: &[Effect],
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> Result<Option<Applied>, ServiceError> {
        if self
            .write(
                &mut tx,
                &row,
                is_new,
                &step,
                due,
                policy,
                now,
                halted_recheck_seconds,
                &std::collections::HashMap::new(),
            )
            .await?
        {
            tx.commit().await?;
            Ok(Some(applied(
                row,
                step,
                policy,
                now,
                halted_recheck_seconds,
            )))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }

    /// Writes an accepted step and the effects due after it. Returns false,
    /// having written nothing that counts, when another writer changed the
    /// closure first.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        conn: &mut AnyConnection,
        row: &Stored,
        is_new: bool,
        step: &Step,
        due: &[Effect],
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
        seen: &std::collections::HashMap<String, &'static str>,
    ) -> Result<bool, ServiceError> {
        let state = to_json(&step.state);
        let phase = step.state.phase.kind().as_str();
        let next = next_tick_at(&step.state, policy, now, halted_recheck_seconds);
        let at = timestamp(now);
        let written = if is_new {
            sqlx::query(
                "INSERT INTO closures (id, account_id, phase, state, version, next_tick_at, updated_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(row.id.as_str())
            .bind(row.account.as_str())
            .bind(phase)
            .bind(state.as_str())
            .bind(next)
            .bind(at)
            .execute(&mut *conn)
            .await?
        } else {
            sqlx::query(
                "UPDATE closures SET phase = $1, state = $2, version = version + 1,
                 next_tick_at = $3, last_error = NULL, updated_at = $4
                 WHERE id = $5 AND version = $6",
            )
            .bind(phase)
            .bind(state.as_str())
            .bind(next)
            .bind(at)
            .bind(row.id.as_str())
            .bind(row.version)
            .execute(&mut *conn)
            .await?
        };
        if written.rows_affected() != 1 {
            return Ok(false);
        }
        // Every statement below writes many rows at once: one round trip for
        // the audit events, one per status settled, one for the outbox rows
        // due, whatever the batch holds (in chunks, to stay under the
        // databases' bound on parameters).
        for events in step.audit.chunks(ROWS_PER_STATEMENT) {
            let sql = values_sql(
                "INSERT INTO audit_log (closure_id, sequence, hash, event) VALUES ",
                events.len(),
                4,
                "",
            );
            let mut query = sqlx::query(&sql);
            for event in events {
                query = query
                    .bind(row.id.as_str())
                    .bind(i64::try_from(event.sequence).unwrap_or(i64::MAX))
                    .bind(event.hash.as_str())
                    .bind(to_json(event));
            }
            query.execute(&mut *conn).await?;
        }
        // Settle the outbox rows of effects this step settled (a success can
        // also come late, from an earlier delivery of an effect already
        // waiting for its retry) …
        let after: std::collections::HashMap<&str, &'static str> = step
            .state
            .effects
            .iter()
            .map(|r| (r.effect.id.as_str(), outbox_status(&r.status)))
            .collect();
        let mut settled: std::collections::BTreeMap<&'static str, Vec<&str>> =
            std::collections::BTreeMap::new();
        for before in &row.state.effects {
            let was = outbox_status(&before.status);
            if !matches!(was, "pending" | "waiting_retry") {
                continue;
            }
            // An effect the final state no longer lists (a purge compacts
            // the state) settles as the batch's steps last saw it.
            let now_status = after
                .get(before.effect.id.as_str())
                .or_else(|| seen.get(before.effect.id.as_str()))
                .copied()
                .unwrap_or("dropped");
            if now_status != was && now_status != "pending" {
                settled
                    .entry(now_status)
                    .or_default()
                    .push(before.effect.id.as_str());
            }
        }
        for (status, keys) in &settled {
            self.settle(conn, status, keys, at).await?;
        }
        // … and make the outbox hold every effect the driver has due: the
        // ones this step issued (again, for a retry: same key) and any the
        // state has pending. A row already pending keeps its lease. An
        // effect pending before and after that this step did not issue is
        // in the outbox already (the outbox follows the state at every
        // step), so a step of a ten-thousand-effect plan writes only what
        // it changed.
        let issued: std::collections::HashSet<&str> =
            step.effects.iter().map(|e| e.id.as_str()).collect();
        let pending_before: std::collections::HashSet<&str> = row
            .state
            .effects
            .iter()
            .filter(|r| outbox_status(&r.status) == "pending")
            .map(|r| r.effect.id.as_str())
            .collect();
        // An effect's turn is its place in the closure's plan (see
        // `lease_effects`).
        let turns: std::collections::HashMap<&str, i64> = step
            .state
            .effects
            .iter()
            .enumerate()
            .map(|(i, r)| (r.effect.id.as_str(), i64::try_from(i).unwrap_or(i64::MAX)))
            .collect();
        let upserts: Vec<&Effect> = due
            .iter()
            .filter(|e| !pending_before.contains(e.id.as_str()) || issued.contains(e.id.as_str()))
            .collect();
        for effects in upserts.chunks(ROWS_PER_STATEMENT) {
            let sql = values_sql(
                "INSERT INTO outbox (key, closure_id, adapter, action, effect, status, deliveries,
                 created_at, updated_at, turn) VALUES ",
                effects.len(),
                10,
                " ON CONFLICT (key) DO UPDATE SET status = 'pending', lease_owner = NULL,
                 lease_until = NULL, updated_at = excluded.updated_at
                 WHERE outbox.status <> 'pending'",
            );
            let mut query = sqlx::query(&sql);
            for effect in effects {
                query = query
                    .bind(effect.id.as_str())
                    .bind(row.id.as_str())
                    .bind(Adapter::for_action(&effect.action).as_str())
                    .bind(effect.action.kind())
                    .bind(to_json(*effect))
                    .bind("pending")
                    .bind(0_i64)
                    .bind(at)
                    .bind(at)
                    .bind(turns.get(effect.id.as_str()).copied().unwrap_or(0));
            }
            query.execute(&mut *conn).await?;
        }
        Ok(true)
    }

    /// Sets the outbox rows `keys` to `status`, releasing their leases: one
    /// statement per chunk of keys.
    async fn settle(
        &self,
        conn: &mut AnyConnection,
        status: &str,
        keys: &[&str],
        at: i64,
    ) -> Result<(), ServiceError> {
        for keys in keys.chunks(ROWS_PER_STATEMENT) {
            let placeholders: Vec<String> =
                (0..keys.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE outbox SET status = $1, lease_owner = NULL, lease_until = NULL,
                 updated_at = $2 WHERE key IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(status).bind(at);
            for key in keys {
                query = query.bind(*key);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Leases up to `limit` pending effects to `worker` until `now + lease_seconds`.
    /// An effect whose lease ran out (its worker died) is leased again.
    pub async fn lease_effects(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        limit: i64,
    ) -> Result<Vec<Leased>, ServiceError> {
        // Fair to every closure: rows are taken by turn (the effect's place
        // in its closure's plan), then by age, so every closure's next
        // effects come before a large plan's later ones, and a plan of ten
        // thousand effects cannot hold the others back. The rows are picked
        // and locked once, in a materialised CTE (`SKIP LOCKED` on
        // PostgreSQL, so workers never wait on or deadlock with each
        // other), and the UPDATE only writes those: the queue pattern of
        // pgmq and its kin, on the index (status, turn, created_at).
        //
        // The closures so picked then have every effect they have pending
        // leased at once (up to four times `limit` in all, again by turn):
        // the worker performs a closure's whole stage and reports it in one
        // transaction, instead of one effect per closure per pass when many
        // closures run at once.
        let claim = self.backend.claim();
        let sql = format!(
            "WITH picked AS MATERIALIZED (SELECT closure_id FROM outbox
                 WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY turn, created_at, key LIMIT $4{claim}),
             taken AS MATERIALIZED (SELECT key FROM outbox
                 WHERE closure_id IN (SELECT closure_id FROM picked)
                 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)
                 ORDER BY turn, created_at, key LIMIT $5{claim})
             UPDATE outbox SET lease_owner = $1, lease_until = $2, deliveries = deliveries + 1
             WHERE key IN (SELECT key FROM taken)
             RETURNING key, closure_id, effect, deliveries, turn"
        );
        let mut rows = sqlx::query(&sql)
            .bind(worker)
            .bind(timestamp(now).saturating_add(lease_seconds))
            .bind(timestamp(now))
            .bind(limit)
            .bind(limit.saturating_mul(4))
            .fetch_all(&self.pool)
            .await?;
        // RETURNING gives no order: a closure's effects are performed in
        // their plan's order.
        rows.sort_by_key(|r| r.try_get::<i64, _>(4).unwrap_or(i64::MAX));
        rows.iter().map(leased).collect()
    }

    /// Hands leased effects back (the worker is stopping before it called
    /// them, or stopped waiting for the call): the next worker takes them at
    /// once instead of after the lease. (A call that was under way may still
    /// land; the next delivery, under the same key, then finds it done.)
    pub async fn release_leases(&self, worker: &str, keys: &[&str]) -> Result<(), ServiceError> {
        for key in keys {
            sqlx::query(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL
                 WHERE key = $1 AND lease_owner = $2 AND status = 'pending'",
            )
            .bind(*key)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Hands back every lease `worker` still holds (its process is stopping
    /// and did not finish in time).
    pub async fn release_all_leases(&self, worker: &str) -> Result<u64, ServiceError> {
        let done = sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks an outbox row that no closure wants any more (its report was refused).
    pub async fn drop_effect(&self, key: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
        sqlx::query(
            "UPDATE outbox SET status = 'dropped', lease_owner = NULL, lease_until = NULL,
             updated_at = $1 WHERE key = $2",
        )
        .bind(timestamp(now))
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The fake downstream system's side: performs `action` once per key.
    /// The identity system's actions change the account tables as a
    /// product's own user store would (see [`fake_identity`]), on the
    /// account of the closure whose outbox holds `key`.
    pub async fn downstream_perform(
        &self,
        adapter: Adapter,
        key: &str,
        action: &Action,
        worker: &str,
    ) -> Result<(), ServiceError> {
        self.downstream_perform_for(adapter, key, action, worker, None)
            .await
    }

    /// [`Store::downstream_perform`] for a host without this store's outbox
    /// (the Restate example): `account` names whose records the identity
    /// system's actions change. `None` looks it up through the outbox.
    pub async fn downstream_perform_for(
        &self,
        adapter: Adapter,
        key: &str,
        action: &Action,
        worker: &str,
        account: Option<&str>,
    ) -> Result<(), ServiceError> {
        let mut tx = self.pool.begin().await?;
        let seen = sqlx::query("UPDATE downstream_keys SET calls = calls + 1 WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if seen.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO downstream_keys (key, adapter, calls, performed_by) VALUES ($1, $2, 1, $3)",
            )
            .bind(key)
            .bind(adapter.as_str())
            .bind(worker)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO downstream_log (key, adapter, action, worker) VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(adapter.as_str())
            .bind(to_json(action))
            .bind(worker)
            .execute(&mut *tx)
            .await?;
            if adapter == Adapter::Identity {
                let account = match account {
                    Some(account) => Some(account.to_owned()),
                    None => sqlx::query(
                        "SELECT c.account_id FROM outbox o JOIN closures c ON c.id = o.closure_id
                         WHERE o.key = $1",
                    )
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.try_get::<String, _>(0))
                    .transpose()?,
                };
                if let Some(account) = account {
                    fake_identity(&mut tx, &account, action).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The audit log of `account`'s closure, oldest first, with the head its state records.
    ///
    /// The state and its events are written in one transaction, but read
    /// here in two statements: a worker may append between them. The log is
    /// cut at the state's cursor so the events and the head belong together.
    pub async fn audit(&self, account: &str) -> Result<(Vec<String>, String), ServiceError> {
        let view = self.closure(account).await?;
        let rows = sqlx::query(
            "SELECT event FROM audit_log WHERE closure_id = $1 AND sequence < $2 ORDER BY sequence",
        )
        .bind(view.closure.as_str())
        .bind(i64::try_from(view.state.audit.next_sequence).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let events = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, view.state.audit.head))
    }

    /// The clock offset stored in the database, in seconds.
    pub async fn clock_offset(&self) -> Result<i64, ServiceError> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = 'clock_offset_seconds'")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(0),
            Some(r) => {
                let text: String = r.try_get(0)?;
                text.parse().map_err(|e| corrupt("clock offset", e))
            }
        }
    }

    /// Moves the stored clock offset forward by `seconds`; returns the new offset.
    pub async fn advance_clock(&self, seconds: i64) -> Result<i64, ServiceError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT value FROM settings WHERE name = 'clock_offset_seconds'{}",
            self.backend.lock()
        ))
        .fetch_optional(&mut *tx)
        .await?;
        let current: i64 = match row {
            None => 0,
            Some(r) => r
                .try_get::<String, _>(0)?
                .parse()
                .map_err(|e| corrupt("clock offset", e))?,
        };
        let next = current.saturating_add(seconds);
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('clock_offset_seconds', $1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(next.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Every outbox row with the downstream systems' record of its key.
    /// The outbox by key: at most `limit` rows after the key `after`.
    pub async fn effects(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EffectRow>, ServiceError> {
        let rows = sqlx::query(
            "SELECT o.key, o.closure_id, o.adapter, o.action, o.status, o.deliveries,
                    COALESCE(k.calls, 0),
                    (SELECT COUNT(*) FROM downstream_log l WHERE l.key = o.key),
                    k.performed_by
             FROM outbox o LEFT JOIN downstream_keys k ON k.key = o.key
             WHERE o.key > $1 ORDER BY o.key LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EffectRow {
                    key: r.try_get(0)?,
                    closure: r.try_get(1)?,
                    adapter: r.try_get(2)?,
                    action: r.try_get(3)?,
                    status: r.try_get(4)?,
                    deliveries: r.try_get(5)?,
                    calls: r.try_get(6)?,
                    performed: r.try_get(7)?,
                    performed_by: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// What the fake downstream systems recorded, key by key: the adapter,
    /// how often it was called and how often it performed (for hosts that
    /// keep no outbox here, such as the Restate example).
    pub async fn downstream_record(&self) -> Result<Vec<DownstreamKey>, ServiceError> {
        let rows = sqlx::query(
            "SELECT k.key, k.adapter, k.calls,
                    (SELECT COUNT(*) FROM downstream_log l WHERE l.key = k.key)
             FROM downstream_keys k ORDER BY k.key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DownstreamKey {
                    key: r.try_get(0)?,
                    adapter: r.try_get(1)?,
                    calls: r.try_get(2)?,
                    performed: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Counts for the operator.
    pub async fn stats(&self) -> Result<Stats, ServiceError> {
        let count = |sql: &'static str| async move {
            let row = sqlx::query(sql).fetch_one(&self.pool).await?;
            row.try_get::<i64, _>(0).map_err(ServiceError::from)
        };
        let grouped = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
                .collect::<Result<Vec<_>, ServiceError>>()
        };
        Ok(Stats {
            backend: self.backend,
            accounts: count("SELECT COUNT(*) FROM users").await?,
            closures: grouped("SELECT phase, COUNT(*) FROM closures GROUP BY phase ORDER BY phase")
                .await?,
            outbox: grouped("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
                .await?,
            audit_events: count("SELECT COUNT(*) FROM audit_log").await?,
            performed: count("SELECT COUNT(*) FROM downstream_log").await?,
            performed_without_outbox: count(
                "SELECT COUNT(*) FROM downstream_log WHERE key NOT IN (SELECT key FROM outbox)",
            )
            .await?,
            // PostgreSQL sums BIGINTs as NUMERIC; the cast keeps one type for both backends.
            redeliveries: count(
                "SELECT CAST(COALESCE(SUM(deliveries - 1), 0) AS BIGINT) FROM outbox
                 WHERE deliveries > 1",
            )
            .await?,
            downstream_calls: count(
                "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM downstream_keys",
            )
            .await?,
            database: match self.backend {
                Backend::Sqlite => None,
                Backend::Postgres => Some(DatabaseCounters {
                    commits: count(
                        "SELECT CAST(xact_commit AS BIGINT) FROM pg_stat_database
                         WHERE datname = current_database()",
                    )
                    .await?,
                    closure_writes: count(
                        "SELECT CAST(COALESCE(SUM(n_tup_ins + n_tup_upd), 0) AS BIGINT)
                         FROM pg_stat_user_tables
                         WHERE relname = 'closures' AND schemaname = current_schema()",
                    )
                    .await?,
                }),
            },
        })
    }
}

/// What the fake identity system does to the account tables, as a
/// product's user store would: deleting the account really removes its data
/// (from then on the service has no snapshot to give the closure, and the
/// closure's own hold set is what keeps held records), and the tenant steps
/// change the tenants every member's snapshot is assembled from.
async fn fake_identity(
    conn: &mut AnyConnection,
    account: &str,
    action: &Action,
) -> Result<(), ServiceError> {
    match action {
        Action::DeleteAccount => accounts::delete(conn, account).await?,
        Action::DeleteTenant { tenant } => accounts::delete_tenant(conn, tenant.as_str()).await?,
        Action::LeaveTenant { tenant } => {
            accounts::remove_member(conn, tenant.as_str(), account).await?
        }
        Action::RemoveMembers { tenant, users } => {
            for user in users {
                accounts::remove_member(conn, tenant.as_str(), user.as_str()).await?;
            }
        }
        Action::TransferPrimaryOwner { tenant, to } => {
            sqlx::query("UPDATE tenants SET primary_owner = $1 WHERE id = $2")
                .bind(to.as_str())
                .bind(tenant.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Action::Purge {
            class: RecordClass::PersonalData,
        } => {
            sqlx::query("DELETE FROM billing_customers WHERE user_id = $1")
                .bind(account)
                .execute(&mut *conn)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

fn view(row: Stored) -> ClosureView {
    ClosureView {
        closure: row.id,
        account: row.account,
        phase: row.state.phase.kind().as_str().to_owned(),
        version: row.version,
        next_tick_at: row.next_tick_at.and_then(rfc3339),
        last_error: row.last_error,
        state: row.state,
    }
}

fn applied(
    row: Stored,
    step: Step,
    policy: &ClosurePolicy,
    now: DateTime<Utc>,
    halted_recheck_seconds: i64,
) -> Applied {
    let after = Stored {
        next_tick_at: next_tick_at(&step.state, policy, now, halted_recheck_seconds),
        last_error: None,
        state: step.state,
        version: row.version + 1,
        ..row
    };
    Applied {
        closure: view(after),
        effects: step.effects,
        audit: step.audit,
        notices: step.notices,
    }
}
