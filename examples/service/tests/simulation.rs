//! Deterministic simulation of the service's worker and store, driven by a seed.
//!
//! Two worker processes (the service's own `worker::run`, unchanged) run on
//! virtual time (tokio's paused clock), each with its own skew, against the
//! real store on SQLite. Between them and the store sits a seam
//! (`worker::WorkerStore`) where the seed injects, at each database call: a
//! lost connection, a statement timeout, a commit whose answer never came
//! back (done, but reported as failed), a stall, and the process killed
//! just before or just after the call. The downstream systems fail
//! retryably or for good, stall past the adapter timeout, or see the
//! process die just before or just after they act. A driver kills processes
//! at random moments (whatever await point they are at), restarts them,
//! places a legal hold on a closed closure and releases it later, and
//! retries what an operator is asked to.
//!
//! Every database call runs to its end on a runtime of its own while the
//! simulation's single thread waits, so the order of everything is fixed by
//! the seed; a failing seed replays exactly:
//! `OFFBOARD_SIM_SEED=N cargo test -p offboard-service --test simulation -- --nocapture`.
//! `OFFBOARD_SIM_SEEDS=N` sets how many seeds the sweep runs (200 by
//! default; the long run in RELIABILITY.md uses 5 000).
//!
//! After the faults stop, the invariants: nothing lost (every effect the
//! store or the closure counts as done reached its downstream system, and
//! every key a system received is an outbox key), no effect performed
//! twice (a key always carries one action, an action is sent under one key,
//! and no key is received more often than it was leased), every audit chain
//! verifies, nothing purged while a hold covers it, and every closure
//! reaches an end or waits only for what a person must give.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use offboard::audit::AuditEvent;
use offboard::machine::{Command, EffectStatus, Waiting};
use offboard::model::{HoldReason, LegalHold, LegalHoldId, RecordClass, UserId};
use offboard::plan::Action;
use offboard::policy::{Period, Retention};
use offboard::{Actor, ActorRole, ClosurePolicy};
use offboard_service::adapters::{Adapter, Adapters, Answer, Call, Downstream, Refusal};
use offboard_service::auth::{AuthMode, Authenticator};
use offboard_service::clock::Clock;
use offboard_service::store::{Leased, Lookup, Reports, Store, StoreOptions, Ticked};
use offboard_service::worker::WorkerStore;
use offboard_service::{App, Config, ServiceError};

use common::Rng;

/// Virtual time starts here.
const EPOCH: &str = "2026-11-23T10:00:00Z";
/// Faults and kills happen in the first this many virtual hours: past the
/// last purges (about 97 hours in), so they reach every stage.
const FAULT_HOURS: i64 = 110;
/// The run ends by this virtual time at the latest.
const DEADLINE_HOURS: i64 = 24 * 10;
/// The worker processes.
const WORKERS: [&str; 2] = ["w1", "w2"];
/// The accounts, from the samples.
const ACCOUNTS: [(&str, &str); 3] = [
    ("lone-user", "u_sim_a"),
    ("team-owner", "u_sim_b"),
    ("lone-user", "u_sim_c"),
];

// ---------------------------------------------------------------- the database

/// The real store, on a runtime of its own. A call blocks the simulation's
/// thread until the database has answered, so nothing else in the
/// simulation moves meanwhile (and virtual time does not advance).
struct Database {
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn new() -> Database {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Database { runtime }
    }

    fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().expect("the database runtime answers")
    }

    fn open(&self) -> Store {
        self.run(async {
            Store::open(&StoreOptions {
                url: "sqlite::memory:".into(),
                schema: None,
                reset_schema: false,
                limits: offboard_service::config::Limits::default(),
            })
            .await
            .unwrap()
        })
    }
}

// ---------------------------------------------------------------- the world

/// What the seed decided at a database call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DbFault {
    Pass,
    ConnectionLost,
    StatementTimeout,
    CommitAnswerLost,
    Stall(u64),
    KillBefore,
    KillAfter,
}

/// What the seed decided at a downstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AdapterFault {
    Perform,
    Retryable,
    Permanent,
    StallPastTimeout(u64),
    LostInTransit,
    KillBefore,
    KillAfter,
}

