//! The audit chain as evidence: every field of an event is covered by its
//! hash, and a keyed chain cannot be forged without the key.
//!
//! `tests/fixtures/audit/` holds the log of one sample closure
//! (`log.json`, with `head.txt`) and, under `tampered/`, one copy of that log
//! per event field with only that field changed. This test writes them
//! (with `OFFBOARD_REGENERATE=1`) or checks they are current, checks that
//! every leaf field of the events is tampered with by some file, and that
//! each tampered log fails to verify. The Node, C and Python suites replay
//! the same files through their bindings.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use offboard::audit::{
    checkpoint, verify, verify_against_checkpoint, verify_keyed, verify_with_head, AuditError,
    AuditEvent, AuditKey,
};
use offboard::machine::{ClosureState, Command, Context, Driver, Host, Outcome};
use offboard::plan::Effect;
use offboard::{Actor, ClosurePolicy, Snapshot};
use offboard_acceptance::{read, root};
use serde_json::Value;

/// Performs everything; the account is gone once deleted.
struct Fake {
    snapshot: Option<Snapshot>,
    log: Vec<AuditEvent>,
    key: Option<AuditKey>,
}

impl Host for Fake {
    fn perform(&mut self, effect: &Effect) -> Outcome {
        if effect.action.kind() == "delete_account" {
            self.snapshot = None;
        }
        Outcome::Succeeded
    }
    fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    fn audit_key(&self) -> Option<&AuditKey> {
        self.key.as_ref()
    }
    fn stepped(&mut self, step: &offboard::machine::Step) {
        self.log.extend(step.audit.iter().cloned());
    }
}

/// The whole audit log of the team owner's closure under a cascade with a
/// grace period (so a reminder and the confirmed plan are in it), and the
/// final state.
fn closure_log(key: Option<AuditKey>) -> (Vec<AuditEvent>, ClosureState) {
    let snapshot = Snapshot::from_json(&read("examples/data/team-owner.json")).unwrap();
    let now = snapshot.taken_at;
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 3;
    policy.lifecycle.reminder_days_before = vec![1];
    let holder = Actor::holder(&snapshot.account, now);
    let mut host = Fake {
        snapshot: Some(snapshot.clone()),
        log: Vec::new(),
        key: key.clone(),
    };
    let mut driver =
        Driver::new(ClosureState::new("cl_evidence", snapshot.account.id.clone()).unwrap());
    let ctx = Context {
        now,
        actor: &holder,
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: key.as_ref(),
    };
    let request = Command::Request {
        feedback: None,
        token_digest: None,
        reason: None,
    };
    let step = driver.handle(&request, &ctx).unwrap();
    host.stepped(&step);
    let confirm = Command::Confirm {
        value: snapshot.account.email.to_string(),
    };
    let step = driver.handle(&confirm, &ctx).unwrap();
    host.stepped(&step);
    let worker = Actor::system_as(offboard::model::UserId::new("worker").unwrap());
    let later = now + chrono::TimeDelta::days(3700);
    driver
        .drive(&mut host, &worker, &policy, now, later, 10_000)
        .unwrap();
    (host.log, driver.into_state())
}

/// Every leaf of `value`, as a path of keys (array positions as `[]`).
fn leaves(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                leaves(v, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for item in items {
                leaves(item, &format!("{path}[]"), out);
            }
        }
        _ => {
            out.insert(path.to_owned());
        }
    }
}

/// One field's change: which event (by kind), the JSON pointer inside it,
/// and the new value.
struct Tamper {
    name: &'static str,
    event: &'static str,
    pointer: &'static str,
    to: fn(&Value) -> Value,
}

fn flip_hex(v: &Value) -> Value {
    let s = v.as_str().unwrap();
    let (first, rest) = s.split_at(s.len() - 1);
    let last = if rest == "0" { "1" } else { "0" };
    Value::String(format!("{first}{last}"))
}

fn append_x(v: &Value) -> Value {
    Value::String(format!("{}x", v.as_str().unwrap()))
}

