//! Crash and resume: a host that keeps only what it persisted (the closure
//! state JSON and the audit log) crashes at every possible point of a whole
//! closure, then resumes on the core's host loop ([`Driver`]), which hands
//! out again every effect the state shows as issued and unreported. A fake
//! downstream service counts every delivery of every key, and applies a
//! key's action only on its first delivery, as an idempotent provider does.
//! The test knows independently which key was in flight when the host
//! crashed (performed, its report not yet persisted): every key must be
//! delivered as often as in an uninterrupted run, and that key once more,
//! so a host that re-delivers a settled effect, or loses the one in flight,
//! fails. One key in three fails its first delivery (retryably), so the
//! closure also crashes while effects wait for their retry time (such a key
//! is delivered twice uninterrupted), and a host that hands those out at
//! once after a restart fails too. Each
//! action (by its JSON) must be applied exactly once, so an action issued
//! under two keys fails too, and the final state and audit chain must equal
//! those of an uninterrupted run.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use offboard::audit::{verify_with_head, AuditEvent};
use offboard::machine::{ClosureState, Command, Context, Driver, Outcome, PhaseKind};
use offboard::model::UserId;
use offboard::plan::Effect;
use offboard::{Actor, ClosurePolicy, Snapshot};
use offboard_acceptance::read;

/// What survives a crash: written together, after every accepted step.
#[derive(Clone, Default, PartialEq, Debug)]
struct Disk {
    state: String,
    log: String,
}

/// A downstream service that is idempotent by key, as effects require. It
/// counts what it receives: every delivery of every key.
#[derive(Default)]
struct Downstream {
    /// How often each key was delivered (repeats included).
    deliveries: BTreeMap<String, u32>,
    /// How often each action (by its JSON) was really applied: on the first
    /// successful delivery of its key only.
    applied: BTreeMap<String, u32>,
    /// The keys applied.
    performed: std::collections::BTreeSet<String>,
}

impl Downstream {
    /// Takes one delivery. A delivery the host is told failed (`fail`) is
    /// counted and applies nothing.
    fn perform(&mut self, effect: &Effect, fail: bool) -> Outcome {
        let seen = self.deliveries.entry(effect.id.to_string()).or_default();
        *seen += 1;
        if fail {
            return Outcome::RetryableFailure {
                reason: "503 Service Unavailable".into(),
            };
        }
        let key = effect.id.to_string();
        if self.performed.insert(key) {
            let action = serde_json::to_string(&effect.action).unwrap();
            *self.applied.entry(action).or_default() += 1;
        }
        Outcome::Succeeded
    }
}

/// Whether this delivery of `effect` fails: one key in three fails until a
/// failure of it is on record (so a crash after the failing delivery makes
/// the next one fail too, and the run ends as the uninterrupted one does).
/// The closure then waits out its retry time, which a host that hands out
/// effects waiting for a retry at once, after a restart, does not.
fn fails(state: &ClosureState, effect: &Effect) -> bool {
    let chosen = effect.id.as_str().bytes().map(u32::from).sum::<u32>() % 3 == 0;
    chosen
        && state
            .effects
            .iter()
            .find(|r| r.effect.id == effect.id)
            .is_some_and(|r| r.failures == 0)
}

/// How a run of the host ended.
#[derive(Debug, PartialEq)]
enum Run {
    /// The closure was purged.
    Finished,
    /// The host crashed; `in_flight` is the key it had performed and whose
    /// report was not yet on disk.
    Crashed { in_flight: Option<String> },
}

/// Counts down to a crash; `None` never crashes.
struct Fuse(Option<usize>);