/// One worker process (one incarnation of it).
#[derive(Debug)]
struct Process {
    name: &'static str,
    incarnation: u32,
    alive: AtomicBool,
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

/// A call a downstream system received.
#[derive(Debug, Clone)]
struct Receipt {
    key: String,
    closure: String,
    action: String,
    class: Option<RecordClass>,
    /// When the worker called (a stalled call is received later).
    called: DateTime<Utc>,
    at: DateTime<Utc>,
}

/// Everything shared by the simulated processes.
struct World {
    rng: Mutex<Rng>,
    trace: Mutex<Vec<String>>,
    faults_on: AtomicBool,
    start: tokio::time::Instant,
    epoch: DateTime<Utc>,
    processes: Mutex<BTreeMap<&'static str, Arc<Process>>>,
    receipts: Mutex<Vec<Receipt>>,
    /// Every lease a worker was told it got: the key and when.
    leases: Mutex<Vec<(String, DateTime<Utc>)>>,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl World {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.start;
        self.epoch + TimeDelta::milliseconds(i64::try_from(elapsed.as_millis()).unwrap())
    }

    fn log(&self, line: String) {
        let at = (self.now() - self.epoch).num_milliseconds();
        self.trace.lock().unwrap().push(format!("{at:>10} {line}"));
    }

    fn count(&self, what: impl Into<String>) {
        *self.counts.lock().unwrap().entry(what.into()).or_default() += 1;
    }

    fn below(&self, n: u64) -> u64 {
        self.rng.lock().unwrap().below(n)
    }

    fn db_fault(&self) -> DbFault {
        if !self.faults_on.load(Ordering::SeqCst) {
            return DbFault::Pass;
        }
        match self.below(1000) {
            0..=29 => DbFault::ConnectionLost,
            30..=49 => DbFault::StatementTimeout,
            50..=69 => DbFault::CommitAnswerLost,
            70..=99 => DbFault::Stall(1 + self.below(40_000)),
            100..=112 => DbFault::KillBefore,
            113..=125 => DbFault::KillAfter,
            _ => DbFault::Pass,
        }
    }

    fn adapter_fault(&self) -> AdapterFault {
        if !self.faults_on.load(Ordering::SeqCst) {
            return AdapterFault::Perform;
        }
        match self.below(1000) {
            0..=69 => AdapterFault::Retryable,
            70..=84 => AdapterFault::Permanent,
            85..=134 => AdapterFault::StallPastTimeout(5_001 + self.below(60_000)),
            135..=149 => AdapterFault::LostInTransit,
            150..=164 => AdapterFault::KillBefore,
            165..=194 => AdapterFault::KillAfter,
            _ => AdapterFault::Perform,
        }
    }

    fn process(&self, name: &str) -> Arc<Process> {
        self.processes.lock().unwrap()[name].clone()
    }

    /// Kills `process` where it stands: its tasks are dropped at their next
    /// await point, as a killed process's would never run again.
    fn kill(&self, process: &Process, at: &str) {
        if process.alive.swap(false, Ordering::SeqCst) {
            self.log(format!(
                "{}#{} killed {at}",
                process.name, process.incarnation
            ));
            self.count(format!("kill {at}"));
            if let Some(abort) = process.abort.lock().unwrap().take() {
                abort.abort();
            }
        }
    }
}

// ---------------------------------------------------------------- the seam

/// The store as one process sees it: each call goes through the seed's faults.
#[derive(Clone)]
struct FaultyStore {
    store: Store,
    database: Arc<Database>,
    world: Arc<World>,
    process: Arc<Process>,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultyStore({})", self.process.name)
    }
}

fn io_error(kind: std::io::ErrorKind, what: &str) -> ServiceError {
    ServiceError::Storage(sqlx::Error::Io(std::io::Error::new(kind, what.to_owned())))
}

