#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unused_must_use,
    dead_code
)]
//! Reviewer scratch tests (to be deleted).

use chrono::{DateTime, TimeDelta, Utc};
use offboard::audit::{verify, verify_keyed, AuditEvent, AuditKey};
use offboard::machine::{
    step, ClosureState, Command, Context, EffectStatus, Outcome, Phase, PhaseKind, RequestReason,
    Step,
};
use offboard::model::{ActorRole, UserId};
use offboard::plan::{Action, Effect};
use offboard::policy::{CancelTiming, IdentifierReuse, UnusedTime};
use offboard::{assess, Actor, ClosurePolicy, Error, Snapshot};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn base() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "taken_at": "2026-11-23T09:00:00Z",
        "account": {"id": "u_a", "email": "a@example.com", "display_name": "Ada",
                    "kind": {"type": "self_serve"}, "identity": {"type": "password"}, "status": "active"},
        "tenants": [
            {"id": "t_team", "name": "Team", "primary_owner": "u_a",
             "members": [{"user": "u_a", "role": "owner"}, {"user": "u_b", "role": "member"}]},
            {"id": "t_other", "name": "Other", "primary_owner": "u_z",
             "members": [{"user": "u_z", "role": "owner"}, {"user": "u_a", "role": "member"}]}
        ],
        "subscriptions": [
            {"id": "sub_1", "tenant": "t_team", "plan": "Team", "status": "active", "current_period_end": "2027-02-01T00:00:00Z"}
        ],
        "invoices": [{"id": "i_1", "status": "paid", "amount_due": 0, "currency": "EUR", "issued_at": "2026-10-01T00:00:00Z"}]
    })
}

fn snap(v: &serde_json::Value) -> Snapshot {
    Snapshot::from_json(&v.to_string()).unwrap()
}

fn user(id: &str, at: DateTime<Utc>) -> Actor {
    Actor {
        id: UserId::new(id).unwrap(),
        role: ActorRole::User,
        reauthenticated_at: Some(at),
    }
}
fn system() -> Actor {
    Actor::system(UserId::new("sys").unwrap())
}
fn support(at: DateTime<Utc>) -> Actor {
    Actor::support(UserId::new("ops").unwrap(), at)
}

fn policy() -> ClosurePolicy {
    let mut p = ClosurePolicy::cascade();
    p.grace_period_days = 14;
    p.lifecycle.lock_on_confirm = true;
    p.billing.unused_time = UnusedTime::Refund;
    p.billing.cancel = CancelTiming::Immediately;
    p.invoice_download_days = 30;
    p.identifier_reuse = IdentifierReuse::AfterDays(90);
    p.validate().unwrap();
    p
}

struct H {
    state: ClosureState,
    log: Vec<AuditEvent>,
    now: DateTime<Utc>,
    policy: ClosurePolicy,
    snap: Option<Snapshot>,
    key: Option<AuditKey>,
    issued: Vec<Effect>,
}

impl H {
    fn new(policy: ClosurePolicy, v: &serde_json::Value) -> H {
        H {
            state: ClosureState::new("cl_1", UserId::new("u_a").unwrap()).unwrap(),
            log: vec![],
            now: t0(),
            policy,
            snap: Some(snap(v)),
            key: None,
            issued: vec![],
        }
    }
    fn run(&mut self, c: Command, a: &Actor) -> Result<Step, Error> {
        let ctx = Context {
            now: self.now,
            actor: a,
            policy: &self.policy,
            snapshot: self.snap.as_ref(),
            audit_key: self.key.as_ref(),
        };
        let r = step(&self.state, &c, &ctx);
        if let Ok(s) = &r {
            self.state = s.state.clone();
            self.log.extend(s.audit.iter().cloned());
            self.issued.extend(s.effects.iter().cloned());
        }
        r
    }
    fn holder(&self) -> Actor {
        user("u_a", self.now)
    }
    fn request(&mut self) -> Result<Step, Error> {
        let a = self.holder();
        self.run(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            },
            &a,
        )
    }
    fn confirm_as(&mut self, a: &Actor) -> Result<Step, Error> {
        self.run(
            Command::Confirm {
                value: "a@example.com".into(),
            },
            a,
        )
    }
    fn confirm(&mut self) -> Result<Step, Error> {
        let a = self.holder();
        self.confirm_as(&a)
    }
    fn tick(&mut self) -> Result<Step, Error> {
        self.run(Command::Tick, &system())
    }
    fn perform_all(&mut self) {
        for _ in 0..200 {
            let Some(r) = self
                .state
                .effects
                .iter()
                .find(|r| r.status == EffectStatus::Pending)
                .cloned()
            else {
                return;
            };
            self.run(
                Command::ReportOutcome {
                    effect: r.effect.id.clone(),
                    outcome: Outcome::Succeeded,
                },
                &system(),
            )
            .unwrap();
        }
    }
    fn plan(&self) -> Vec<Action> {
        self.state
            .effects
            .iter()
            .filter(|r| r.stage.is_some())
            .map(|r| r.effect.action.clone())
            .collect()
    }
    fn kinds(&self) -> Vec<&'static str> {
        self.log.iter().map(|e| e.event.kind()).collect()
    }
}

