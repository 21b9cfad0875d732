//! History checking: concurrent clients send commands against one account
//! (the holder requests, confirms with `If-Match` on the version it saw, and
//! cancels; a reader reads the version; the support operator places a legal
//! hold), each operation recorded with when it was sent, when its answer
//! came and what the answer was. The history must be linearizable against
//! the pure machine as the sequential model: some order of the operations,
//! respecting real time (one that answered before another was sent comes
//! first), in which `offboard::machine::step` from a fresh closure gives
//! every answer observed: the same refusal code, or acceptance with the same
//! phase, version and whole state, byte for byte once parsed (each accepted
//! command is stepped at the time the service stamped on it, so the ids and
//! digests derived from time agree too). An answer lost or failed (a 5xx)
//! may or may not have taken effect, and the checker tries both (the
//! latter at each time the service was seen to use). Each round ends with a read sent after every other answer came, so
//! what is stored at the end must be the model's too. The checker searches
//! every such order (histories of at most 10 operations, so brute force
//! with memoisation suffices).
//!
//! The checker is first shown to catch the stale confirmation the issue
//! reproduced (a confirmation decided on one request executing the next),
//! and to accept it when the confirmation carries no version, which is why
//! `If-Match` is needed. Real service processes, SQLite and PostgreSQL, on
//! 127.0.0.1, with no workers (so only these clients change the closure).
//! `OFFBOARD_HISTORY_ROUNDS=N` runs more rounds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{clone_sample, databases, Claims, Db, Rng, Service};
use offboard::machine::{step, ClosureState, Command, Context};
use offboard::model::{ActorRole, HoldReason, LegalHold, LegalHoldId, RecordClass, UserId};
use offboard::{Actor, ClosurePolicy, Snapshot};
use serde_json::Value;

/// Who sends an operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Holder,
    Operator,
}

/// What an operation asks.
#[derive(Debug, Clone)]
enum Kind {
    /// `GET …/closure`: the version (0 with no closure).
    Read,
    /// A command, with the `If-Match` version it carried, if any.
    Command {
        command: Command,
        who: Who,
        expected: Option<i64>,
    },
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// Accepted (or, for a read, answered): the phase, the version and the
    /// whole state after it.
    Ok {
        phase: String,
        version: i64,
        state: Value,
    },
    /// Refused with this code.
    Refused(String),
    /// The service failed (a 5xx) or the answer was lost: the command may
    /// or may not have taken effect, so the checker tries both.
    Unknown,
}

impl Answer {
    /// An acceptance, or a read's answer.
    fn ok(phase: &str, version: i64, state: Value) -> Answer {
        Answer::Ok {
            phase: phase.to_owned(),
            version,
            state,
        }
    }

    /// Whether `self`, what the model says, explains `observed`: equal, or
    /// the observed answer compared without its state where the history
    /// was written by hand (a `Null` state there means "not recorded").
    fn explains(&self, observed: &Answer) -> bool {
        match (self, observed) {
            (
                Answer::Ok {
                    phase,
                    version,
                    state,
                },
                Answer::Ok {
                    phase: p,
                    version: v,
                    state: s,
                },
            ) => phase == p && version == v && (s.is_null() || s == state),
            (a, b) => a == b,
        }
    }