impl FaultyStore {
    async fn through<T: std::fmt::Debug + Send + 'static>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, ServiceError>> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let fault = self.world.db_fault();
        let me = format!("{}#{}", self.process.name, self.process.incarnation);
        if fault != DbFault::Pass {
            self.world
                .count(format!("db {fault:?}").replace(|c: char| c.is_ascii_digit(), ""));
        }
        let wait = match fault {
            DbFault::Stall(ms) => ms,
            DbFault::StatementTimeout => 30_000,
            _ => 0,
        };
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        if !self.process.alive.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        let answer = match fault {
            DbFault::Pass | DbFault::Stall(_) => {
                let answer = self.database.run(work);
                self.world.log(format!("{me} {call} {}", summary(&answer)));
                answer
            }
            DbFault::ConnectionLost => {
                self.world.log(format!("{me} {call} connection lost"));
                Err(io_error(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated: connection lost",
                ))
            }
            DbFault::StatementTimeout => {
                self.world.log(format!("{me} {call} statement timeout"));
                Err(io_error(
                    std::io::ErrorKind::TimedOut,
                    "simulated: statement timeout",
                ))
            }
            DbFault::CommitAnswerLost => {
                let answer = self.database.run(work);
                self.world
                    .log(format!("{me} {call} {} (answer lost)", summary(&answer)));
                Err(io_error(
                    std::io::ErrorKind::ConnectionAborted,
                    "simulated: connection lost during COMMIT",
                ))
            }
            DbFault::KillBefore => {
                self.world.kill(&self.process, &format!("before {call}"));
                return std::future::pending().await;
            }
            DbFault::KillAfter => {
                let answer = self.database.run(work);
                self.world.log(format!("{me} {call} {}", summary(&answer)));
                self.world.kill(&self.process, &format!("after {call}"));
                return std::future::pending().await;
            }
        };
        answer
    }
}

/// A stable one-word account of an answer, for the trace.
fn summary<T: std::fmt::Debug>(answer: &Result<T, ServiceError>) -> String {
    match answer {
        Ok(value) => {
            let text = format!("{value:?}");
            // Enough to tell answers apart without writing whole states out.
            let digest = offboard::audit::digest_hex(text.as_bytes());
            format!("ok {}", &digest[..12])
        }
        Err(e) => format!("error {e}"),
    }
}

impl WorkerStore for FaultyStore {
    fn clock_offset(&self) -> impl Future<Output = Result<i64, ServiceError>> + Send {
        let store = self.store.clone();
        self.through("clock_offset", async move { store.clock_offset().await })
    }

    fn tick_due(
        &self,
        actor: &Actor,
        policy: &ClosurePolicy,
        now: DateTime<Utc>,
        halted_recheck_seconds: i64,
    ) -> impl Future<Output = Result<Ticked, ServiceError>> + Send {
        let (store, actor, policy) = (self.store.clone(), actor.clone(), policy.clone());
        self.through("tick_due", async move {
            store
                .tick_due(&actor, &policy, now, halted_recheck_seconds)
                .await
        })
    }