fn phase_blockers(s: &ClosureState) -> Vec<String> {
    match &s.phase {
        Phase::Halted { blockers, .. } => blockers
            .iter()
            .map(|b| format!("{}: {}", b.code, b.message))
            .collect(),
        _ => vec![],
    }
}

/// Runs request + confirm on `v0`, swaps in `v1`, ticks at execute_at.
fn grace_change(v0: serde_json::Value, v1: serde_json::Value, label: &str) -> H {
    let mut h = H::new(policy(), &v0);
    h.request().unwrap();
    h.confirm().unwrap();
    assert_eq!(h.state.phase.kind(), PhaseKind::Scheduled);
    h.snap = Some(snap(&v1));
    h.now = t0() + TimeDelta::days(14);
    let r = h.tick();
    println!(
        "[{label}] tick -> {:?}; phase {:?}; blockers {:?}; events {:?}",
        r.as_ref().err().map(|e| e.to_string()),
        h.state.phase.kind(),
        phase_blockers(&h.state),
        h.kinds()
    );
    h
}

#[test]
fn frozen_plan_variants() {
    // 1. New member in a deleted tenant.
    let mut v1 = base();
    v1["tenants"][0]["members"]
        .as_array_mut()
        .unwrap()
        .push(json!({"user": "u_new", "role": "member"}));
    let h = grace_change(base(), v1, "new member");
    assert_eq!(h.state.phase.kind(), PhaseKind::Halted);

    // 2. Subscription added.
    let mut v1 = base();
    v1["subscriptions"].as_array_mut().unwrap().push(json!({"id": "sub_2", "tenant": "t_team", "plan": "X", "status": "active", "current_period_end": "2027-02-01T00:00:00Z"}));
    let h = grace_change(base(), v1, "sub added");
    assert_eq!(h.state.phase.kind(), PhaseKind::Halted);

    // 3. Subscription removed -> shrink.
    let mut v1 = base();
    v1["subscriptions"] = json!([]);
    let h = grace_change(base(), v1, "sub removed");
    assert_eq!(h.state.phase.kind(), PhaseKind::Executing);

    // 4. Payment method added.
    let mut v1 = base();
    v1["payment_methods"] = json!([{"id": "pm_1", "kind": "card"}]);
    let h = grace_change(base(), v1, "pm added");
    assert_eq!(h.state.phase.kind(), PhaseKind::Halted);

    // 5. Refund balance appearing.
    let mut v1 = base();
    v1["balance"] = json!({"amount": 1500, "currency": "USD"});
    let h = grace_change(base(), v1, "balance appears");
    assert_eq!(h.state.phase.kind(), PhaseKind::Halted);

    // 6. Refund balance shrinking 1500 -> 1000 (less money moved).
    let mut v0 = base();
    v0["balance"] = json!({"amount": 1500, "currency": "USD"});
    let mut v1 = v0.clone();
    v1["balance"] = json!({"amount": 1000, "currency": "USD"});
    let _h = grace_change(v0, v1, "balance shrinks");

    // 7. Subscription goes past_due (refund no longer due: less money moved).
    let mut v1 = base();
    v1["subscriptions"][0]["status"] = json!("past_due");
    let _h = grace_change(base(), v1, "sub past_due");

    // 8. Holder's deleted tenant gains a co-owner (tenant now left, ownership transferred).
    let mut v1 = base();
    v1["tenants"][0]["members"][1]["role"] = json!("owner");
    let _h = grace_change(base(), v1, "co-owner appears");

    // 9. Invoice added: archive grows, not in scope.
    let mut v1 = base();
    v1["invoices"].as_array_mut().unwrap().push(json!({"id": "i_2", "status": "paid", "amount_due": 0, "currency": "EUR", "issued_at": "2026-11-01T00:00:00Z"}));
    let h = grace_change(base(), v1, "invoice added");
    for e in &h.log {
        if let offboard::audit::Event::ScopeShrunk { removed } = &e.event {
            println!("   scope_shrunk removed = {removed:?}");
        }
    }
    println!(
        "   plan = {:?}",
        h.plan()
            .iter()
            .filter(|a| matches!(a, Action::PublishInvoiceArchive { .. }))
            .collect::<Vec<_>>()
    );

    // 10. Holder joins a new tenant as a plain member.
    let mut v1 = base();
    v1["tenants"].as_array_mut().unwrap().push(json!({"id": "t_new", "name": "N", "primary_owner": "u_q", "members": [{"user": "u_q", "role": "owner"}, {"user": "u_a", "role": "member"}]}));
    let _h = grace_change(base(), v1, "joined tenant as member");
}