impl Fuse {
    /// False when the host crashes at this point.
    fn survive(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

struct World {
    policy: ClosurePolicy,
    snapshot: Snapshot,
    holder: Actor,
    system: Actor,
    start: DateTime<Utc>,
}

fn world() -> World {
    let snapshot = Snapshot::from_json(&read("examples/data/team-owner.json")).unwrap();
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 7;
    policy.lifecycle = offboard::policy::Lifecycle {
        lock_on_confirm: true,
        reminder_days_before: vec![2],
    };
    let start = snapshot.taken_at;
    World {
        holder: Actor::holder(&snapshot.account, start),
        system: Actor::system_as(UserId::new("worker").unwrap()),
        policy,
        snapshot,
        start,
    }
}

/// Runs the host from what is on disk until the closure is purged or the
/// fuse blows. The host decides what to do from the persisted state alone.
fn drive(world: &World, disk: &mut Disk, downstream: &mut Downstream, fuse: &mut Fuse) -> Run {
    if disk.state.is_empty() {
        let state = ClosureState::new("cl_crash", world.snapshot.account.id.clone()).unwrap();
        *disk = Disk {
            state: serde_json::to_string(&state).unwrap(),
            log: "[]".into(),
        };
    }
    // Everything in memory starts from disk: the driver re-issues what the
    // state shows as issued and never reported.
    let mut driver = Driver::new(ClosureState::from_json(&disk.state).unwrap());
    let mut in_flight = None;
    for _ in 0..1000 {
        let state = driver.state();
        let now = state.clock.unwrap_or(world.start);
        let ctx = |at, actor| Context {
            now: at,
            actor,
            policy: &world.policy,
            snapshot: Some(&world.snapshot),
            audit_key: None,
        };
        let result = match state.phase.kind() {
            PhaseKind::Purged => return Run::Finished,
            PhaseKind::Idle => driver.handle(
                &Command::Request {
                    feedback: None,
                    token_digest: None,
                    reason: None,
                },
                &ctx(now, &world.holder),
            ),
            PhaseKind::AwaitingConfirmation => driver.handle(
                &Command::Confirm {
                    value: world.snapshot.account.email.clone(),
                },
                &ctx(now, &world.holder),
            ),
            _ => match driver.poll_effect() {
                Some(effect) => {
                    let outcome = downstream.perform(&effect, fails(driver.state(), &effect));
                    in_flight = Some(effect.id.to_string());
                    if !fuse.survive() {
                        // Crashed after the delivery, before reporting it.
                        return Run::Crashed { in_flight };
                    }
                    driver.handle_outcome(&effect.id, outcome, &ctx(now, &world.system))
                }
                None => match driver.poll_timeout(&world.policy) {
                    Some(at) => driver.handle_timeout(&ctx(now.max(at), &world.system)),
                    None => panic!(
                        "stuck in {:?}, waiting for {:?}",
                        driver.state().phase.kind(),
                        driver.waiting(&world.policy)
                    ),
                },
            },
        };
        let result = result.unwrap();
        if !fuse.survive() {
            // Crashed before persisting the step.
            return Run::Crashed { in_flight };
        }
        let mut log: Vec<AuditEvent> = serde_json::from_str(&disk.log).unwrap();
        log.extend(result.audit);
        *disk = Disk {
            state: serde_json::to_string(&result.state).unwrap(),
            log: serde_json::to_string(&log).unwrap(),
        };
        // Its report is on disk now.
        in_flight = None;
    }
    panic!("the closure did not finish");
}

#[test]
fn a_host_crashing_at_every_point_ends_exactly_like_an_uninterrupted_run() {
    let world = world();
    let mut reference = Disk::default();
    let mut reference_downstream = Downstream::default();
    let mut counter = Fuse(Some(usize::MAX));
    assert_eq!(
        drive(
            &world,
            &mut reference,
            &mut reference_downstream,
            &mut counter
        ),
        Run::Finished
    );
    let crash_points = usize::MAX - counter.0.unwrap();
    assert!(crash_points > 30, "only {crash_points} crash points");
    // Uninterrupted, every key is delivered once, or twice if its first
    // delivery failed (and then after its retry time), and every action
    // applied once.
    assert!(reference_downstream.deliveries.len() > 10);
    let retried = reference_downstream
        .deliveries
        .values()
        .filter(|n| **n == 2)
        .count();
    assert!(retried >= 3, "only {retried} keys failed once");
    assert!(reference_downstream.deliveries.values().all(|n| *n <= 2));
    assert!(reference_downstream.applied.values().all(|n| *n == 1));
    let log: Vec<AuditEvent> = serde_json::from_str(&reference.log).unwrap();
    let state = ClosureState::from_json(&reference.state).unwrap();
    verify_with_head(&log, &state.audit.head).unwrap();

    let mut redelivered = 0;
    for crash_at in 0..crash_points {
        let mut disk = Disk::default();
        let mut downstream = Downstream::default();
        let Run::Crashed { in_flight } = drive(
            &world,
            &mut disk,
            &mut downstream,
            &mut Fuse(Some(crash_at)),
        ) else {
            panic!("no crash at point {crash_at}");
        };
        // Everything in memory is gone; the host restarts from disk.
        assert_eq!(
            drive(&world, &mut disk, &mut downstream, &mut Fuse(None)),
            Run::Finished,
            "no finish after crash {crash_at}"
        );
        assert_eq!(
            disk, reference,
            "crash at point {crash_at} changed the outcome"
        );
        // The deliveries the crash explains, and no others: each key as
        // often as uninterrupted, the key in flight once more (before the
        // crash and after the restart).
        let mut expected = reference_downstream.deliveries.clone();
        if let Some(key) = &in_flight {
            *expected.get_mut(key).unwrap() += 1;
            redelivered += 1;
        }
        assert_eq!(
            downstream.deliveries, expected,
            "crash at point {crash_at} (in flight: {in_flight:?}): deliveries per key"
        );
        assert_eq!(
            downstream.applied, reference_downstream.applied,
            "crash at point {crash_at}: each action applied once"
        );
    }
    // Crashes between performing and persisting the report are frequent
    // among the crash points; each makes the host deliver that key again.
    assert!(
        redelivered > crash_points / 3,
        "only {redelivered} of {crash_points} crashes had an effect in flight"
    );
    println!("{crash_points} crash points; {redelivered} crashes had an effect in flight, delivered again once and applied once");
}