    fn lease_effects(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Leased>, ServiceError>> + Send {
        let (store, worker) = (self.store.clone(), worker.to_owned());
        let world = Arc::clone(&self.world);
        let leased = self.through("lease_effects", async move {
            store
                .lease_effects(&worker, now, lease_seconds, limit)
                .await
        });
        async move {
            let leased = leased.await;
            if let Ok(rows) = &leased {
                let at = world.now();
                let mut leases = world.leases.lock().unwrap();
                leases.extend(rows.iter().map(|r| (r.effect.id.to_string(), at)));
            }
            leased
        }
    }

    fn release_leases(
        &self,
        worker: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<(), ServiceError>> + Send {
        let (store, worker) = (self.store.clone(), worker.to_owned());
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        self.through("release_leases", async move {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            store.release_leases(&worker, &keys).await
        })
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
        let (store, closure, reports) = (self.store.clone(), closure.to_owned(), reports.to_vec());
        let (actor, policy, worker) = (actor.clone(), policy.clone(), worker.to_owned());
        let world = Arc::clone(&self.world);
        let reported = self.through("apply_reports", async move {
            store
                .apply_reports(
                    &closure,
                    &reports,
                    &actor,
                    &policy,
                    now,
                    halted_recheck_seconds,
                    &worker,
                    lease_seconds,
                )
                .await
        });
        // The next stage is leased in the same transaction: recorded as
        // leases, as `lease_effects` records its own.
        async move {
            let reported = reported.await;
            if let Ok(done) = &reported {
                let at = world.now();
                let mut leases = world.leases.lock().unwrap();
                leases.extend(done.next.iter().map(|r| (r.effect.id.to_string(), at)));
            }
            reported
        }
    }

    fn drop_effect(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send {
        let (store, key) = (self.store.clone(), key.to_owned());
        self.through(
            "drop_effect",
            async move { store.drop_effect(&key, now).await },
        )
    }
}

// ---------------------------------------------------------------- downstream

/// Every downstream system at once: records each call it receives (the
/// invariants count them), and fails, stalls or sees its caller die as the
/// seed says.
#[derive(Clone)]
struct Systems {
    world: Arc<World>,
}

impl std::fmt::Debug for Systems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Systems")
    }
}

impl Systems {
    fn receive(&self, call: &Call<'_>, called: DateTime<Utc>) {
        let class = match call.action {
            Action::Purge { class } => Some(*class),
            _ => None,
        };
        self.world
            .log(format!("downstream {} {}", call.key, call.action.kind()));
        self.world.receipts.lock().unwrap().push(Receipt {
            key: call.key.to_owned(),
            closure: call.closure.to_owned(),
            action: serde_json::to_string(call.action).unwrap(),
            class,
            called,
            at: self.world.now(),
        });
    }
}

impl Downstream for Systems {
    fn perform<'a>(&'a self, call: Call<'a>) -> Answer<'a> {
        Box::pin(async move {
            let process = self.world.process(call.worker);
            if !process.alive.load(Ordering::SeqCst) {
                return std::future::pending().await;
            }
            let called = self.world.now();
            let fault = self.world.adapter_fault();
            if fault != AdapterFault::Perform {
                self.world
                    .count(format!("adapter {fault:?}").replace(|c: char| c.is_ascii_digit(), ""));
                if matches!(call.action, Action::Purge { .. }) {
                    self.world.count("adapter fault on a purge");
                }
            }
            match fault {
                AdapterFault::Perform => {
                    self.receive(&call, called);
                    Ok(())
                }
                AdapterFault::Retryable => Err(Refusal::Retryable(
                    "simulated: 503 Service Unavailable".into(),
                )),
                AdapterFault::Permanent => {
                    Err(Refusal::Permanent("simulated: 422 Unprocessable".into()))
                }
                AdapterFault::StallPastTimeout(ms) => {
                    // The worker stops waiting at its timeout; the system
                    // still acts when it gets to it.
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    self.receive(&call, called);
                    Ok(())
                }
                AdapterFault::LostInTransit => {
                    // The request never arrives; the worker's timeout ends the wait.
                    std::future::pending().await
                }
                AdapterFault::KillBefore => {
                    self.world.kill(&process, "before a downstream call");
                    std::future::pending().await
                }
                AdapterFault::KillAfter => {
                    self.receive(&call, called);
                    self.world
                        .kill(&process, "after a downstream call, before its report");
                    std::future::pending().await
                }
            }
        })
    }
}

// ---------------------------------------------------------------- one seed

/// The policy: the cascade preset on short clocks (a day's grace, purges
/// two and three days after closing), so a run sees every phase.
fn policy() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 1;
    policy.invoice_download_days = 1;
    policy.retention = Retention {
        personal_data: Period::Days(2),
        content: Period::Days(2),
        invoices: Period::Days(3),
        audit_log: Period::Days(3),
        personal_data_basis: None,
    };
    policy.validate().unwrap();
    policy
}

fn config() -> Config {
    let args: Vec<String> = [
        "--no-api",
        "--database",
        "sqlite::memory:",
        "--poll-ms",
        "3600000",
        "--lease-seconds",
        "30",
        "--adapter-timeout-ms",
        "5000",
        "--effect-concurrency",
        "4",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut config = Config::from_args(&args).unwrap();
    config.policy = policy();
    config
}

/// What one seed's run found.
struct Run {
    trace: Vec<String>,
    violations: Vec<String>,
    counts: BTreeMap<String, u64>,
    phases: Vec<String>,
}

struct Sim {
    world: Arc<World>,
    database: Arc<Database>,
    store: Store,
    systems: Arc<Systems>,
    policy: ClosurePolicy,
}

impl Sim {
    /// Starts (or restarts) the worker process `name`.
    fn start(&self, name: &'static str, incarnation: u32, skew_seconds: i64) {
        let process = Arc::new(Process {
            name,
            incarnation,
            alive: AtomicBool::new(true),
            abort: Mutex::new(None),
        });
        self.world
            .processes
            .lock()
            .unwrap()
            .insert(name, process.clone());
        let world = self.world.clone();
        let clock = Clock::with_source(Arc::new(move || {
            world.now() + TimeDelta::seconds(skew_seconds)
        }));
        let config = config();
        let mut adapters = Adapters::fakes(&self.store, 0);
        for adapter in Adapter::ALL {
            adapters = adapters.with(adapter, self.systems.clone());
        }
        let app = Arc::new(App {
            store: FaultyStore {
                store: self.store.clone(),
                database: self.database.clone(),
                world: self.world.clone(),
                process: process.clone(),
            },
            clock,
            policy: self.policy.clone(),
            adapters,
            auth: Authenticator::new(&AuthMode::Unconfigured).unwrap(),
            config,
        });
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let _keep = stop_tx;
            offboard_service::worker::run(app, name.to_owned(), stop).await;
        });
        *process.abort.lock().unwrap() = Some(task.abort_handle());
        self.world.log(format!(
            "{name}#{incarnation} started, skew {skew_seconds} s"
        ));
    }

    /// A command from outside the workers (the person, support), fault-free.
    fn command(&self, account: &str, command: Command, actor: Actor) -> Result<i64, String> {
        let (store, policy, account) =
            (self.store.clone(), self.policy.clone(), account.to_owned());
        let now = self.world.now();
        let kind = format!("{:?}", command.kind());
        let answer = self.database.run(async move {
            store
                .apply(
                    Lookup::Account(&account),
                    &command,
                    &actor,
                    &policy,
                    now,
                    3_600,
                    None,
                )
                .await
                .map(|applied| applied.closure.version)
                .map_err(|e| e.to_string())
        });
        self.world.log(format!("command {kind}: {answer:?}"));
        answer
    }

    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(Store) -> std::pin::Pin<Box<dyn Future<Output = T> + Send>>,
    ) -> T {
        self.database.run(read(self.store.clone()))
    }
}