#[test]
fn dates_equal_confirmation() {
    let v = base();
    let p = policy();
    let shown = assess(&snap(&v), &user("u_a", t0()), &p, t0()).unwrap();
    let mut h = H::new(p, &v);
    h.request().unwrap();
    h.confirm().unwrap();
    h.now = t0() + TimeDelta::days(14);
    h.tick().unwrap();
    let plan = h.plan();
    println!(
        "shown invoices until {} quarantine {:?}",
        shown.consequences.invoices.downloadable_until, shown.consequences.identifiers_reusable_at
    );
    for a in &plan {
        if matches!(
            a,
            Action::PublishInvoiceArchive { .. } | Action::QuarantineIdentifiers { .. }
        ) {
            println!("  executed {a:?}");
        }
    }
}

#[test]
fn long_halt_then_execute_dates_in_past() {
    // Policy blocks on legal holds; a hold is placed during grace and released 120 days later.
    let mut p = policy();
    p.conditions.legal_hold = offboard::Rule::Block;
    p.validate().unwrap();
    let mut h = H::new(p, &base());
    h.request().unwrap();
    h.confirm().unwrap();
    h.now = t0() + TimeDelta::days(1);
    let hold: offboard::model::LegalHold = serde_json::from_value(json!({"id": "lh_1", "reason": "litigation", "placed_by": "ops", "classes": ["content"], "placed_at": "2026-11-24T10:00:00Z"})).unwrap_or_else(|e| panic!("{e}"));
    h.run(Command::PlaceHold { hold }, &support(h.now)).unwrap();
    h.now = t0() + TimeDelta::days(14);
    h.tick().unwrap();
    println!(
        "phase after due tick: {:?} {:?}",
        h.state.phase.kind(),
        phase_blockers(&h.state)
    );
    h.now = t0() + TimeDelta::days(150);
    let r = h.run(
        Command::ReleaseHold {
            hold: offboard::model::LegalHoldId::new("lh_1").unwrap(),
        },
        &support(h.now),
    );
    println!(
        "release: {:?} phase {:?}",
        r.err().map(|e| e.to_string()),
        h.state.phase.kind()
    );
    h.perform_all();
    println!("now = {}, phase {:?}", h.now, h.state.phase.kind());
    for a in h.issued.iter().map(|e| &e.action) {
        if matches!(
            a,
            Action::PublishInvoiceArchive { .. }
                | Action::QuarantineIdentifiers { .. }
                | Action::DeleteAccount
        ) {
            println!("  performed at {}: {a:?}", h.now);
        }
    }
}

