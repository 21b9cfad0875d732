//! Model-based tests: random sequences of commands (right and wrong
//! confirmations, cancels, ticks at random times including backwards, effect
//! outcomes in any order with duplicates and failures, holds placed and
//! released, the snapshot changing between steps), with the machine's
//! invariants checked after every step:
//!
//! 1. a refused command leaves the stored state byte-identical;
//! 2. an accepted step that changes the state has audit events, every one of
//!    them along the transition table, and the whole chain verifies against
//!    the state's head; a step without events changes nothing;
//! 3. no idempotency key is ever issued as new twice;
//! 4. no purge is issued while a hold in force covers its record class,
//!    whichever source the hold came from (the test keeps its own record of
//!    every hold it handed in, in a snapshot or by `place_hold`, and of every
//!    release), and the state's hold set is exactly that record;
//! 5. the closure is closed only once every plan effect has succeeded;
//! 6. every effect a step emits is recorded in the state as pending;
//! 7. once a tenant or the account has been deleted (the point of no
//!    return), the closure is never aborted or cancelled;
//! 8. a cancelled or aborted closure issues nothing but what undoes it
//!    (restore access, the cancelled notice, a deadline extension's notice).
//!
//! Once the account is deleted the host has no snapshot any more: later
//! steps carry none, as in a real host.
//!
//! **Liveness.** After each random run a fair host takes over (the core's
//! [`Driver`]: it performs every effect, successfully; ticks at every time
//! named; retries whatever an operator is asked to). It must bring the
//! closure to an end (purged, or idle, cancelled or aborted), or to a state
//! that names what only a person can give: a confirmation, cleared
//! blockers, or the release of an open-ended hold in force.
//!
//! CI runs the default number of cases. The long run:
//! `PROPTEST_CASES=1000000 cargo test --release -p offboard-acceptance --test model`.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use offboard::audit::{verify_keyed_with_head, verify_with_head, AuditEvent, AuditKey};
use offboard::machine::{
    allowed, step, ClosureState, Command, Context, Driver, EffectStatus, ExitFeedback, ExitReason,
    Host, Outcome, PhaseKind, Waiting,
};
use offboard::model::{ActorRole, LegalHold, LegalHoldId, RecordClass, UserId};
use offboard::plan::{Action, Effect, Message};
use offboard::{Actor, ClosurePolicy, Snapshot};
use offboard_acceptance::read;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Request(Who),
    Confirm { right: bool, by: Who },
    Cancel(Who),
    Tick { minutes: i64 },
    Report { pick: usize, outcome: u8 },
    Retry,
    Abort,
    PlaceHold { class: usize, days: Option<u16> },
    ReleaseHold { pick: usize },
    ExtendDeadline,
    Snapshot(Change),
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Holder,
    Support,
    System,
    Stranger,
}

#[derive(Debug, Clone, Copy)]
enum Change {
    AddSubscription,
    DropSubscriptions,
    Suspend,
    Reinstate,
    /// The host's records gain a hold (`class`, ending after `days` or never).
    AddHold {
        class: usize,
        days: Option<u16>,
    },
    /// The host's records lose their holds (the machine must keep them).
    DropHolds,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![4 => Just(Who::Holder), 1 => Just(Who::Support), 1 => Just(Who::System), 1 => Just(Who::Stranger)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => who().prop_map(Op::Request),
        3 => (any::<bool>(), who()).prop_map(|(right, by)| Op::Confirm { right, by }),
        1 => who().prop_map(Op::Cancel),
        // Mostly forward, sometimes a lot (to reach purge dates), sometimes backwards.
        4 => prop_oneof![0i64..120, 0i64..30_000, 0i64..6_000_000, -300i64..0].prop_map(|minutes| Op::Tick { minutes }),
        8 => (any::<usize>(), 0u8..10).prop_map(|(pick, outcome)| Op::Report { pick, outcome }),
        1 => Just(Op::Retry),
        1 => Just(Op::Abort),
        1 => (0usize..4, proptest::option::of(1u16..400)).prop_map(|(class, days)| Op::PlaceHold { class, days }),
        1 => any::<usize>().prop_map(|pick| Op::ReleaseHold { pick }),
        1 => Just(Op::ExtendDeadline),
        2 => prop_oneof![
            Just(Change::AddSubscription),
            Just(Change::DropSubscriptions),
            Just(Change::Suspend),
            Just(Change::Reinstate),
            (0usize..4, proptest::option::of(1u16..400)).prop_map(|(class, days)| Change::AddHold { class, days }),
            Just(Change::DropHolds),
        ]
        .prop_map(Op::Snapshot),
    ]
}