fn person(id: &str, at: DateTime<Utc>) -> Actor {
    Actor {
        id: UserId::new(id).unwrap(),
        role: ActorRole::User,
        reauthenticated_at: Some(at),
    }
}

fn support(at: DateTime<Utc>) -> Actor {
    Actor {
        id: UserId::new("ops_sim").unwrap(),
        role: ActorRole::SupportOperator,
        reauthenticated_at: Some(at),
    }
}

/// Runs seed `seed` to its end and checks the invariants.
fn simulate(database: &Arc<Database>, seed: u64) -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let store = database.open();
    runtime.block_on(async {
        let world = Arc::new(World {
            rng: Mutex::new(Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)),
            trace: Mutex::new(Vec::new()),
            faults_on: AtomicBool::new(true),
            start: tokio::time::Instant::now(),
            epoch: EPOCH.parse().unwrap(),
            processes: Mutex::new(BTreeMap::new()),
            receipts: Mutex::new(Vec::new()),
            leases: Mutex::new(Vec::new()),
            counts: Mutex::new(BTreeMap::new()),
        });
        let sim = Sim {
            systems: Arc::new(Systems {
                world: world.clone(),
            }),
            world: world.clone(),
            database: database.clone(),
            store,
            policy: policy(),
        };
        drive(&sim).await
    })
}