#[test]
fn second_halt_notifies_holder() {
    let mut v1 = base();
    v1["payment_methods"] = json!([{"id": "pm_1", "kind": "card"}]);
    let mut h = grace_change(base(), v1.clone(), "first halt");
    assert_eq!(h.state.phase.kind(), PhaseKind::Halted);
    let halted_notices = |h: &H| {
        h.issued
            .iter()
            .filter(|e| {
                matches!(
                    &e.action,
                    Action::Notify {
                        message: offboard::plan::Message::Halted,
                        ..
                    }
                )
            })
            .count()
    };
    println!(
        "halted notifies issued after first halt: {}",
        halted_notices(&h)
    );
    h.perform_all();
    // Re-request, re-confirm with v1 (includes pm_1); then during grace a second change.
    h.request().unwrap();
    h.confirm().unwrap();
    h.perform_all();
    let mut v2 = v1.clone();
    v2["payment_methods"] = json!([{"id": "pm_1", "kind": "card"}, {"id": "pm_2", "kind": "card"}]);
    h.snap = Some(snap(&v2));
    h.now += TimeDelta::days(14);
    let s = h.tick().unwrap();
    println!(
        "second halt phase {:?}, effects issued by that step: {:?}",
        h.state.phase.kind(),
        s.effects
    );
    println!(
        "audit of second halt: {:?}",
        s.audit
            .iter()
            .map(|e| (
                e.event.kind(),
                e.effects
                    .iter()
                    .map(|x| x.action.clone())
                    .collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>()
    );
    println!("halted notifies issued in total: {}", halted_notices(&h));
}

#[test]
fn refund_key_collision_with_dash_tenant() {
    let mut v = base();
    v["balance"] = json!({"amount": 1500, "currency": "USD"});
    v["tenants"] = json!([
        {"id": "-", "name": "Dash", "primary_owner": "u_a", "members": [{"user": "u_a", "role": "owner"}], "balance": {"amount": 1500, "currency": "USD"}}
    ]);
    v["subscriptions"] = json!([]);
    let mut p = policy();
    p.grace_period_days = 0;
    let shown = assess(&snap(&v), &user("u_a", t0()), &p, t0()).unwrap();
    println!("shown refunds: {:?}", shown.consequences.credits_refunded);
    let mut h = H::new(p, &v);
    h.request().unwrap();
    h.confirm().unwrap();
    h.perform_all();
    let refunds: Vec<_> = h
        .issued
        .iter()
        .filter(|e| matches!(e.action, Action::RefundCredit { .. }))
        .collect();
    println!("refund effects issued: {refunds:?}");
    println!(
        "confirmed stages: {:?}",
        h.state.confirmed.as_ref().map(|c| c.stages.clone())
    );
    println!("phase {:?}", h.state.phase.kind());
}

#[test]
fn lock_effects_not_in_consequences() {
    let shown = assess(&snap(&base()), &user("u_a", t0()), &policy(), t0()).unwrap();
    let text = serde_json::to_string(&shown).unwrap();
    println!(
        "assessment mentions sessions/writes: {} {}",
        text.contains("session"),
        text.contains("write")
    );
    let mut h = H::new(policy(), &base());
    h.request().unwrap();
    let s = h.confirm().unwrap();
    println!(
        "confirm issues {:?}",
        s.effects
            .iter()
            .map(|e| e.action.kind())
            .collect::<Vec<_>>()
    );
    println!(
        "warnings: {:?}",
        shown.warnings.iter().map(|w| w.code).collect::<Vec<_>>()
    );
}

#[test]
fn audit_same_key_id_other_secret() {
    let mut h = H::new(policy(), &base());
    h.key = Some(AuditKey::new("k1", vec![1u8; 32]).unwrap());
    h.request().unwrap();
    h.key = Some(AuditKey::new("k1", vec![2u8; 32]).unwrap());
    let r = h.confirm();
    println!(
        "confirm under same id, other secret: {:?}",
        r.as_ref().map(|_| "accepted").map_err(|e| e.to_string())
    );
    let a = verify_keyed(&h.log, &AuditKey::new("k1", vec![1u8; 32]).unwrap());
    let b = verify_keyed(&h.log, &AuditKey::new("k1", vec![2u8; 32]).unwrap());
    println!("verify with secret 1: {a:?}\nverify with secret 2: {b:?}");
}

#[test]
fn audit_every_field_tamper() {
    let mut h = H::new(policy(), &base());
    h.request().unwrap();
    h.confirm().unwrap();
    h.now += TimeDelta::days(14);
    h.tick().unwrap();
    h.perform_all();
    verify(&h.log).unwrap();
    // Tamper each top-level field of each event (JSON-level).
    let mut undetected = vec![];
    for i in 0..h.log.len() {
        let v = serde_json::to_value(&h.log[i]).unwrap();
        for (k, _) in v.as_object().unwrap() {
            let mut log: Vec<serde_json::Value> = h
                .log
                .iter()
                .map(|e| serde_json::to_value(e).unwrap())
                .collect();
            let field = &mut log[i][k];
            let changed = match field.clone() {
                serde_json::Value::String(s) => {
                    if k == "at" {
                        json!("2026-11-23T10:00:01Z")
                    } else if k == "actor_role" {
                        json!(if s == "system" {
                            "support_operator"
                        } else {
                            "system"
                        })
                    } else if k == "command" {
                        json!(if s == "tick" { "retry" } else { "tick" })
                    } else if k == "from" || k == "to" {
                        json!(if s == "idle" { "aborted" } else { "idle" })
                    } else {
                        json!(format!("{s}x"))
                    }
                }
                serde_json::Value::Number(n) => json!(n.as_u64().unwrap() + 1),
                serde_json::Value::Null => json!("kx"),
                serde_json::Value::Array(mut a) => {
                    if a.is_empty() {
                        continue;
                    }
                    a.pop();
                    json!(a)
                }
                serde_json::Value::Object(_) => json!({"kind": "purged"}),
                other => other,
            };
            *field = changed;
            let parsed: Result<Vec<AuditEvent>, _> = serde_json::from_value(json!(log));
            match parsed {
                Err(_) => {}
                Ok(events) => {
                    if verify(&events).is_ok() {
                        undetected.push(format!("{i}.{k}"));
                    }
                }
            }
        }
    }
    println!("undetected top-level tampers: {undetected:?}");
}

#[test]
fn authority_probes() {
    // Support requests for the holder; holder tries to cancel / confirm / re-request.
    let mut h = H::new(policy(), &base());
    let sup = support(t0());
    h.run(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &sup,
    )
    .unwrap();
    let holder = h.holder();
    println!(
        "holder confirm support's: {:?}",
        h.confirm_as(&holder).err().map(|e| e.code())
    );
    println!(
        "holder re-request support's: {:?}",
        h.request().err().map(|e| e.code())
    );
    h.confirm_as(&sup).unwrap();
    println!(
        "holder cancel support's scheduled: {:?}",
        h.run(Command::Cancel, &holder).err().map(|e| e.code())
    );
    println!(
        "system cancel support's: {:?}",
        h.run(Command::Cancel, &system()).err().map(|e| e.code())
    );

    // System migrates the policy (docs: operator).
    let pinned = h.state.pinned_policy().unwrap().to_owned();
    let mut p2 = policy();
    p2.invoice_download_days = 0;
    p2.identifier_reuse = IdentifierReuse::AfterDays(0);
    p2.validate().unwrap();
    h.policy = p2;
    let r = h.run(Command::MigratePolicy { from: pinned }, &system());
    println!(
        "system migrate_policy: {:?}",
        r.as_ref()
            .map(|s| s.audit.iter().map(|e| e.event.kind()).collect::<Vec<_>>())
            .map_err(|e| e.code())
    );
    h.now += TimeDelta::days(14);
    h.tick().unwrap();
    println!("after migration, phase {:?}", h.state.phase.kind());
    for a in h.plan() {
        if matches!(
            a,
            Action::PublishInvoiceArchive { .. } | Action::QuarantineIdentifiers { .. }
        ) {
            println!("  executed {a:?}");
        }
    }

    // System request without policy permission.
    let mut h = H::new(policy(), &base());
    let r = h.run(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: Some(RequestReason::Inactivity),
        },
        &system(),
    );
    println!(
        "system request without policy: {:?}",
        r.err().map(|e| e.code())
    );
    // With permission.
    let mut p = policy();
    p.authorization.inactivity_closure = true;
    let mut h = H::new(p, &base());
    let r = h.run(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: Some(RequestReason::Inactivity),
        },
        &system(),
    );
    println!(
        "system request with policy: {:?}",
        r.as_ref().err().map(|e| e.code())
    );
    let holder = h.holder();
    println!(
        "holder cancel system's: {:?}",
        h.run(Command::Cancel, &holder).err().map(|e| e.code())
    );
    println!(
        "system confirms its own: {:?}",
        h.confirm_as(&system()).err().map(|e| e.code())
    );
    // Stranger.
    let s = user("u_b", h.now);
    println!(
        "stranger cancel: {:?}",
        h.run(Command::Cancel, &s).err().map(|e| e.code())
    );
}