    /// The time an accepted command ran at, as its state records it (the
    /// service reads its own clock; the model steps at the same time, so
    /// the ids and digests derived from it agree).
    fn clock(&self) -> Option<DateTime<Utc>> {
        match self {
            Answer::Ok { state, .. } => state["clock"].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    invoked: Instant,
    completed: Instant,
    answer: Answer,
}

/// The sequential model: the closure as the machine alone would have it.
#[derive(Clone)]
struct Model {
    state: Option<ClosureState>,
    version: i64,
}

/// What the model needs besides the operations: the account's records, the
/// policy, the actors and one time for every step.
struct World {
    account: String,
    snapshot: Snapshot,
    policy: ClosurePolicy,
    holder: Actor,
    operator: Actor,
    now: DateTime<Utc>,
}

impl Model {
    fn phase(&self) -> String {
        self.state
            .as_ref()
            .map_or("none".to_owned(), |s| s.phase.kind().as_str().to_owned())
    }

    /// What a read of this closure answers.
    fn answer(&self) -> Answer {
        let state = self
            .state
            .as_ref()
            .map_or(Value::Null, |s| serde_json::to_value(s).unwrap());
        Answer::ok(&self.phase(), self.version, state)
    }

    /// Applies `kind` at `now` as the service would in one transaction;
    /// answers what it would say, and the model after.
    fn apply(&self, kind: &Kind, world: &World, now: DateTime<Utc>) -> (Answer, Model) {
        let (command, who, expected) = match kind {
            Kind::Read => return (self.answer(), self.clone()),
            Kind::Command {
                command,
                who,
                expected,
            } => (command, *who, *expected),
        };
        if expected.is_some_and(|v| v != self.version) {
            return (Answer::Refused("version_mismatch".into()), self.clone());
        }
        let state = match (&self.state, command) {
            (Some(state), _) => state.clone(),
            (None, Command::Request { .. }) => ClosureState::new(
                format!("cl_{}", world.account),
                UserId::new(world.account.clone()).unwrap(),
            )
            .unwrap(),
            (None, _) => return (Answer::Refused("no_closure".into()), self.clone()),
        };
        let actor = match who {
            Who::Holder => &world.holder,
            Who::Operator => &world.operator,
        };
        let ctx = Context {
            now,
            actor,
            policy: &world.policy,
            snapshot: Some(&world.snapshot),
            audit_key: None,
        };
        match step(&state, command, &ctx) {
            Ok(result) => {
                let next = Model {
                    state: Some(result.state),
                    version: self.version + 1,
                };
                (next.answer(), next)
            }
            Err(e) => (Answer::Refused(e.code().as_str().to_owned()), self.clone()),
        }
    }
}

/// Whether some order of `ops` that respects real time explains every
/// answer. Depth-first over the operations that may come next (none of the
/// others answered before it was sent), remembering dead ends.
fn linearizable(ops: &[Op], world: &World) -> bool {
    #[allow(clippy::too_many_arguments)]
    fn search(
        ops: &[Op],
        world: &World,
        times: &[DateTime<Utc>],
        done: u32,
        model: &Model,
        dead: &mut HashSet<(u32, String, i64)>,
    ) -> bool {
        if done.count_ones() as usize == ops.len() {
            return true;
        }
        let key = (
            done,
            serde_json::to_string(&model.state).unwrap(),
            model.version,
        );
        if dead.contains(&key) {
            return false;
        }
        let pending = |i: usize| done & (1 << i) == 0;
        let first_answer = (0..ops.len())
            .filter(|&i| pending(i))
            .map(|i| ops[i].completed)
            .min()
            .unwrap();
        for i in (0..ops.len()).filter(|&i| pending(i)) {
            if ops[i].invoked > first_answer {
                continue; // something still pending answered before this was sent
            }
            let taken = done | (1 << i);
            if ops[i].answer == Answer::Unknown {
                // Either it did not take effect, or it did at one of the
                // times the service was seen to use.
                if search(ops, world, times, taken, model, dead)
                    || times.iter().any(|&now| {
                        let (_, next) = model.apply(&ops[i].kind, world, now);
                        search(ops, world, times, taken, &next, dead)
                    })
                {
                    return true;
                }
                continue;
            }
            let now = ops[i].answer.clock().unwrap_or(world.now);
            let (answer, next) = model.apply(&ops[i].kind, world, now);
            if answer.explains(&ops[i].answer) && search(ops, world, times, taken, &next, dead) {
                return true;
            }
        }
        dead.insert(key);
        false
    }
    assert!(ops.len() <= 16);
    let start = Model {
        state: None,
        version: 0,
    };
    // The times the service stamped on what it accepted, and the world's.
    let mut times: Vec<_> = ops.iter().filter_map(|o| o.answer.clock()).collect();
    times.push(world.now);
    times.sort();
    times.dedup();
    search(ops, world, &times, 0, &start, &mut HashSet::new())
}

fn policy_with_grace() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 7;
    policy
}

fn world(account: &str, now: DateTime<Utc>) -> World {
    let snapshot = Snapshot::from_json(&clone_sample("lone-user", account)).unwrap();
    World {
        account: account.to_owned(),
        holder: Actor {
            id: UserId::new(account).unwrap(),
            role: ActorRole::User,
            reauthenticated_at: Some(now),
        },
        operator: Actor {
            id: UserId::new(common::OPERATOR).unwrap(),
            role: ActorRole::SupportOperator,
            reauthenticated_at: Some(now),
        },
        snapshot,
        policy: policy_with_grace(),
        now,
    }
}

/// A command from the holder, with the `If-Match` version it carries, if any.
fn holder(command: Command, expected: Option<i64>) -> Kind {
    Kind::Command {
        command,
        who: Who::Holder,
        expected,
    }
}

fn confirm(account: &str) -> Command {
    Command::Confirm {
        value: format!("{account}@example.test"),
    }
}

fn request() -> Command {
    Command::Request {
        feedback: None,
        token_digest: None,
        reason: None,
    }
}

/// The stale confirmation: the holder requests (version 1) and confirms
/// that request, while a cancel (2) and a new request (3) get in first. A
/// confirmation carrying `If-Match: 1` that the service accepted as version
/// 4 cannot be explained by any order; refused as stale, it can. Without
/// a version, confirming the new request is a legal order: what `If-Match`
/// is for.
#[test]
fn the_checker_catches_a_confirmation_that_ran_on_another_request() {
    let account = "u_hist";
    let world = world(account, "2026-11-23T10:00:00Z".parse().unwrap());
    let t = Instant::now();
    let ms = |n: u64| t + Duration::from_millis(n);
    // Written by hand: phases and versions, the states not recorded.
    let ok = |phase: &str, version: i64| Answer::ok(phase, version, Value::Null);
    let history = |expected: Option<i64>, answer: Answer| {
        vec![
            Op {
                kind: holder(request(), None),
                invoked: ms(0),
                completed: ms(1),
                answer: ok("awaiting_confirmation", 1),
            },
            Op {
                kind: holder(confirm(account), expected),
                invoked: ms(2),
                completed: ms(9),
                answer,
            },
            Op {
                kind: holder(Command::Cancel, None),
                invoked: ms(3),
                completed: ms(4),
                answer: ok("cancelled", 2),
            },
            Op {
                kind: holder(request(), None),
                invoked: ms(5),
                completed: ms(6),
                answer: ok("awaiting_confirmation", 3),
            },
        ]
    };
    assert!(!linearizable(&history(Some(1), ok("scheduled", 4)), &world));
    assert!(linearizable(
        &history(Some(1), Answer::Refused("version_mismatch".into())),
        &world
    ));
    assert!(linearizable(&history(None, ok("scheduled", 4)), &world));
    // Nor may an answer claim a phase the machine would not reach.
    assert!(!linearizable(&history(Some(1), ok("executing", 2)), &world));
}

/// The checker keeps real time and compares phases, not only versions: a
/// read sent after a request was answered cannot see the closure missing,
/// though the opposite order would explain it; and a request answered with
/// the right version but another phase is refused too.
#[test]
fn the_checker_keeps_real_time_and_compares_phases() {
    let account = "u_hist";
    let world = world(account, "2026-11-23T10:00:00Z".parse().unwrap());
    let t = Instant::now();
    let ms = |n: u64| t + Duration::from_millis(n);
    let asked = |answer: Answer| Op {
        kind: holder(request(), None),
        invoked: ms(0),
        completed: ms(1),
        answer,
    };
    let read = |from: u64, to: u64| Op {
        kind: Kind::Read,
        invoked: ms(from),
        completed: ms(to),
        answer: Answer::ok("none", 0, Value::Null),
    };
    let awaiting = Answer::ok("awaiting_confirmation", 1, Value::Null);
    // Overlapping, the read may come first; after the answer, it may not.
    assert!(linearizable(&[asked(awaiting.clone()), read(0, 2)], &world));
    assert!(!linearizable(
        &[asked(awaiting.clone()), read(2, 3)],
        &world
    ));
    let wrong_phase = Answer::ok("scheduled", 1, Value::Null);
    assert!(linearizable(&[asked(awaiting)], &world));
    assert!(!linearizable(&[asked(wrong_phase)], &world));
}

/// An answer that never came may or may not have taken effect, and a read
/// compares the whole state: a hold the answers say was placed must be in
/// what is read afterwards, though phase and version alone would agree.
#[test]
fn the_checker_tries_both_fates_of_a_lost_answer_and_compares_whole_states() {
    let account = "u_hist";
    let world = world(account, "2026-11-23T10:00:00Z".parse().unwrap());
    let t = Instant::now();
    let ms = |n: u64| t + Duration::from_millis(n);
    let op = |kind: Kind, from: u64, answer: Answer| Op {
        kind,
        invoked: ms(from),
        completed: ms(from + 1),
        answer,
    };
    let start = Model {
        state: None,
        version: 0,
    };
    let (asked, requested) = start.apply(&holder(request(), None), &world, world.now);
    let (_, cancelled) = requested.apply(&holder(Command::Cancel, None), &world, world.now);
    let read = |model: &Model| op(Kind::Read, 4, model.answer());
    let lost_cancel = |last: Op| {
        vec![
            op(holder(request(), None), 0, asked.clone()),
            op(holder(Command::Cancel, None), 2, Answer::Unknown),
            last,
        ]
    };
    assert!(linearizable(&lost_cancel(read(&requested)), &world));
    assert!(linearizable(&lost_cancel(read(&cancelled)), &world));
    // Taken as refused instead, the cancel could not explain the read.
    let mut refused = lost_cancel(read(&cancelled));
    refused[1].answer = Answer::Refused("internal".into());
    assert!(!linearizable(&refused, &world));

    let hold = LegalHold {
        id: LegalHoldId::new("lh_hist").unwrap(),
        classes: vec![RecordClass::PersonalData],
        reason: HoldReason::Litigation,
        placed_by: UserId::new(common::OPERATOR).unwrap(),
        placed_at: world.now,
        until: None,
    };
    let place = Kind::Command {
        command: Command::PlaceHold { hold },
        who: Who::Operator,
        expected: None,
    };
    let (placed_answer, held) = requested.apply(&place, &world, world.now);
    let Answer::Ok { version, .. } = held.answer() else {
        panic!("a read is answered")
    };
    assert_eq!(version, 2);
    let history = |last: Answer| {
        vec![
            op(holder(request(), None), 0, asked.clone()),
            op(place.clone(), 2, placed_answer.clone()),
            op(Kind::Read, 4, last),
        ]
    };
    assert!(linearizable(&history(held.answer()), &world));
    // The same phase and version, the hold missing from the state.
    let Answer::Ok { state, .. } = requested.answer() else {
        panic!("a read is answered")
    };
    assert!(!linearizable(
        &history(Answer::ok("awaiting_confirmation", 2, state)),
        &world
    ));
}

/// Sends one operation and records it.
fn send(s: &Service, account: &str, kind: Kind, tokens: &(String, String)) -> Op {
    let base = format!("/v1/accounts/{account}/closure");
    let (method, path, body, who, expected) = match &kind {
        Kind::Read => ("GET", base.clone(), String::new(), Who::Operator, None),
        Kind::Command {
            command,
            who,
            expected,
        } => {
            let (path, body) = match command {
                Command::Request { .. } => (base.clone(), String::new()),
                Command::Confirm { value } => (
                    format!("{base}/confirm"),
                    serde_json::json!({ "value": value }).to_string(),
                ),
                Command::Cancel => (format!("{base}/cancel"), String::new()),
                Command::PlaceHold { hold } => (
                    format!("/v1/ops/accounts/{account}/holds"),
                    serde_json::json!({ "hold": hold }).to_string(),
                ),
                other => panic!("not sent here: {other:?}"),
            };
            ("POST", path, body, *who, *expected)
        }
    };
    let token = match who {
        Who::Holder => &tokens.0,
        Who::Operator => &tokens.1,
    };
    let bearer = format!("Bearer {token}");
    let version = expected.map(|v| format!("\"{v}\""));
    let mut headers = vec![("authorization", bearer.as_str())];
    if method == "POST" {
        headers.push(("content-type", "application/json"));
    }
    if let Some(v) = &version {
        headers.push(("if-match", v.as_str()));
    }
    let invoked = Instant::now();
    let (status, _, text) = s.raw(method, &path, &headers, &body);
    let completed = Instant::now();
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let seen = |view: &Value| {
        Answer::ok(
            view["phase"].as_str().unwrap(),
            view["version"].as_i64().unwrap(),
            view["state"].clone(),
        )
    };
    let answer = match (status, &kind) {
        (404, Kind::Read) => Answer::ok("none", 0, Value::Null),
        (200, Kind::Read) => seen(&value),
        (200 | 201, _) => seen(&value["closure"]),
        (500.., _) => Answer::Unknown,
        _ => Answer::Refused(
            value["code"]
                .as_str()
                .unwrap_or_else(|| panic!("{status}: {text}"))
                .to_owned(),
        ),
    };
    Op {
        kind,
        invoked,
        completed,
        answer,
    }
}

/// A client's pause before its next operation: 0 to 24 ms.
fn pause(rng: &mut Rng) -> Duration {
    Duration::from_millis(rng.below(25))
}

/// One round: a fresh account, four clients at once, six or seven
/// operations, then a last read.
fn round(s: &Service, account: &str, seed: u64) -> (Vec<Op>, World) {
    let (status, body) = s.put(
        &format!("/v1/ops/accounts/{account}"),
        &clone_sample("lone-user", account),
    );
    assert_eq!(status, 204, "{body}");
    let now = s.now();
    let tokens = (
        Claims::person(account, now).sign(),
        Claims::operator(now).sign(),
    );
    let at = DateTime::from_timestamp(now, 0).unwrap();
    let hold = LegalHold {
        id: LegalHoldId::new(format!("lh_{account}")).unwrap(),
        classes: vec![RecordClass::PersonalData],
        reason: HoldReason::Litigation,
        placed_by: UserId::new(common::OPERATOR).unwrap(),
        placed_at: at,
        until: None,
    };
    let mut ops = Vec::new();
    std::thread::scope(|scope| {
        let tokens = &tokens;
        let clients = [
            // The holder asks, then confirms what it was answered.
            scope.spawn(move || {
                let mut rng = Rng(seed | 1);
                let asked = send(s, account, holder(request(), None), tokens);
                let mut ops = vec![asked.clone()];
                if let Answer::Ok { version, .. } = asked.answer {
                    std::thread::sleep(pause(&mut rng));
                    ops.push(send(
                        s,
                        account,
                        holder(confirm(account), Some(version)),
                        tokens,
                    ));
                }
                ops
            }),
            // The holder again, in another tab: cancels, then asks again.
            scope.spawn(move || {
                let mut rng = Rng(seed.rotate_left(17) | 1);
                std::thread::sleep(pause(&mut rng));
                let mut ops = vec![send(s, account, holder(Command::Cancel, None), tokens)];
                std::thread::sleep(pause(&mut rng));
                ops.push(send(s, account, holder(request(), None), tokens));
                ops
            }),
            // A page that read the version, then confirms on it.
            scope.spawn(move || {
                let mut rng = Rng(seed.rotate_left(31) | 1);
                std::thread::sleep(pause(&mut rng));
                let read = send(s, account, Kind::Read, tokens);
                let Answer::Ok { version, .. } = read.answer else {
                    panic!("a read was refused")
                };
                std::thread::sleep(pause(&mut rng));
                let confirmed = send(s, account, holder(confirm(account), Some(version)), tokens);
                vec![read, confirmed]
            }),
            // Support places a legal hold.
            scope.spawn(move || {
                let mut rng = Rng(seed.rotate_left(47) | 1);
                std::thread::sleep(pause(&mut rng));
                let kind = Kind::Command {
                    command: Command::PlaceHold { hold },
                    who: Who::Operator,
                    expected: None,
                };
                vec![send(s, account, kind, tokens)]
            }),
        ];
        for client in clients {
            ops.extend(client.join().unwrap());
        }
    });
    // A last read once every client has its answer: it comes after all of
    // them, so the closure as stored must be the model's at the end of the
    // order, not merely each answer along the way.
    ops.push(send(s, account, Kind::Read, &tokens));
    // The time for the steps whose answer records none (refusals, which
    // change nothing): the service's, a moment later (the machine's rules
    // here are days apart, and time only moves forward).
    let later = DateTime::from_timestamp(s.now(), 0).unwrap();
    let mut world = world(account, at);
    world.now = later;
    (ops, world)
}

fn history_rounds(db: &Db) {
    let rounds = std::env::var("OFFBOARD_HISTORY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30u64);
    let policy = db.dir.join("policy.json");
    std::fs::write(&policy, offboard::json::policy_json(&policy_with_grace())).unwrap();
    let policy = policy.display().to_string();
    let s = Service::start(db, true, &["--workers", "0", "--policy", &policy]);
    let (mut stale, mut overlapping, mut unknown) = (0, 0, 0);
    for round_no in 0..rounds {
        let account = format!("u_hist_{round_no:03}");
        let seed = 0x5eed_0000 + round_no;
        let (ops, world) = round(&s, &account, seed);
        assert!(
            linearizable(&ops, &world),
            "{}: round {round_no} (seed {seed}) is not linearizable: {ops:#?}",
            db.label
        );
        unknown += ops.iter().filter(|o| o.answer == Answer::Unknown).count();
        stale += ops
            .iter()
            .filter(|o| o.answer == Answer::Refused("version_mismatch".into()))
            .count();
        // Operations in flight at once: what makes the check more than a replay.
        overlapping += usize::from(ops.iter().enumerate().any(|(i, a)| {
            ops.iter()
                .skip(i + 1)
                .any(|b| a.invoked < b.completed && b.invoked < a.completed)
        }));
    }
    eprintln!(
        "history on {}: {rounds} rounds of 7-8 operations (a last read included), all \
         linearizable on whole states; {overlapping} had operations in flight together, \
         {stale} stale confirmations refused, {unknown} answers unknown (5xx)",
        db.label
    );
    assert!(overlapping * 2 > usize::try_from(rounds).unwrap());
    assert!(stale > 0, "no confirmation was ever stale");
}

#[test]
fn concurrent_commands_on_one_account_are_linearizable() {
    for db in databases("history") {
        history_rounds(&db);
    }
}