async fn drive(sim: &Sim) -> Run {
    let world = &sim.world;
    let mut violations = Vec::new();
    // The accounts, asked to close and confirmed.
    for (sample, id) in ACCOUNTS {
        let data = common::clone_sample(sample, id);
        let now = world.now();
        sim.read(move |store| {
            Box::pin(async move { store.put_account(id, &data, now).await.unwrap() })
        });
        let request = Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        };
        let confirm = Command::Confirm {
            value: format!("{id}@example.test"),
        };
        sim.command(id, request, person(id, now)).unwrap();
        sim.command(id, confirm, person(id, now)).unwrap();
    }
    // Two processes with clocks apart by up to three leases.
    let mut incarnations: BTreeMap<&'static str, (u32, i64)> = BTreeMap::new();
    for name in WORKERS {
        let skew = i64::try_from(world.below(181)).unwrap() - 90;
        incarnations.insert(name, (0, skew));
        sim.start(name, 0, skew);
    }
    // One closure gets a hold on one class once it has closed, released later.
    let held = ACCOUNTS[usize::try_from(world.below(3)).unwrap()].1;
    let held_class = RecordClass::ALL[usize::try_from(world.below(4)).unwrap()];
    // Placed anywhere from just after closing to past the last purges, so
    // it races purges issued, leased and in flight, while faults go on.
    let place_at =
        world.epoch + TimeDelta::minutes(26 * 60 + i64::try_from(world.below(74 * 60)).unwrap());
    let release_at =
        place_at + TimeDelta::minutes(10 * 60 + i64::try_from(world.below(24 * 60)).unwrap());
    let mut hold_placed: Option<DateTime<Utc>> = None;
    let mut hold_released: Option<DateTime<Utc>> = None;
    let mut restart_at: BTreeMap<&'static str, DateTime<Utc>> = BTreeMap::new();
    let deadline = world.epoch + TimeDelta::hours(DEADLINE_HOURS);
    let mut minute = 0i64;
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        minute += 1;
        let now = world.now();
        if minute == FAULT_HOURS * 60 {
            world.faults_on.store(false, Ordering::SeqCst);
            world.log("faults off".into());
        }
        let faults = world.faults_on.load(Ordering::SeqCst);
        // Kills at whatever await point a process is at.
        if faults && minute % 10 == 0 && world.below(100) < 6 {
            let name = WORKERS[usize::try_from(world.below(2)).unwrap()];
            let process = world.process(name);
            world.kill(&process, "by the driver");
        }
        // Restarts.
        for name in WORKERS {
            let process = world.process(name);
            if process.alive.load(Ordering::SeqCst) {
                continue;
            }
            let at = *restart_at.entry(name).or_insert_with(|| {
                now + TimeDelta::minutes(1 + i64::try_from(world.below(30)).unwrap())
            });
            if now >= at {
                restart_at.remove(name);
                let entry = incarnations.get_mut(name).unwrap();
                entry.0 += 1;
                sim.start(name, entry.0, entry.1);
            }
        }
        // The hold.
        if hold_placed.is_none() && now >= place_at {
            let hold = LegalHold {
                id: LegalHoldId::new("lh_sim").unwrap(),
                classes: vec![held_class],
                reason: HoldReason::Litigation,
                placed_by: UserId::new("ops_sim").unwrap(),
                placed_at: now,
                until: None,
            };
            if sim
                .command(held, Command::PlaceHold { hold }, support(now))
                .is_ok()
            {
                hold_placed = Some(now);
                world.count("hold placed on a closed closure");
                // The service names a closure `cl_<account>`.
                let closure = format!("cl_{held}");
                let purged = world
                    .receipts
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|r| r.class == Some(held_class) && r.closure == closure);
                world.count(if purged {
                    "hold placed after its class was purged"
                } else {
                    "hold placed before its class was purged"
                });
            } else {
                // Not placeable yet (say, a purge already under way): try again later.
            }
        }
        if hold_placed.is_some() && hold_released.is_none() && now >= release_at {
            let release = Command::ReleaseHold {
                hold: LegalHoldId::new("lh_sim").unwrap(),
            };
            if sim.command(held, release, support(now)).is_ok() {
                hold_released = Some(now);
                world.count("hold released");
            }
        }
        // Support looks every six hours and retries what failed for good.
        if minute % 360 == 0 {
            let mut ended = true;
            for (_, id) in ACCOUNTS {
                let view = sim.read(move |store| Box::pin(async move { store.closure(id).await }));
                let Ok(view) = view else { continue };
                let waiting = view.state.waiting(&sim.policy);
                if waiting
                    .iter()
                    .any(|w| matches!(w, Waiting::Operator { .. }))
                {
                    let _ = sim.command(id, Command::Retry, support(now));
                }
                if waiting.iter().any(|w| !person_only(w)) {
                    ended = false;
                }
            }
            let hold_done = hold_released.is_some() || hold_placed.is_none() && now > place_at;
            if !faults && ended && hold_done {
                break;
            }
        }
        if now >= deadline {
            world.log("deadline".into());
            break;
        }
    }
    for name in WORKERS {
        let process = world.process(name);
        world.kill(&process, "at the end");
    }
    check(
        sim,
        held,
        held_class,
        hold_placed,
        hold_released,
        &mut violations,
    );
    let phases = ACCOUNTS
        .iter()
        .map(|(_, id)| {
            let id = *id;
            sim.read(move |store| Box::pin(async move { store.closure(id).await }))
                .map(|v| v.phase)
                .unwrap_or_else(|e| e.to_string())
        })
        .collect();
    Run {
        trace: world.trace.lock().unwrap().clone(),
        violations,
        counts: world.counts.lock().unwrap().clone(),
        phases,
    }
}

/// A wait only a person can end: a confirmation, cleared blockers, the
/// release of an open-ended hold.
fn person_only(waiting: &Waiting) -> bool {
    matches!(
        waiting,
        Waiting::Confirmation | Waiting::Blockers | Waiting::Holds { .. }
    )
}