#[test]
fn sso_admin_without_snapshot() {
    let mut v = base();
    v["account"]["identity"] = json!({"type": "sso", "provider": "Okta", "super_admin": "u_admin"});
    let mut h = H::new(policy(), &v);
    let admin = user("u_admin", t0());
    h.run(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &admin,
    )
    .unwrap();
    h.confirm_as(&admin).unwrap();
    h.snap = None;
    println!(
        "sso admin cancel without snapshot: {:?}",
        h.run(Command::Cancel, &admin).err().map(|e| e.to_string())
    );
}

#[test]
fn crafted_state_overflow_sequence() {
    let mut h = H::new(policy(), &base());
    h.state.audit.next_sequence = u64::MAX;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.request().map(|_| ()).map_err(|e| e.to_string())
    }));
    println!(
        "request with next_sequence = u64::MAX: {:?}",
        r.map_err(|_| "PANIC")
    );
}

#[test]
fn crafted_state_overflow_stage() {
    let mut p = policy();
    p.grace_period_days = 0;
    let mut h = H::new(p, &base());
    h.request().unwrap();
    h.confirm().unwrap();
    // Rewrite the stage numbers so the current stage is u32::MAX.
    let mut v = serde_json::to_value(&h.state).unwrap();
    v["phase"]["stage"] = json!(u32::MAX);
    v["phase"]["stages"] = json!(u32::MAX);
    for r in v["effects"].as_array_mut().unwrap() {
        if r["stage"] == json!(0) {
            r["stage"] = json!(u32::MAX);
        }
    }
    let state = ClosureState::from_json(&v.to_string()).unwrap();
    h.state = state;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.perform_all();
    }));
    println!(
        "report outcome on stage u32::MAX: {:?}",
        r.map_err(|_| "PANIC")
    );
}