/// One step as the conformance corpus records it: the texts a binding is given.
struct Recorded {
    now: String,
    actor: String,
    command: String,
    snapshot: Option<String>,
}

struct Run {
    /// When set, every step's inputs are kept for the conformance corpus.
    record: Option<Vec<Recorded>>,
    /// The audit key every step seals its events with, if the chain is keyed.
    key: Option<AuditKey>,
    /// The exit feedback every request carries, if any.
    feedback: Option<ExitFeedback>,
    policy: ClosurePolicy,
    snapshot: serde_json::Value,
    state: ClosureState,
    state_json: String,
    now: DateTime<Utc>,
    log: Vec<AuditEvent>,
    seen_keys: HashSet<String>,
    holds_placed: u32,
    /// Every hold handed to the machine and not released, by id: the truth
    /// the state's hold set is checked against.
    holds: BTreeMap<String, LegalHold>,
    /// Set once `delete_account` succeeded: the host has no snapshot since.
    deleted: bool,
    /// Set when a due purge was kept by a hold that came in a snapshot, with
    /// no snapshot in that step (the account deleted): the path the hold
    /// set exists for.
    held_by_snapshot_hold: bool,
}

impl Run {
    /// The first effect still waiting for its outcome.
    fn first_pending(&self) -> Option<usize> {
        self.state
            .effects
            .iter()
            .position(|r| r.status == EffectStatus::Pending)
    }

    fn new(policy: ClosurePolicy) -> Run {
        let snapshot: serde_json::Value =
            serde_json::from_str(&read("examples/data/team-owner.json")).unwrap();
        let state = ClosureState::new("cl_model", UserId::new("u_omar").unwrap()).unwrap();
        Run {
            record: None,
            key: None,
            feedback: None,
            policy,
            now: "2026-11-23T10:00:00Z".parse().unwrap(),
            state_json: serde_json::to_string(&state).unwrap(),
            state,
            snapshot,
            log: Vec::new(),
            seen_keys: HashSet::new(),
            holds_placed: 0,
            holds: BTreeMap::new(),
            deleted: false,
            held_by_snapshot_hold: false,
        }
    }

    fn actor(&self, who: Who) -> Actor {
        let id = |s: &str| UserId::new(s).unwrap();
        match who {
            Who::Holder => Actor {
                id: id("u_omar"),
                role: ActorRole::User,
                reauthenticated_at: Some(self.now),
            },
            Who::Support => Actor {
                id: id("ops_1"),
                role: ActorRole::SupportOperator,
                reauthenticated_at: Some(self.now),
            },
            Who::System => Actor {
                id: id("worker"),
                role: ActorRole::System,
                reauthenticated_at: None,
            },
            Who::Stranger => Actor {
                id: id("u_mallory"),
                role: ActorRole::User,
                reauthenticated_at: Some(self.now),
            },
        }
    }