fn check(
    sim: &Sim,
    held: &'static str,
    held_class: RecordClass,
    hold_placed: Option<DateTime<Utc>>,
    hold_released: Option<DateTime<Utc>>,
    violations: &mut Vec<String>,
) {
    let receipts = sim.world.receipts.lock().unwrap().clone();
    let rows = sim
        .read(|store| Box::pin(async move { store.effects(None, 100_000).await }))
        .unwrap();
    let rows: BTreeMap<String, _> = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
    let mut by_key: BTreeMap<&str, Vec<&Receipt>> = BTreeMap::new();
    for r in &receipts {
        by_key.entry(r.key.as_str()).or_default().push(r);
    }
    // No invented key; no key received more often than it was leased; one action per key.
    for (key, got) in &by_key {
        let Some(row) = rows.get(*key) else {
            violations.push(format!(
                "downstream received `{key}`, which no outbox row holds"
            ));
            continue;
        };
        if i64::try_from(got.len()).unwrap() > row.deliveries {
            violations.push(format!(
                "`{key}` received {} times but leased {} times",
                got.len(),
                row.deliveries
            ));
        }
        if got.len() > 1 {
            // At least once: a lease ran out under a stalled call, or a
            // process died between the call and its report.
            sim.world
                .count("key received more than once (the key made it safe)");
        }
        let actions: BTreeSet<&str> = got.iter().map(|r| r.action.as_str()).collect();
        if actions.len() != 1 {
            violations.push(format!(
                "`{key}` carried {} different actions",
                actions.len()
            ));
        }
    }
    // One key per action: the same action under two keys would be performed twice.
    let mut keys_of: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for r in &receipts {
        keys_of
            .entry((r.closure.as_str(), r.action.as_str()))
            .or_default()
            .insert(r.key.as_str());
    }
    for ((closure, action), keys) in &keys_of {
        if keys.len() > 1 {
            violations.push(format!(
                "{closure}: `{action}` sent under {} keys: {keys:?}",
                keys.len()
            ));
        }
    }
    // Nothing lost: what the outbox calls done was received.
    for (key, row) in &rows {
        if row.status == "done" && !by_key.contains_key(key.as_str()) {
            violations.push(format!("outbox row `{key}` is done but was never received"));
        }
    }
    for (_, id) in ACCOUNTS {
        let view = sim.read(move |store| Box::pin(async move { store.closure(id).await }));
        let view = match view {
            Ok(view) => view,
            Err(e) => {
                violations.push(format!("{id}: closure lost: {e}"));
                continue;
            }
        };
        // What the closure counts as done was received.
        for record in &view.state.effects {
            if matches!(record.status, EffectStatus::Succeeded { .. })
                && !by_key.contains_key(record.effect.id.as_str())
            {
                violations.push(format!(
                    "{id}: effect `{}` succeeded but no system received it",
                    record.effect.id
                ));
            }
        }
        // The audit chain verifies, and ends where the state says.
        let audit = sim.read(move |store| Box::pin(async move { store.audit(id).await }));
        match audit {
            Ok((events, head)) => {
                let events: Vec<AuditEvent> = events
                    .iter()
                    .map(|e| serde_json::from_str(e).unwrap())
                    .collect();
                if let Err(e) = offboard::audit::verify_with_head(&events, &head) {
                    violations.push(format!("{id}: the audit chain does not verify: {e}"));
                }
                if u64::try_from(events.len()).unwrap() != view.state.audit.next_sequence {
                    violations.push(format!(
                        "{id}: {} audit events stored, the state counts {}",
                        events.len(),
                        view.state.audit.next_sequence
                    ));
                }
            }
            Err(e) => violations.push(format!("{id}: audit unreadable: {e}")),
        }
        // Liveness: an end, or a wait only a person can end.
        let waiting = view.state.waiting(&sim.policy);
        if let Some(w) = waiting.iter().find(|w| !person_only(w)) {
            violations.push(format!(
                "{id}: at the deadline still {} waiting for {w:?}",
                view.phase
            ));
        }
    }
    // Nothing purged while the hold covered it, but what was already on
    // its way: a call under a lease taken before the hold was placed cannot
    // be called back (a worker had it in hand), and is counted; a purge
    // handed out after the hold is a violation.
    if let Some(placed) = hold_placed {
        let until = hold_released.unwrap_or(DateTime::<Utc>::MAX_UTC);
        let closure = sim
            .read(move |store| Box::pin(async move { store.closure(held).await }))
            .map(|v| v.closure)
            .unwrap_or_default();
        let leases = sim.world.leases.lock().unwrap().clone();
        for r in &receipts {
            if r.closure != closure
                || r.class != Some(held_class)
                || r.at <= placed
                || r.at >= until
            {
                continue;
            }
            let leased = leases
                .iter()
                .filter(|(key, at)| *key == r.key && *at <= r.called)
                .map(|(_, at)| *at)
                .max();
            match leased {
                Some(leased) if leased <= placed => {
                    sim.world.count("purge in flight when the hold was placed");
                }
                _ => violations.push(format!(
                    "{held}: {held_class:?} purged at {} under the hold placed at {placed}, \
                     handed out at {leased:?}",
                    r.at
                )),
            }
        }
    }
}

