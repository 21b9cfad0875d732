//! The worker: ticks due closures and performs the outbox's effects.
//!
//! One pass: adopt the stored clock offset, tick every due closure (each in
//! its own transaction, claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL),
//! then lease a batch of pending effects, call their adapters (with a
//! timeout) and report each outcome as a step of its own. When a pass finds
//! nothing to do, the worker sleeps for the poll interval.
//!
//! A worker killed at any moment loses nothing: a tick either committed or
//! did not; an effect it had leased is leased again once the lease runs out,
//! and the adapter, keyed by the effect's idempotency key, does not perform
//! it twice.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use offboard::machine::{Command, Outcome};
use offboard::{Actor, ActorRole, ClosurePolicy};
use tokio::sync::watch;

use crate::adapters::Refusal;
use crate::error::{user_id, ServiceError};
use crate::store::{Leased, Reported, Reports, Store, Ticked, NEXT_STAGE_EFFECTS};
use crate::App;

/// What the worker needs of the database: the six calls a pass makes, each
/// one transaction of [`Store`] (see its methods of the same names).
///
/// [`Store`] is the one a product runs; the trait is the seam the
/// deterministic simulation (`tests/simulation.rs`) uses to put faults
/// between the worker and the real store: a lost connection, a commit
/// whose answer never came, a stall, the process killed at the call.
pub trait WorkerStore: std::fmt::Debug + Send + Sync + 'static {
    /// [`Store::clock_offset`].
    fn clock_offset(&self) -> impl Future<Output = Result<i64, ServiceError>> + Send;
    /// [`Store::tick_due`].
    fn tick_due(
        &self,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> impl Future<Output = Result<Ticked, ServiceError>> + Send;
    /// [`Store::lease_effects`].
    fn lease_effects(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Leased>, ServiceError>> + Send;
    /// [`Store::release_leases`].
    fn release_leases(
        &self,
        worker: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
    /// [`Store::apply_reports`].
    #[allow(clippy::too_many_arguments)]
    fn apply_reports(
        &self,
        closure: &str,
        reports: &[Command],
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
        worker: &str,
        lease_seconds: i64,
    ) -> impl Future<Output = Result<Reports, ServiceError>> + Send;
    /// [`Store::drop_effect`].
    fn drop_effect(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
}

impl WorkerStore for Store {
    fn clock_offset(&self) -> impl Future<Output = Result<i64, ServiceError>> + Send {
        Store::clock_offset(self)
    }

    fn tick_due(
        &self,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> impl Future<Output = Result<Ticked, ServiceError>> + Send {
        Store::tick_due(self, actor, policy, now, halted_recheck_seconds)
    }

    fn lease_effects(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Leased>, ServiceError>> + Send {
        Store::lease_effects(self, worker, now, lease_seconds, limit)
    }

    fn release_leases(
        &self,
        worker: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<(), ServiceError>> + Send {
        Store::release_leases(self, worker, keys)
    }

    fn apply_reports(
        &self,
        closure: &str,
        reports: &[Command],
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
        worker: &str,
        lease_seconds: i64,
    ) -> impl Future<Output = Result<Reports, ServiceError>> + Send {
        Store::apply_reports(
            self,
            closure,
            reports,
            actor,
            policy,
            now,
            halted_recheck_seconds,
            worker,
            lease_seconds,
        )
    }

    fn drop_effect(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send {
        Store::drop_effect(self, key, now)
    }
}

/// Effects leased per pass (the default `--effect-concurrency` is the same).
const BATCH: i64 = 32;

/// The identity the worker acts as.
fn system_actor(name: &str) -> Result<Actor, ServiceError> {
    Ok(Actor {
        id: user_id("worker", &format!("worker:{name}"))?,
        role: ActorRole::System,
        reauthenticated_at: None,
    })
}

/// Runs until `stop` turns true.
pub async fn run<S: WorkerStore>(app: Arc<App<S>>, name: String, mut stop: watch::Receiver<bool>) {
    let actor = match system_actor(&name) {
        Ok(actor) => actor,
        Err(e) => {
            tracing::error!(worker = %name, error = %e, "worker pass failed");
            return;
        }
    };
    while !*stop.borrow() {
        let busy = match pass(&app, &name, &actor, &stop).await {
            Ok(work) => work > 0,
            Err(e) => {
                tracing::error!(worker = %name, error = %e, "worker pass failed");
                false
            }
        };
        if !busy {
            let idle = Duration::from_millis(app.config.poll_ms);
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// One pass; returns how much it did. The leased effects of different
/// closures are performed concurrently (downstream calls mostly wait on the
/// network), at most `effect_concurrency` closures at a time; those of one
/// closure one after the other, since each report steps the same row.
///
/// Each task needs a pooled connection for every call and every report, so
/// the bound is how a host with a small pool keeps the worker from queueing
/// on it; by default it is the batch size (no bound beyond the batch).
///
/// Once `stop` turns true no new call starts and a call under way is no
/// longer waited for: the outcomes already known are reported and the
/// other leases released, so another process takes them at once.
pub async fn pass<S: WorkerStore>(
    app: &Arc<App<S>>,
    name: &str,
    actor: &Actor,
    stop: &watch::Receiver<bool>,
) -> Result<usize, ServiceError> {
    app.clock
        .set_offset_seconds(app.store.clock_offset().await?);
    let recheck = app.config.halted_recheck_seconds;
    let mut work = 0;
    loop {
        match app
            .store
            .tick_due(actor, &app.policy, app.clock.now(), recheck)
            .await?
        {
            Ticked::NothingDue => break,
            Ticked::Stepped(_) => work += 1,
            Ticked::Refused(closure, err) => {
                tracing::warn!(worker = %name, %closure, error = %err, "tick refused");
                work += 1;
            }
        }
    }
    let leased = app
        .store
        .lease_effects(name, app.clock.now(), app.config.lease_seconds, BATCH)
        .await?;
    work += leased.len();
    let mut by_closure: BTreeMap<String, Vec<Leased>> = BTreeMap::new();
    for item in leased {
        by_closure
            .entry(item.closure.clone())
            .or_default()
            .push(item);
    }
    let mut running = tokio::task::JoinSet::new();
    let mut first_error = None;
    let mut groups = by_closure.into_values();
    loop {
        while running.len() < app.config.effect_concurrency {
            let Some(items) = groups.next() else { break };
            let (app, name, actor) = (app.clone(), name.to_owned(), actor.clone());
            let stop = stop.clone();
            running.spawn(async move { perform(&app, &name, &actor, &items, stop).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let error = match done {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => ServiceError::Corrupt(format!("an effect task ended abnormally: {e}")),
        };
        first_error.get_or_insert(error);
    }
    first_error.map_or(Ok(work), Err)
}

/// Stages of one closure a task goes through in one pass before it hands
/// the rest back to the queue (each stage is one transaction).
const STAGES_PER_PASS: usize = 16;

/// Performs one closure's leased effects one after the other, then reports
/// their outcomes in one transaction (one write of the closure per batch),
/// which also leases the closure's next stage to this worker: that is
/// performed the same way, until the closure has nothing pending (or waits
/// on a retry, or the bound on stages is reached).
async fn perform<S: WorkerStore>(
    app: &Arc<App<S>>,
    name: &str,
    actor: &Actor,
    items: &[Leased],
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let mut batch = items.to_vec();
    for _ in 0..STAGES_PER_PASS {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        let closure = first.closure.clone();
        let mut reports = Vec::with_capacity(batch.len());
        let mut performed = Vec::with_capacity(batch.len());
        let mut unperformed = Vec::new();
        for item in &batch {
            if *stop.borrow() {
                unperformed.push(item.effect.id.as_str());
                continue;
            }
            tokio::select! {
                outcome = call(app, name, item) => {
                    if outcome == Outcome::Succeeded {
                        fault_point(app, item.effect.id.as_str());
                    }
                    reports.push(Command::ReportOutcome { effect: item.effect.id.clone(), outcome });
                    performed.push(item);
                }
                _ = stop.wait_for(|stopping| *stopping) => unperformed.push(item.effect.id.as_str()),
            }
        }
        if !unperformed.is_empty() {
            app.store.release_leases(name, &unperformed).await?;
        }
        if reports.is_empty() {
            return Ok(());
        }
        let Reports { results, next } = app
            .store
            .apply_reports(
                &closure,
                &reports,
                actor,
                &app.policy,
                app.clock.now(),
                app.config.halted_recheck_seconds,
                name,
                app.config.lease_seconds,
            )
            .await?;
        for (item, result) in performed.into_iter().zip(results) {
            let key = item.effect.id.as_str();
            match result {
                Reported::Accepted => {}
                // The closure no longer wants this effect (a new request replaced the old one).
                Reported::Unwanted => app.store.drop_effect(key, app.clock.now()).await?,
                // Leave the lease to run out; the next delivery reports again.
                Reported::Refused(e) => {
                    tracing::warn!(worker = %name, effect = %key, error = %e, "report refused")
                }
            }
        }
        // A full batch is a large plan's: it goes back to the queue, where
        // it takes its turn after every other closure's next effects.
        let large = i64::try_from(next.len()).unwrap_or(i64::MAX) >= NEXT_STAGE_EFFECTS;
        if *stop.borrow() || large {
            // Hand the next stage back rather than start it.
            let keys: Vec<&str> = next.iter().map(|l| l.effect.id.as_str()).collect();
            if !keys.is_empty() {
                app.store.release_leases(name, &keys).await?;
            }
            return Ok(());
        }
        batch = next;
    }
    // The bound reached: what is still leased goes back to the queue.
    let keys: Vec<&str> = batch.iter().map(|l| l.effect.id.as_str()).collect();
    if !keys.is_empty() {
        app.store.release_leases(name, &keys).await?;
    }
    Ok(())
}

/// Adapter calls that succeeded in this process, for the crash test's fault point.
static ADAPTER_CALLS: AtomicU64 = AtomicU64::new(0);

/// `--crash-after-adapter-calls N`: aborts the process after the Nth
/// adapter call that succeeded, before the outcome is reported (the
/// downstream has acted; the closure does not know it yet). Without the
/// flag, nothing.
fn fault_point<S>(app: &App<S>, key: &str) {
    let Some(limit) = app.config.crash_after_adapter_calls else {
        return;
    };
    if ADAPTER_CALLS.fetch_add(1, Ordering::SeqCst) + 1 == limit {
        tracing::error!(effect = %key, "fault point: aborting after the adapter call, before its report");
        std::process::abort();
    }
}

/// Calls the adapter for one effect; answers its outcome.
async fn call<S: WorkerStore>(app: &Arc<App<S>>, name: &str, item: &Leased) -> Outcome {
    let key = item.effect.id.as_str();
    // The call runs as a task of its own and the timeout only stops the
    // waiting, never the call: cancelling a future inside sqlx's `begin()`
    // leaves a PostgreSQL connection in an open transaction that goes back to
    // the pool (sqlx 0.8.6, transact-rs/sqlx#4393). Like a real remote call
    // that timed out, the call may still complete; the retry, under the same
    // key, then finds it done.
    let call = {
        let (app, name, key) = (app.clone(), name.to_owned(), key.to_owned());
        let (closure, attempt) = (item.closure.clone(), item.deliveries);
        let action = item.effect.action.clone();
        tokio::spawn(async move {
            app.adapters
                .call(&name, &closure, &key, attempt, &action)
                .await
        })
    };
    match tokio::time::timeout(Duration::from_millis(app.config.adapter_timeout_ms), call).await {
        Ok(Ok(Ok(()))) => Outcome::Succeeded,
        Ok(Ok(Err(Refusal::Retryable(reason)))) => Outcome::RetryableFailure { reason },
        Ok(Ok(Err(Refusal::Permanent(reason)))) => Outcome::PermanentFailure { reason },
        Ok(Err(ended)) => Outcome::RetryableFailure {
            reason: format!("the adapter call ended abnormally: {ended}"),
        },
        Err(_) => Outcome::RetryableFailure {
            reason: format!("no answer within {} ms", app.config.adapter_timeout_ms),
        },
    }
}