    fn apply(&mut self, op: &Op) {
        let (command, who, now) = match op {
            Op::Request(by) => (
                Command::Request {
                    feedback: self.feedback.clone(),
                    token_digest: None,
                    reason: None,
                },
                *by,
                self.now,
            ),
            Op::Confirm { right, by } => {
                let value = if *right { "omar@acme.test" } else { "nope" };
                (
                    Command::Confirm {
                        value: value.into(),
                    },
                    *by,
                    self.now,
                )
            }
            Op::Cancel(by) => (Command::Cancel, *by, self.now),
            Op::Tick { minutes } => (
                Command::Tick,
                Who::System,
                self.now + TimeDelta::minutes(*minutes),
            ),
            Op::Report { pick, outcome } => {
                if self.state.effects.is_empty() {
                    return;
                }
                // Mostly a pending effect (as a host would); one time in five
                // any effect, settled ones included, to produce duplicates.
                let pending: Vec<_> = self
                    .state
                    .effects
                    .iter()
                    .filter(|r| r.status == EffectStatus::Pending)
                    .collect();
                let record = if pick % 5 != 0 && !pending.is_empty() {
                    pending[pick % pending.len()]
                } else {
                    &self.state.effects[pick % self.state.effects.len()]
                };
                let outcome = match outcome {
                    0..=6 => Outcome::Succeeded,
                    7 | 8 => Outcome::RetryableFailure {
                        reason: "timeout".into(),
                    },
                    _ => Outcome::PermanentFailure {
                        reason: "refused".into(),
                    },
                };
                (
                    Command::ReportOutcome {
                        effect: record.effect.id.clone(),
                        outcome,
                    },
                    Who::System,
                    self.now,
                )
            }
            Op::Retry => (Command::Retry, Who::Support, self.now),
            Op::Abort => (Command::Abort, Who::Support, self.now),
            Op::PlaceHold { class, days } => {
                self.holds_placed += 1;
                let hold = LegalHold {
                    id: LegalHoldId::new(format!("lh_{}", self.holds_placed)).unwrap(),
                    classes: vec![RecordClass::ALL[*class]],
                    reason: offboard::model::HoldReason::Litigation,
                    placed_by: UserId::new("ops_1").unwrap(),
                    placed_at: self.now,
                    until: days.map(|d| self.now + TimeDelta::days(i64::from(d))),
                };
                (Command::PlaceHold { hold }, Who::Support, self.now)
            }
            Op::ReleaseHold { pick } => {
                if self.state.holds.is_empty() {
                    return;
                }
                let hold = self.state.holds[pick % self.state.holds.len()]
                    .hold
                    .id
                    .clone();
                (Command::ReleaseHold { hold }, Who::Support, self.now)
            }
            Op::ExtendDeadline => (Command::ExtendDeadline, Who::Support, self.now),
            Op::Snapshot(change) => {
                match change {
                    Change::AddSubscription => {
                        let subs = self.snapshot["subscriptions"].as_array_mut().unwrap();
                        let id = format!("sub_new_{}", subs.len());
                        subs.push(serde_json::json!({"id": id, "plan": "Pro", "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}));
                    }
                    Change::DropSubscriptions => self.snapshot["subscriptions"]
                        .as_array_mut()
                        .unwrap()
                        .retain(|s| !s["id"].as_str().unwrap_or_default().starts_with("sub_new_")),
                    Change::Suspend => self.snapshot["account"]["status"] = "suspended".into(),
                    Change::Reinstate => self.snapshot["account"]["status"] = "active".into(),
                    Change::AddHold { class, days } => {
                        self.holds_placed += 1;
                        let until = days.map(|d| {
                            (self.now + TimeDelta::days(i64::from(d)))
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        });
                        let hold = serde_json::json!({
                            "id": format!("lh_s{}", self.holds_placed),
                            "classes": [RecordClass::ALL[*class]],
                            "reason": "tax_audit",
                            "placed_by": "legal_1",
                            "placed_at": self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            "until": until,
                        });
                        self.snapshot["legal_holds"]
                            .as_array_mut()
                            .map(|holds| holds.push(hold.clone()))
                            .unwrap_or_else(|| {
                                self.snapshot["legal_holds"] = serde_json::json!([hold])
                            });
                    }
                    Change::DropHolds => self.snapshot["legal_holds"] = serde_json::json!([]),
                }
                return;
            }
        };
        self.step(command, who, now);
    }

    fn step(&mut self, command: Command, who: Who, now: DateTime<Utc>) {
        let snapshot: Snapshot = serde_json::from_value(self.snapshot.clone()).unwrap();
        let given = (!self.deleted).then_some(&snapshot);
        let actor = self.actor(who);
        let ctx = Context {
            now,
            actor: &actor,
            policy: &self.policy,
            snapshot: given,
            audit_key: self.key.as_ref(),
        };
        if let Some(record) = &mut self.record {
            record.push(Recorded {
                now: now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                actor: serde_json::to_string(&actor).unwrap(),
                command: serde_json::to_string(&command).unwrap(),
                snapshot: given.map(|_| serde_json::to_string(&self.snapshot).unwrap()),
            });
        }
        let before = self.state.clone();
        let result = step(&self.state, &command, &ctx);
        // 1. Whatever happened, the state handed in is untouched.
        assert_eq!(serde_json::to_string(&self.state).unwrap(), self.state_json);
        let Ok(result) = result else { return };
        if given.is_none() {
            self.held_by_snapshot_hold |= result.notices.iter().any(|n| {
                matches!(n, offboard::machine::Notice::PurgeHeld { holds, .. }
                    if holds.iter().any(|h| h.as_str().starts_with("lh_s")))
            });
        }
        // A tick records its time; nothing else touches it.
        let ticked = if matches!(command, Command::Tick) {
            Some(now)
        } else {
            before.ticked
        };
        assert_eq!(result.state.ticked, ticked, "{command:?}");
        if result.audit.is_empty() {
            // 2. No events: nothing changed but the times the state has seen.
            let mut same = before.clone();
            same.clock = result.state.clock;
            same.ticked = ticked;
            assert_eq!(
                result.state, same,
                "{command:?} changed the state without an audit event"
            );
            assert!(result.effects.is_empty());
            self.now = now;
            self.state_json = serde_json::to_string(&result.state).unwrap();
            self.state = result.state;
            return;
        }
        // 2. Events along the table, and a chain that verifies.
        for event in &result.audit {
            assert!(
                allowed(event.from, event.command, event.to),
                "{:?} --{:?}--> {:?} is not in the table",
                event.from,
                event.command,
                event.to
            );
        }
        self.log.extend(result.audit.iter().cloned());
        match &self.key {
            Some(key) => verify_keyed_with_head(&self.log, key, &result.state.audit.head),
            None => verify_with_head(&self.log, &result.state.audit.head),
        }
        .unwrap();
        // 3. New records have keys never issued before in this run.
        let old: HashSet<&str> = before
            .effects
            .iter()
            .map(|r| r.effect.id.as_str())
            .collect();
        for record in &result.state.effects {
            let id = record.effect.id.as_str();
            if !old.contains(id) {
                assert!(
                    self.seen_keys.insert(id.to_owned()),
                    "key {id} issued as new twice"
                );
            }
        }
        // 4. The test's own record of the holds handed in, by either path.
        if before.phase.kind() != PhaseKind::Purged {
            for hold in given.map(|s| s.legal_holds.as_slice()).unwrap_or_default() {
                self.holds
                    .entry(hold.id.to_string())
                    .or_insert_with(|| hold.clone());
            }
        }
        match &command {
            Command::PlaceHold { hold } => {
                let mut hold = hold.clone();
                hold.placed_at = now;
                self.holds.insert(hold.id.to_string(), hold);
            }
            Command::ReleaseHold { hold } => {
                self.holds.remove(hold.as_str());
            }
            _ => {}
        }
        let ids: Vec<&str> = result
            .state
            .holds
            .iter()
            .map(|e| e.hold.id.as_str())
            .collect();
        let mut ids = ids;
        ids.sort_unstable();
        assert_eq!(
            ids,
            self.holds.keys().map(String::as_str).collect::<Vec<_>>(),
            "the hold set lost or invented a hold"
        );
        for effect in &result.effects {
            if let Action::Purge { class } = effect.action {
                // Holds are only ever widened, so the first record of each
                // is the least it protects.
                let held = self
                    .holds
                    .values()
                    .any(|h| h.in_force(now) && h.covers(class));
                assert!(!held, "purge of {class} issued under a hold");
            }
            // 6. Every emitted effect is recorded as pending.
            let record = result
                .state
                .effects
                .iter()
                .find(|r| r.effect.id == effect.id)
                .expect("emitted effect is recorded");
            assert_eq!(record.status, EffectStatus::Pending);
        }
        // 7. Past the point of no return (a tenant or the account deleted),
        // no way out but forward: never aborted or cancelled with personal
        // data kept and nothing scheduled.
        let destroyed = result.state.effects.iter().any(|r| {
            matches!(
                r.effect.action,
                Action::DeleteTenant { .. } | Action::DeleteAccount
            ) && r.status != EffectStatus::Planned
        });
        assert!(
            !(destroyed
                && matches!(
                    result.state.phase.kind(),
                    PhaseKind::Aborted | PhaseKind::Cancelled
                )),
            "{:?} after a deletion was issued",
            result.state.phase.kind()
        );
        // 8. A cancelled or aborted closure issues only what undoes it.
        if matches!(
            result.state.phase.kind(),
            PhaseKind::Cancelled | PhaseKind::Aborted
        ) {
            for effect in &result.effects {
                let winds_down = matches!(
                    &effect.action,
                    Action::RestoreAccess
                        | Action::Notify {
                            message: Message::Cancelled | Message::DeadlineExtended { .. },
                            ..
                        }
                );
                assert!(
                    winds_down,
                    "{:?} issued {:?} in {:?}",
                    command,
                    effect.action,
                    result.state.phase.kind()
                );
            }
        }
        // 5. Closed only after every plan effect succeeded.
        if result.state.phase.kind() == PhaseKind::Closed
            && before.phase.kind() != PhaseKind::Closed
        {
            assert!(result
                .state
                .effects
                .iter()
                .filter(|r| r.stage.is_some())
                .all(|r| matches!(r.status, EffectStatus::Succeeded { .. })));
        }
        if let Command::ReportOutcome {
            effect,
            outcome: Outcome::Succeeded,
        } = &command
        {
            let deleted = result
                .state
                .effects
                .iter()
                .any(|r| r.effect.id == *effect && r.effect.action == Action::DeleteAccount);
            self.deleted |= deleted;
        }
        self.now = now;
        self.state_json = serde_json::to_string(&result.state).unwrap();
        self.state = result.state;
    }

    /// The liveness property: a fair host, on the core's driver, takes the
    /// closure from wherever the random run left it.
    fn finish_fairly(&mut self) {
        let snapshot: Snapshot = serde_json::from_value(self.snapshot.clone()).unwrap();
        let mut host = Fair {
            snapshot: (!self.deleted).then_some(snapshot),
        };
        let mut driver = Driver::new(self.state.clone());
        let system = self.actor(Who::System);
        let mut now = self.state.clock.unwrap_or(self.now);
        let until = now + TimeDelta::days(365 * 200);
        for _ in 0..20 {
            now = driver
                .drive(&mut host, &system, &self.policy, now, until, 10_000)
                .unwrap();
            let asks_operator = driver
                .waiting(&self.policy)
                .iter()
                .any(|w| matches!(w, Waiting::Operator { .. }));
            if !asks_operator {
                break;
            }
            let support = self.actor(Who::Support);
            let ctx = Context {
                now,
                actor: &support,
                policy: &self.policy,
                snapshot: host.snapshot(),
                audit_key: None,
            };
            let _ = driver.handle(&Command::Retry, &ctx).unwrap();
        }
        let state = driver.state();
        let waiting = state.waiting(&self.policy);
        let ended = matches!(
            state.phase.kind(),
            PhaseKind::Idle | PhaseKind::Cancelled | PhaseKind::Aborted | PhaseKind::Purged
        );
        if waiting.is_empty() {
            assert!(
                ended,
                "{:?} waits for nothing: {}",
                state.phase.kind(),
                serde_json::to_string_pretty(state).unwrap()
            );
            return;
        }
        for wait in &waiting {
            match wait {
                Waiting::Confirmation => {
                    assert_eq!(state.phase.kind(), PhaseKind::AwaitingConfirmation)
                }
                Waiting::Blockers => assert_eq!(state.phase.kind(), PhaseKind::Halted),
                Waiting::Holds { holds } => {
                    assert_eq!(state.phase.kind(), PhaseKind::Closed);
                    for id in holds {
                        let entry = state.holds.iter().find(|e| e.hold.id == *id).unwrap();
                        // The fair host ticked at every time named, up to
                        // `until`: a hold that ends before then must have
                        // been seen to end (its end named by next_tick).
                        assert!(
                            entry.hold.until.is_none_or(|end| end > until),
                            "{id} ended at {:?} but the closure still waits for it",
                            entry.hold.until
                        );
                    }
                }
                // Outcomes, time, an operator, or a reason added later.
                _ => {
                    panic!(
                        "a fair host left {wait:?} in {:?} (all: {waiting:?})",
                        state.phase.kind()
                    )
                }
            }
        }
    }
}

/// The fair host: every effect succeeds, and the account's snapshot is gone
/// once the account is deleted.
struct Fair {
    snapshot: Option<Snapshot>,
}

impl Host for Fair {
    fn perform(&mut self, effect: &Effect) -> Outcome {
        if effect.action == Action::DeleteAccount {
            self.snapshot = None;
        }
        Outcome::Succeeded
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
}

fn policies() -> impl Strategy<Value = ClosurePolicy> {
    prop_oneof![
        Just({
            let mut p = ClosurePolicy::cascade();
            p.retry.max_attempts = 3;
            p
        }),
        Just({
            let mut p = ClosurePolicy::cascade();
            p.grace_period_days = 3;
            p.lifecycle.lock_on_confirm = true;
            p.lifecycle.reminder_days_before = vec![1];
            p
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_random_command_sequences(policy in policies(), ops in proptest::collection::vec(op(), 1..150)) {
        let mut run = Run::new(policy);
        for op in &ops {
            run.apply(op);
        }
        run.finish_fairly();
    }
}

#[test]
fn the_generator_reaches_the_interesting_phases() {
    // A fixed sequence that reaches closed and purged through the same code
    // the random runs use, so the invariants are exercised where it matters.
    let mut run = Run::new(ClosurePolicy::cascade());
    run.apply(&Op::Request(Who::Holder));
    run.apply(&Op::Confirm {
        right: true,
        by: Who::Holder,
    });
    for _ in 0..100 {
        let Some(pick) = run.first_pending() else {
            break;
        };
        run.apply(&Op::Report { pick, outcome: 0 });
    }
    assert_eq!(run.state.phase.kind(), PhaseKind::Closed);
    run.apply(&Op::PlaceHold {
        class: 0,
        days: None,
    });
    run.apply(&Op::Tick { minutes: 6_000_000 });
    for _ in 0..10 {
        if let Some(pick) = run.first_pending() {
            run.apply(&Op::Report { pick, outcome: 0 });
        }
    }
    assert_eq!(
        run.state.phase.kind(),
        PhaseKind::Closed,
        "personal data is still held"
    );
    run.apply(&Op::ReleaseHold { pick: 0 });
    let pick = run.first_pending().unwrap();
    run.apply(&Op::Report { pick, outcome: 0 });
    assert_eq!(run.state.phase.kind(), PhaseKind::Purged);
}

#[test]
fn random_runs_reach_every_phase() {
    // The generator must drive runs deep enough for the invariants to matter.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = HashSet::new();
    let mut held_by_snapshot_hold = 0;
    for _ in 0..400 {
        let policy = policies().new_tree(&mut runner).unwrap().current();
        let ops = proptest::collection::vec(op(), 1..150)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut run = Run::new(policy);
        for op in &ops {
            run.apply(op);
            seen.insert(run.state.phase.kind());
        }
        held_by_snapshot_hold += usize::from(run.held_by_snapshot_hold);
    }
    assert!(
        held_by_snapshot_hold >= 5,
        "only {held_by_snapshot_hold} runs had a snapshot's hold keep a purge after the account was deleted"
    );
    for phase in [
        PhaseKind::AwaitingConfirmation,
        PhaseKind::Scheduled,
        PhaseKind::Halted,
        PhaseKind::Executing,
        PhaseKind::Failed,
        PhaseKind::Aborted,
        PhaseKind::Cancelled,
        PhaseKind::Closed,
        PhaseKind::Purged,
    ] {
        assert!(
            seen.contains(&phase),
            "no random run reached {phase:?}: {seen:?}"
        );
    }
}

/// The conformance corpus: random command sequences from this file's
/// generator (a fixed seed), each replayed through the library's JSON entry
/// point (`offboard::json::step_keyed`, what every binding calls) with the
/// state carried from one step's output to the next. Each case is a
/// directory of `tests/fixtures/conformance/`: its policies
/// (`policy-<n>.json`), the first state, the distinct snapshots, `key.txt`
/// when its audit chain is keyed (the key's id and secret in hex, a tab
/// between), and `steps.tsv`, a line per step with its time, actor,
/// command, snapshot (an index, or `-` for none), policy (an index) and the
/// expected answer: `ok`, the SHA-256 of the step JSON and the length in
/// bytes of its `state` (which starts at byte 9, after `{"state":`), or
/// `error` and the code. Odd cases carry text beyond ASCII (exit feedback,
/// names) so lengths in bytes and characters differ; every third is keyed;
/// even cases end under a second policy, where the closure refuses to go on
/// (`policy_changed`) until support migrates it (`migrate_policy`).
/// WebAssembly in Node, the C ABI and Python replay the same files and must
/// give byte-identical step JSON and the same codes. Written with
/// `OFFBOARD_REGENERATE=1`; otherwise this test fails if they drifted.
#[test]
fn the_conformance_corpus_is_current() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    const CASES: usize = 24;
    let mut runner = TestRunner::deterministic();
    let mut files: Vec<(String, String)> = Vec::new();
    let (mut steps, mut refused, mut phases) = (0, 0, HashSet::new());
    let (mut migrated, mut policy_changed, mut beyond_ascii, mut keyed_steps) = (0, 0, 0, 0);
    for case in 0..CASES {
        let policy = policies().new_tree(&mut runner).unwrap().current();
        let ops = proptest::collection::vec(op(), 1..80)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut run = Run::new(policy.clone());
        run.record = Some(Vec::new());
        let key_text = (case % 3 == 1).then(|| {
            let secret: String = (0..32u8)
                .map(|i| format!("{:02x}", i.wrapping_mul(37) ^ 0x5c))
                .collect();
            format!("k_conformance_{case}\t{secret}")
        });
        run.key = key_text.as_ref().map(|text| {
            let (id, secret) = text.split_once('\t').unwrap();
            offboard::json::audit_key(id, secret).unwrap()
        });
        if case % 2 == 1 {
            run.feedback = Some(ExitFeedback {
                reason: ExitReason::TooExpensive,
                comment: Some("Zu teuer \u{2014} \u{9ad8}\u{3059}\u{304e}\u{308b} \u{1f4b8} \"quoted\"\n\ttabbed".into()),
            });
            run.snapshot["account"]["display_name"] = "\u{d6}mer Hadd\u{e1}d \u{1f42b}".into();
            run.snapshot["tenants"][0]["name"] =
                "Acme Rob\u{f3}tica \u{682a}\u{5f0f}\u{4f1a}\u{793e}".into();
        }
        let first_state = run.state_json.clone();
        for op in &ops {
            run.apply(op);
        }
        let recorded = run.record.take().unwrap();
        // The second policy: the same rules under another name, so its
        // fingerprint differs and a confirmed closure must be migrated.
        let mut revised = policy.clone();
        revised.name = format!("{} r\u{e9}vis\u{e9}e", policy.name);
        let case_policies = [policy.clone(), revised];
        let dir = format!("case-{case:02}");
        let mut snapshots: Vec<String> = Vec::new();
        let mut lines = String::new();
        let mut state = first_state.clone();
        let mut play = |r: &Recorded, policy: usize, state: &mut String| {
            let snapshot =
                r.snapshot
                    .as_ref()
                    .map(|text| match snapshots.iter().position(|s| s == text) {
                        Some(i) => i,
                        None => {
                            snapshots.push(text.clone());
                            snapshots.len() - 1
                        }
                    });
            let answer = offboard::json::step_keyed(
                state,
                &r.command,
                &r.actor,
                &case_policies[policy],
                r.snapshot.as_deref(),
                &r.now,
                run.key.as_ref(),
            );
            let expected = match &answer {
                Ok(out) => {
                    let end = state_end(out);
                    *state = out[9..end].to_owned();
                    beyond_ascii += usize::from(!out.is_ascii());
                    keyed_steps += usize::from(run.key.is_some());
                    format!(
                        "ok\t{}\t{}",
                        offboard::audit::digest_hex(out.as_bytes()),
                        end - 9
                    )
                }
                Err(e) => {
                    refused += 1;
                    format!("error\t{}", e.code().as_str())
                }
            };
            steps += 1;
            let index = snapshot.map_or("-".to_owned(), |i| i.to_string());
            lines.push_str(&format!(
                "{}\t{}\t{}\t{index}\t{policy}\t{expected}\n",
                r.now, r.actor, r.command
            ));
            answer
        };
        for r in &recorded {
            // A refusal is recorded in the line; the state stays.
            let _ = play(r, 0, &mut state);
        }
        // The JSON entry point, step by step, ends where the typed run did.
        assert_eq!(
            ClosureState::from_json(&state).unwrap(),
            run.state,
            "case {case}"
        );
        phases.insert(format!("{:?}", run.state.phase.kind()));
        if case % 2 == 0 {
            // Under the revised policy: a tick, a migration from the wrong
            // fingerprint, the migration from the pinned one, a tick.
            let pinned = run
                .state
                .pinned_policy()
                .map_or_else(|| policy.fingerprint(), str::to_owned);
            let at = |who: Who, command: Command| Recorded {
                now: run.now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                actor: serde_json::to_string(&run.actor(who)).unwrap(),
                command: serde_json::to_string(&command).unwrap(),
                snapshot: (!run.deleted).then(|| serde_json::to_string(&run.snapshot).unwrap()),
            };
            let tail = [
                at(Who::System, Command::Tick),
                at(
                    Who::Support,
                    Command::MigratePolicy {
                        from: "0".repeat(64),
                    },
                ),
                at(Who::Support, Command::MigratePolicy { from: pinned }),
                at(Who::System, Command::Tick),
            ];
            for (i, r) in tail.iter().enumerate() {
                match (i, play(r, 1, &mut state)) {
                    (2, Ok(_)) => migrated += 1,
                    (0, Err(e)) if e.code().as_str() == "policy_changed" => policy_changed += 1,
                    _ => {}
                }
            }
        }
        for (i, p) in case_policies.iter().enumerate() {
            files.push((
                format!("{dir}/policy-{i}.json"),
                offboard::json::policy_json(p) + "\n",
            ));
        }
        files.push((format!("{dir}/state.json"), first_state + "\n"));
        if let Some(text) = &key_text {
            files.push((format!("{dir}/key.txt"), format!("{text}\n")));
        }
        for (i, snapshot) in snapshots.iter().enumerate() {
            files.push((format!("{dir}/snapshot-{i}.json"), format!("{snapshot}\n")));
        }
        files.push((format!("{dir}/steps.tsv"), lines));
    }
    // A corpus worth replaying: many steps, refusals among them, runs
    // ending in several phases, keyed chains, text beyond ASCII, closures
    // halted by a changed policy and migrated.
    assert!(steps > 600, "{steps} steps");
    assert!(refused > 50, "{refused} refusals");
    assert!(phases.len() >= 4, "{phases:?}");
    assert!(keyed_steps > 100, "{keyed_steps} keyed steps");
    assert!(beyond_ascii > 50, "{beyond_ascii} answers beyond ASCII");
    assert!(
        migrated >= 2 && policy_changed >= 2,
        "{migrated} migrated, {policy_changed} policy_changed"
    );

    offboard_acceptance::write_or_check(
        "tests/fixtures/conformance",
        &files,
        "OFFBOARD_REGENERATE=1 cargo test -p offboard-acceptance --test model conformance",
    );
    let dir = offboard_acceptance::root().join("tests/fixtures/conformance");
    let listed = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(listed, CASES, "a stale case in {}", dir.display());
}

/// Where the `state` of a step JSON ends: the step is
/// `{"state":{...},"effects":...}`, so the object that starts at byte 9.
fn state_end(step: &str) -> usize {
    assert!(step.starts_with("{\"state\":{"), "{}", &step[..20]);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in step.char_indices().skip(9) {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            (false, _, _) => {}
        }
    }
    panic!("no end to the state")
}