fn sweep(seeds: impl Iterator<Item = u64>) {
    let database = Arc::new(Database::new());
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut phases: BTreeMap<String, u64> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut runs = 0;
    for seed in seeds {
        let run = simulate(&database, seed);
        runs += 1;
        for (what, n) in run.counts {
            *totals.entry(what).or_default() += n;
        }
        for phase in run.phases {
            *phases.entry(phase).or_default() += 1;
        }
        if !run.violations.is_empty() {
            eprintln!("seed {seed}: {} violations", run.violations.len());
            for v in run.violations.iter().take(10) {
                eprintln!("  {v}");
            }
            failed.push(seed);
        }
        // The trace of a failing seed, or of the one seed asked for.
        let asked = std::env::var_os("OFFBOARD_SIM_SEED").is_some();
        if std::env::var_os("OFFBOARD_SIM_TRACE").is_some()
            && (asked || failed.last() == Some(&seed))
        {
            for line in &run.trace {
                eprintln!("  | {line}");
            }
        }
    }
    eprintln!("{runs} seeds; closures ended in {phases:?}");
    for (what, n) in &totals {
        eprintln!("  {n:>7}  {what}");
    }
    assert!(
        failed.is_empty(),
        "seeds {failed:?} broke an invariant; replay one with \
         OFFBOARD_SIM_SEED=N OFFBOARD_SIM_TRACE=1 cargo test -p offboard-service --test simulation -- --nocapture"
    );
    // The faults this test exists for did happen, so it cannot pass by having none.
    if runs >= 50 {
        for what in [
            "db ConnectionLost",
            "db StatementTimeout",
            "db CommitAnswerLost",
            "db Stall()",
            "kill after apply_reports",
            "kill after lease_effects",
            "kill after a downstream call, before its report",
            "kill by the driver",
            "adapter Permanent",
            "adapter StallPastTimeout()",
            "adapter LostInTransit",
            "adapter fault on a purge",
            "hold placed before its class was purged",
            "hold placed after its class was purged",
            "hold released",
        ] {
            assert!(
                totals.get(what).copied().unwrap_or(0) >= 3,
                "{what}: only {:?} times in {runs} seeds",
                totals.get(what)
            );
        }
    }
}

#[test]
fn the_worker_and_store_keep_their_invariants_under_seeded_faults() {
    if let Some(seed) = std::env::var("OFFBOARD_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        sweep(std::iter::once(seed));
        return;
    }
    let seeds: u64 = std::env::var("OFFBOARD_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let first: u64 = std::env::var("OFFBOARD_SIM_FIRST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    sweep(first..first + seeds);
}

#[test]
fn a_seed_replays_exactly() {
    let database = Arc::new(Database::new());
    for seed in [7, 8, 9] {
        let first = simulate(&database, seed);
        let again = simulate(&database, seed);
        assert!(
            first.trace.len() > 100,
            "seed {seed}: {} trace lines",
            first.trace.len()
        );
        let differs = first
            .trace
            .iter()
            .zip(&again.trace)
            .position(|(a, b)| a != b);
        assert!(
            differs.is_none() && first.trace.len() == again.trace.len(),
            "seed {seed} ran differently the second time, from line {differs:?}: {:?} / {:?}",
            differs.map(|i| &first.trace[i]),
            differs.map(|i| &again.trace[i])
        );
        let other = simulate(&database, seed + 100);
        assert_ne!(first.trace, other.trace, "different seeds, same run");
    }
}