#[test]
fn coowner_rule() {
    let mut v = base();
    v["tenants"][0]["members"] = json!([
        {"user": "u_x", "role": "admin"}, {"user": "u_o2", "role": "owner"}, {"user": "u_a", "role": "owner"}, {"user": "u_o1", "role": "owner"}
    ]);
    let shown = assess(&snap(&v), &user("u_a", t0()), &policy(), t0()).unwrap();
    println!(
        "transfer: {:?}, left {:?}, deleted {:?}",
        shown.consequences.primary_ownership_transferred,
        shown.consequences.tenants_left,
        shown
            .consequences
            .tenants_deleted
            .iter()
            .map(|t| &t.tenant)
            .collect::<Vec<_>>()
    );
    let mut p = policy();
    p.shared_tenants = offboard::policy::SharedTenantRule::BlockUntilTransferred;
    let shown = assess(&snap(&v), &user("u_a", t0()), &p, t0()).unwrap();
    println!(
        "block rule with co-owner: blockers {:?}",
        shown.blockers.iter().map(|b| b.code).collect::<Vec<_>>()
    );
    // Sole owner with members under block.
    let shown = assess(&snap(&base()), &user("u_a", t0()), &p, t0()).unwrap();
    println!(
        "block rule sole owner: blockers {:?}",
        shown.blockers.iter().map(|b| b.code).collect::<Vec<_>>()
    );
    // Subs of a co-owned tenant live on?
    println!(
        "subs cancelled with co-owner: {:?}",
        assess(&snap(&v), &user("u_a", t0()), &policy(), t0())
            .unwrap()
            .consequences
            .subscriptions_cancelled
            .len()
    );
}

#[test]
fn policy_pin_cancel_after_change() {
    let mut h = H::new(policy(), &base());
    h.request().unwrap();
    h.confirm().unwrap();
    let mut p2 = policy();
    p2.lifecycle.lock_on_confirm = false;
    h.policy = p2;
    let holder = h.holder();
    println!(
        "holder cancel under edited policy: {:?}",
        h.run(Command::Cancel, &holder).err().map(|e| e.code())
    );
    // Reordered reminders (same meaning).
    let mut p3 = policy();
    p3.lifecycle.reminder_days_before = vec![1, 3];
    let mut p4 = policy();
    p4.lifecycle.reminder_days_before = vec![3, 1];
    println!(
        "fingerprints [1,3] vs [3,1] equal: {}",
        p3.fingerprint() == p4.fingerprint()
    );
}

#[test]
fn keys_fresh_state_same_time() {
    let mut p = policy();
    p.grace_period_days = 0;
    let mut a = H::new(p.clone(), &base());
    a.request().unwrap();
    a.confirm().unwrap();
    let mut b = H::new(p, &base());
    b.request().unwrap();
    b.confirm().unwrap();
    let ka: Vec<_> = a.issued.iter().map(|e| e.id.clone()).collect();
    let kb: Vec<_> = b.issued.iter().map(|e| e.id.clone()).collect();
    println!(
        "fresh state, same closure id, same now: keys equal = {}",
        ka == kb
    );
}
