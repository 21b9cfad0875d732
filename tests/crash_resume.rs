//! Crash and resume: a host that keeps only what it persisted (the closure
//! state JSON and the audit log) crashes at every possible point of a whole
//! closure, then resumes on the core's host loop ([`Driver`]), which hands
//! out again every effect the state shows as issued and unreported. A fake
//! downstream service deduplicates by key, as effects require; it counts
//! how often each *action* was applied, so an action issued under two keys
//! shows as applied twice. Every action must be applied exactly once, and
//! the final state and audit chain must equal those of an uninterrupted run.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

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

/// A downstream service that is idempotent by key, as effects require.
#[derive(Default)]
struct Downstream {
    /// Keys seen: a repeat delivery of one is recognised and not applied.
    keys: BTreeSet<String>,
    /// How often each action (by its JSON) was really applied.
    applied: BTreeMap<String, u32>,
    deliveries: u32,
}

impl Downstream {
    fn perform(&mut self, effect: &Effect) {
        self.deliveries += 1;
        if self.keys.insert(effect.id.to_string()) {
            let action = serde_json::to_string(&effect.action).unwrap();
            *self.applied.entry(action).or_default() += 1;
        }
    }
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
        system: Actor::system(UserId::new("worker").unwrap()),
        policy,
        snapshot,
        start,
    }
}

/// Runs the host from what is on disk until the closure is purged or the
/// fuse blows. The host decides what to do from the persisted state alone.
/// Returns false on a crash.
fn drive(world: &World, disk: &mut Disk, downstream: &mut Downstream, fuse: &mut Fuse) -> bool {
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
            PhaseKind::Purged => return true,
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
                    downstream.perform(&effect);
                    if !fuse.survive() {
                        return false; // crashed after performing, before reporting
                    }
                    driver.handle_outcome(&effect.id, Outcome::Succeeded, &ctx(now, &world.system))
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
            return false; // crashed before persisting the step
        }
        let mut log: Vec<AuditEvent> = serde_json::from_str(&disk.log).unwrap();
        log.extend(result.audit);
        *disk = Disk {
            state: serde_json::to_string(&result.state).unwrap(),
            log: serde_json::to_string(&log).unwrap(),
        };
    }
    panic!("the closure did not finish");
}

#[test]
fn a_host_crashing_at_every_point_ends_exactly_like_an_uninterrupted_run() {
    let world = world();
    let mut reference = Disk::default();
    let mut reference_downstream = Downstream::default();
    let mut counter = Fuse(Some(usize::MAX));
    assert!(drive(
        &world,
        &mut reference,
        &mut reference_downstream,
        &mut counter
    ));
    let crash_points = usize::MAX - counter.0.unwrap();
    assert!(crash_points > 30, "only {crash_points} crash points");
    assert!(reference_downstream.applied.values().all(|n| *n == 1));
    let log: Vec<AuditEvent> = serde_json::from_str(&reference.log).unwrap();
    let state = ClosureState::from_json(&reference.state).unwrap();
    verify_with_head(&log, &state.audit.head).unwrap();

    let mut redelivered = 0;
    for crash_at in 0..crash_points {
        let mut disk = Disk::default();
        let mut downstream = Downstream::default();
        assert!(
            !drive(
                &world,
                &mut disk,
                &mut downstream,
                &mut Fuse(Some(crash_at))
            ),
            "no crash at point {crash_at}"
        );
        // Everything in memory is gone; the host restarts from disk.
        assert!(
            drive(&world, &mut disk, &mut downstream, &mut Fuse(None)),
            "no finish after crash {crash_at}"
        );
        assert_eq!(
            disk, reference,
            "crash at point {crash_at} changed the outcome"
        );
        assert_eq!(
            downstream.applied, reference_downstream.applied,
            "crash at point {crash_at}: each action applied once"
        );
        assert!(downstream.deliveries >= reference_downstream.deliveries);
        if downstream.deliveries > reference_downstream.deliveries {
            redelivered += 1;
        }
    }
    // Crashes between performing and reporting do make the host deliver again;
    // the keys are what keep those deliveries from being applied twice.
    assert!(
        redelivered > crash_points / 3,
        "only {redelivered} of {crash_points} crashes re-delivered an effect"
    );
    println!("{crash_points} crash points; {redelivered} crashes led to a repeat delivery, each dropped by key");
}