fn a_second_later(v: &Value) -> Value {
    let at: chrono::DateTime<chrono::Utc> = v.as_str().unwrap().parse().unwrap();
    Value::String(
        (at + chrono::TimeDelta::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn plus_one(v: &Value) -> Value {
    Value::from(v.as_u64().unwrap() + 1)
}

const TAMPERS: &[Tamper] = &[
    Tamper {
        name: "schema_version",
        event: "confirmed",
        pointer: "/schema_version",
        to: plus_one,
    },
    Tamper {
        name: "sequence",
        event: "confirmed",
        pointer: "/sequence",
        to: plus_one,
    },
    Tamper {
        name: "at",
        event: "confirmed",
        pointer: "/at",
        to: a_second_later,
    },
    Tamper {
        name: "closure",
        event: "confirmed",
        pointer: "/closure",
        to: append_x,
    },
    Tamper {
        name: "account",
        event: "confirmed",
        pointer: "/account",
        to: append_x,
    },
    Tamper {
        name: "actor",
        event: "confirmed",
        pointer: "/actor",
        to: append_x,
    },
    Tamper {
        name: "actor_role",
        event: "confirmed",
        pointer: "/actor_role",
        to: |_| Value::from("support_operator"),
    },
    Tamper {
        name: "command",
        event: "confirmed",
        pointer: "/command",
        to: |_| Value::from("cancel"),
    },
    Tamper {
        name: "command_digest",
        event: "confirmed",
        pointer: "/command_digest",
        to: flip_hex,
    },
    Tamper {
        name: "from",
        event: "confirmed",
        pointer: "/from",
        to: |_| Value::from("idle"),
    },
    Tamper {
        name: "to",
        event: "confirmed",
        pointer: "/to",
        to: |_| Value::from("cancelled"),
    },
    Tamper {
        name: "event.kind",
        event: "effect_succeeded",
        pointer: "/event/kind",
        to: |_| Value::from("purged"),
    },
    Tamper {
        name: "event.execute_at",
        event: "confirmed",
        pointer: "/event/execute_at",
        to: a_second_later,
    },
    Tamper {
        name: "event.policy",
        event: "confirmed",
        pointer: "/event/policy",
        to: flip_hex,
    },
    Tamper {
        name: "event.plan",
        event: "confirmed",
        pointer: "/event/plan",
        to: flip_hex,
    },
    Tamper {
        name: "event.relation",
        event: "requested",
        pointer: "/event/relation",
        to: |_| Value::from("support_operator"),
    },
    Tamper {
        name: "event.reason",
        event: "requested",
        pointer: "/event/reason",
        to: |_| Value::from("inactivity"),
    },
    Tamper {
        name: "event.days_before",
        event: "reminder_sent",
        pointer: "/event/days_before/0",
        to: plus_one,
    },
    Tamper {
        name: "event.stages",
        event: "execution_started",
        pointer: "/event/stages",
        to: plus_one,
    },
    Tamper {
        name: "event.stage",
        event: "stage_started",
        pointer: "/event/stage",
        to: plus_one,
    },
    Tamper {
        name: "effects.id",
        event: "confirmed",
        pointer: "/effects/0/id",
        to: flip_hex,
    },
    Tamper {
        name: "effects.action",
        event: "confirmed",
        pointer: "/effects/0/action",
        to: |_| Value::from("delete_account"),
    },
    Tamper {
        name: "effects.digest",
        event: "confirmed",
        pointer: "/effects/0/digest",
        to: flip_hex,
    },
    Tamper {
        name: "key",
        event: "confirmed",
        pointer: "/key",
        to: |_| Value::from("k_forged"),
    },
    Tamper {
        name: "previous",
        event: "confirmed",
        pointer: "/previous",
        to: flip_hex,
    },
    Tamper {
        name: "hash",
        event: "confirmed",
        pointer: "/hash",
        to: flip_hex,
    },
];

/// Re-links and re-hashes a log as a forger would: plain, or under `key`.
fn rehash(log: &mut [AuditEvent], key: Option<&AuditKey>) {
    let mut previous = offboard::audit::GENESIS.to_owned();
    for event in log {
        event.key = key.map(|k| k.id().to_owned());
        event.previous = previous;
        event.hash = match key {
            Some(key) => event.compute_keyed_hash(key),
            None => event.compute_hash(),
        };
        previous = event.hash.clone();
    }
}

fn to_pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

#[test]
fn every_field_of_every_event_is_evidence() {
    let (log, state) = closure_log(None);
    verify_with_head(&log, &state.audit.head).unwrap();
    let log_json: Value = serde_json::to_value(&log).unwrap();

    // The corpus: one log per field tampered with.
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    files.insert("log.json".into(), to_pretty(&log));
    files.insert("head.txt".into(), format!("{}\n", state.audit.head));
    let mut covered = BTreeSet::new();
    for tamper in TAMPERS {
        let mut edited = log_json.clone();
        let index = log
            .iter()
            .position(|e| e.event.kind() == tamper.event)
            .unwrap_or_else(|| panic!("the sample closure has no `{}` event", tamper.event));
        let slot = edited[index]
            .pointer_mut(tamper.pointer)
            .unwrap_or_else(|| panic!("`{}` has no {}", tamper.event, tamper.pointer));
        *slot = (tamper.to)(slot);
        let events: Vec<AuditEvent> = serde_json::from_value(edited.clone())
            .unwrap_or_else(|e| panic!("{}: the tampered log no longer parses: {e}", tamper.name));
        assert!(
            verify(&events).is_err(),
            "changing {} in `{}` went unnoticed",
            tamper.name,
            tamper.event
        );
        covered.insert(tamper.name.to_owned());
        files.insert(format!("tampered/{}.json", tamper.name), to_pretty(&edited));
    }

    // Every leaf field that occurs in the log is tampered with by some file.
    let mut fields = BTreeSet::new();
    for event in log_json.as_array().unwrap() {
        leaves(event, "", &mut fields);
    }
    let fields: BTreeSet<String> = fields
        .iter()
        .map(|f| f.trim_start_matches('.').replace("[]", ""))
        .collect();
    let uncovered: Vec<&String> = fields.iter().filter(|f| !covered.contains(*f)).collect();
    assert!(
        uncovered.is_empty(),
        "fields no tamper file changes: {uncovered:?}"
    );

    offboard_acceptance::write_or_check(
        "tests/fixtures/audit",
        &files.clone().into_iter().collect::<Vec<_>>(),
        "OFFBOARD_REGENERATE=1 cargo test -p offboard-acceptance --test audit_tamper",
    );
    let dir = root().join("tests/fixtures/audit");
    let listed = std::fs::read_dir(dir.join("tampered")).unwrap().count();
    assert_eq!(
        listed,
        TAMPERS.len(),
        "a stale file in tests/fixtures/audit/tampered"
    );
}

#[test]
fn a_keyed_chain_cannot_be_forged_without_the_key() {
    let key = AuditKey::new("k_2026", [7u8; 32].to_vec()).unwrap();
    let shown = format!("{key:?}");
    assert!(
        shown.contains("k_2026") && shown.contains("<hidden>") && !shown.contains('7'),
        "Debug names the key and hides the secret: {shown}"
    );
    let (log, state) = closure_log(Some(key.clone()));
    assert!(log.iter().all(|e| e.key.as_deref() == Some("k_2026")));
    assert_eq!(verify_keyed(&log, &key).unwrap().head, state.audit.head);
    // Without the key it cannot be checked, and a plain re-hash is not accepted.
    assert!(matches!(verify(&log), Err(AuditError::KeyRequired { .. })));
    // The forger knows the encoding but not the secret: their best effort
    // is a chain under a guessed key of the same id, or a plain one.
    let mut forged = log.clone();
    forged[1].actor = offboard::model::UserId::new("u_mallory").unwrap();
    let guess = AuditKey::new("k_2026", [8u8; 32].to_vec()).unwrap();
    rehash(&mut forged, Some(&guess));
    assert!(matches!(
        verify_keyed(&forged, &key),
        Err(AuditError::Altered { sequence: 0 })
    ));
    let mut plain = log.clone();
    rehash(&mut plain, None);
    assert!(
        verify(&plain).is_ok(),
        "a plain chain re-hashed verifies as plain"
    );
    assert!(
        matches!(
            verify_keyed(&plain, &key),
            Err(AuditError::WrongKey { sequence: 0 })
        ),
        "but not as the keyed chain it replaces"
    );
    // The key's id is part of what is checked: the same secret under
    // another id (a rotated key, re-labelled) does not verify the chain.
    let relabelled = AuditKey::new("k_2027", [7u8; 32].to_vec()).unwrap();
    assert!(matches!(
        verify_keyed(&log, &relabelled),
        Err(AuditError::WrongKey { sequence: 0 })
    ));
    // The same closure, plain and keyed, differ in every hash.
    let (plain_log, _) = closure_log(None);
    assert!(plain_log.iter().zip(&log).all(|(a, b)| a.hash != b.hash));
}

#[test]
fn a_chain_keeps_its_mode_and_a_checkpoint_catches_a_rewrite() {
    let key = AuditKey::new("k_2026", [7u8; 32].to_vec()).unwrap();
    let snapshot = Snapshot::from_json(&read("examples/data/lone-user.json")).unwrap();
    let now = snapshot.taken_at;
    let policy = ClosurePolicy::cascade();
    let holder = Actor::holder(&snapshot.account, now);
    let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
    let keyed = Context {
        now,
        actor: &holder,
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: Some(&key),
    };
    let request = Command::Request {
        feedback: None,
        token_digest: None,
        reason: None,
    };
    let requested = offboard::machine::step(&state, &request, &keyed).unwrap();
    let plain = Context {
        audit_key: None,
        ..keyed
    };
    let confirm = Command::Confirm {
        value: "lena@example.org".into(),
    };
    let err = offboard::machine::step(&requested.state, &confirm, &plain).unwrap_err();
    assert_eq!(err.code().as_str(), "audit_key_mismatch");
    let other = AuditKey::new("k_other", [9u8; 32].to_vec()).unwrap();
    let err = offboard::machine::step(
        &requested.state,
        &confirm,
        &Context {
            audit_key: Some(&other),
            ..keyed
        },
    )
    .unwrap_err();
    assert_eq!(err.code().as_str(), "audit_key_mismatch");
    // The same id with another secret is another key.
    let impostor = AuditKey::new("k_2026", [8u8; 32].to_vec()).unwrap();
    let err = offboard::machine::step(
        &requested.state,
        &confirm,
        &Context {
            audit_key: Some(&impostor),
            ..keyed
        },
    )
    .unwrap_err();
    assert_eq!(err.code().as_str(), "audit_key_mismatch");
    let confirmed = offboard::machine::step(&requested.state, &confirm, &keyed).unwrap();
    let log: Vec<AuditEvent> = requested
        .audit
        .iter()
        .chain(&confirmed.audit)
        .cloned()
        .collect();
    offboard::audit::verify_keyed_with_head(&log, &key, &confirmed.state.audit.head).unwrap();

    // A checkpoint exported after the request; the log is later rewritten
    // from the start (consistently re-hashed, as whoever holds the database
    // could do with a plain chain).
    let (log, _) = closure_log(None);
    let mark = checkpoint(&log[..3]).unwrap();
    verify_against_checkpoint(&log, &mark, None).unwrap();
    let mut rewritten = log.clone();
    rewritten[1].actor = offboard::model::UserId::new("u_mallory").unwrap();
    rehash(&mut rewritten, None);
    assert!(verify(&rewritten).is_ok());
    assert!(matches!(
        verify_against_checkpoint(&rewritten, &mark, None),
        Err(AuditError::CheckpointMismatch { sequence: 2 })
    ));
}
