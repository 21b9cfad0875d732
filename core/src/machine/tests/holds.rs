//! Holds, retention and the point of no return: each test is one of the
//! reproductions the redesign answers (one hold set, holds that stop
//! destruction, no strand after the point of no return, the statutory clock
//! until purge, purge means purge, checked time).

use super::*;
use crate::model::HoldReason;

fn hold(id: &str, classes: &[RecordClass], until: Option<&str>) -> serde_json::Value {
    json!({
        "id": id, "classes": classes, "reason": "litigation", "placed_by": "legal_1",
        "placed_at": "2026-11-01T00:00:00Z", "until": until,
    })
}

fn with_holds(holds: serde_json::Value) -> Snapshot {
    let mut value = snapshot_value();
    value["legal_holds"] = holds;
    serde_json::from_value(value).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn purges(step: &Step) -> Vec<RecordClass> {
    step.effects
        .iter()
        .filter_map(|e| match e.action {
            Action::Purge { class } => Some(class),
            _ => None,
        })
        .collect()
}

/// Requests, confirms, runs the grace period out (with the snapshot) and
/// performs the plan: the account is closed.
fn close(host: &mut Host) {
    host.request();
    host.confirm();
    host.now += TimeDelta::days(i64::from(host.policy.grace_period_days));
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
}

#[test]
fn a_snapshot_hold_outlives_the_closure_and_keeps_personal_data() {
    let mut host = Host::new(relaxed_prerequisite());
    host.snapshot = Some(with_holds(json!([hold(
        "lh_court",
        &[RecordClass::PersonalData],
        None
    )])));
    close(&mut host);
    assert_eq!(host.state().holds[0].source, HoldSource::Snapshot);
    // Before the purge it would stop is due, the closure waits for that
    // time, not yet for the hold.
    let early = host.state().waiting(&host.policy);
    assert!(
        !early.iter().any(|w| matches!(w, Waiting::Holds { .. })),
        "{early:?}"
    );
    // The account is deleted: the host has no snapshot to give any more.
    host.snapshot = None;
    host.now = t0() + TimeDelta::days(366);
    let step = host.ok(Command::Tick, &system());
    assert!(
        !purges(&step).contains(&RecordClass::PersonalData),
        "{:?}",
        step.effects
    );
    // The tick that found the purge held is recorded, so the closure does
    // not name that moment as its next tick again and again.
    assert_eq!(host.state().ticked, Some(host.now));
    let next = host.state().next_tick(&host.policy);
    assert!(next.is_none_or(|t| t > host.now), "{next:?}");
    assert!(step.notices.contains(&Notice::PurgeHeld {
        class: RecordClass::PersonalData,
        holds: vec![LegalHoldId::new("lh_court").unwrap()],
    }));
    // And the closure says what it waits for: the open-ended hold.
    let waiting = host.state().waiting(&host.policy);
    assert!(
        waiting.contains(&Waiting::Holds {
            holds: vec![LegalHoldId::new("lh_court").unwrap()]
        }),
        "{waiting:?}"
    );
}

#[test]
fn the_end_of_a_snapshot_hold_is_scheduled() {
    let mut host = Host::new(relaxed_prerequisite());
    host.snapshot = Some(with_holds(json!([hold(
        "lh_tax",
        &[RecordClass::PersonalData],
        Some("2028-01-01T00:00:00Z")
    )])));
    close(&mut host);
    // Personal data comes due a year after the request, held until 2028.
    host.now = at("2027-11-23T10:00:00Z");
    let step = host.ok(Command::Tick, &system());
    assert!(!purges(&step).contains(&RecordClass::PersonalData));
    host.perform_all();
    let end = at("2028-01-01T00:00:00Z");
    assert_eq!(host.state().next_tick(&host.policy), Some(end));
    host.now = end;
    let step = host.ok(Command::Tick, &system());
    assert_eq!(purges(&step), [RecordClass::PersonalData]);
}

#[test]
fn a_hold_placed_during_grace_halts_execution_under_a_blocking_policy() {
    let mut policy = relaxed_prerequisite();
    policy.conditions.legal_hold = crate::Rule::Block;
    let mut host = Host::new(policy);
    host.request();
    host.confirm();
    let hold = LegalHold {
        reason: HoldReason::AbuseInvestigation,
        ..operator_hold("lh_abuse", RecordClass::Content)
    };
    host.ok(Command::PlaceHold { hold }, &support());
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    let state = host.state();
    let Phase::Halted { blockers, .. } = &state.phase else {
        panic!("{:?}", state.phase)
    };
    assert_eq!(blockers.len(), 1);
    assert_eq!(blockers[0].code, crate::BlockerCode::LegalHold);
    assert!(
        !host.actions().iter().any(|a| a.is_irreversible()),
        "nothing destroyed"
    );
}

#[test]
fn a_hold_is_in_force_from_when_it_is_placed_whatever_its_date_says() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    let hold = LegalHold {
        placed_at: t0() + TimeDelta::days(400),
        ..operator_hold("lh_later", RecordClass::PersonalData)
    };
    host.ok(Command::PlaceHold { hold }, &support());
    assert_eq!(host.state().holds[0].hold.placed_at, host.now);
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(purges(&step), [RecordClass::Content]);
    // A hold placed now must end after now.
    let ended = LegalHold {
        until: Some(host.now),
        ..operator_hold("lh_past", RecordClass::Content)
    };
    assert_eq!(
        host.refused(Command::PlaceHold { hold: ended }, &support()),
        ErrorCode::InvalidValue
    );
}

#[test]
fn a_snapshot_can_widen_a_hold_but_never_drop_or_shorten_it() {
    let mut host = Host::new(relaxed_prerequisite());
    host.snapshot = Some(with_holds(json!([hold(
        "lh_1",
        &[RecordClass::Content],
        Some("2027-06-01T00:00:00Z")
    )])));
    host.request();
    // Wider: another class and a later end.
    host.snapshot = Some(with_holds(json!([hold(
        "lh_1",
        &[RecordClass::Invoices],
        Some("2028-06-01T00:00:00Z")
    )])));
    let step = host.confirm();
    assert!(step.audit.iter().any(|e| e.event.kind() == "hold_widened"));
    let held = host.state().holds[0].hold.clone();
    assert_eq!(held.classes, [RecordClass::Content, RecordClass::Invoices]);
    assert_eq!(held.until, Some(at("2028-06-01T00:00:00Z")));
    // Narrower, then gone: kept as it was, with a notice when it is missing.
    host.snapshot = Some(with_holds(json!([hold(
        "lh_1",
        &[RecordClass::Content],
        Some("2027-01-01T00:00:00Z")
    )])));
    let step = host.ok(Command::Tick, &system());
    assert!(step.audit.is_empty(), "nothing changed: {:?}", step.audit);
    host.snapshot = Some(with_holds(json!([])));
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        step.notices,
        [Notice::HoldNotInSnapshot {
            hold: LegalHoldId::new("lh_1").unwrap()
        }]
    );
    assert_eq!(host.state().holds[0].hold, held);
    // Released only explicitly. While the host's records still list it,
    // shortened, a release adopts what they say (audited); listed as the
    // state has it, a release is refused (the next snapshot would bring it
    // back); gone from the records, it is released.
    let shortened = json!([hold(
        "lh_1",
        &[RecordClass::Content],
        Some("2027-01-01T00:00:00Z")
    )]);
    host.snapshot = Some(with_holds(shortened));
    let release = Command::ReleaseHold {
        hold: LegalHoldId::new("lh_1").unwrap(),
    };
    let step = host.ok(release.clone(), &support());
    assert_eq!(step.audit[0].event.kind(), "hold_narrowed");
    assert_eq!(
        host.state().holds[0].hold.until,
        Some(at("2027-01-01T00:00:00Z"))
    );
    assert_eq!(
        host.refused(release.clone(), &support()),
        ErrorCode::InvalidValue
    );
    host.snapshot = Some(with_holds(json!([])));
    let step = host.ok(release, &support());
    assert_eq!(step.audit[0].event.kind(), "hold_released");
    assert!(host.state().holds.is_empty());
}

#[test]
fn a_snapshot_of_another_account_is_refused() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let mut other = snapshot_value();
    other["account"]["id"] = "u_z".into();
    other["tenants"] = json!([]);
    host.snapshot = Some(serde_json::from_value(other).unwrap());
    assert_eq!(
        host.refused(Command::Tick, &system()),
        ErrorCode::WrongAccount
    );
}

#[test]
fn a_failed_purge_is_announced_retried_by_an_operator_and_settled_late() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    let purge = step.effects[0].id.clone();
    let step = host.fail(&purge);
    assert!(matches!(
        &step.notices[..],
        [Notice::EffectFailed { effect, action, .. }] if *effect == purge && action == "purge"
    ));
    assert!(host
        .state()
        .waiting(&host.policy)
        .contains(&Waiting::Operator {
            effects: vec![purge.clone()]
        }));
    // The operator retries it: the same key goes out again.
    let step = host.ok(Command::Retry, &support());
    assert_eq!(step.effects[0].id, purge);
    host.fail(&purge);
    // The downstream did purge after all: the late success counts.
    let step = host.succeed(&purge);
    assert!(step
        .audit
        .iter()
        .any(|e| e.event.kind() == "effect_succeeded"));
    host.perform_all();
    host.now = t0() + TimeDelta::days(3700);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Purged);
    assert!(host.state().waiting(&host.policy).is_empty());
}

#[test]
fn retries_run_out_on_a_purge_and_an_operator_takes_over() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    let purge = step.effects[0].id.clone();
    let pending = |host: &Host| {
        host.state()
            .effects
            .iter()
            .any(|r| r.effect.id == purge && r.status == EffectStatus::Pending)
    };
    for _ in 0..host.policy.retry.max_attempts {
        let step = host.report(
            &purge,
            Outcome::RetryableFailure {
                reason: "timeout".into(),
            },
        );
        // A copy of the same report is a duplicate, not another attempt.
        let copy = host.report(
            &purge,
            Outcome::RetryableFailure {
                reason: "timeout".into(),
            },
        );
        if !step
            .notices
            .iter()
            .any(|n| matches!(n, Notice::EffectFailed { .. }))
        {
            assert!(copy.audit.is_empty());
            assert!(copy.notices.contains(&Notice::DuplicateOutcome {
                effect: purge.clone()
            }));
        }
        // Tick at each time named until the purge goes out again.
        while !pending(&host) {
            let Some(at) = host.state().next_tick(&host.policy) else {
                break;
            };
            host.now = host.now.max(at);
            host.ok(Command::Tick, &system());
        }
    }
    let state = host.state();
    let record = state.effects.iter().find(|r| r.effect.id == purge).unwrap();
    assert!(matches!(record.status, EffectStatus::Failed { .. }));
    host.ok(Command::Retry, &support());
    host.succeed(&purge);
}

#[test]
fn past_the_point_of_no_return_abort_is_refused_and_retry_goes_on() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    assert_eq!(host.state().point_of_no_return(), None);
    let delete = host.perform_all_but(|a| *a == Action::DeleteAccount);
    host.fail(&delete);
    assert_eq!(host.phase(), PhaseKind::Failed);
    assert!(host.state().point_of_no_return().is_some());
    assert_eq!(
        host.refused(Command::Abort, &support()),
        ErrorCode::PastPointOfNoReturn
    );
    host.ok(Command::Retry, &support());
    host.succeed(&delete);
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
}

#[test]
fn abort_before_the_point_of_no_return_gives_back_what_this_attempt_locked() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    let first = host
        .state()
        .effects
        .iter()
        .find(|r| r.stage.is_some() && r.status == EffectStatus::Pending)
        .map(|r| r.effect.id.clone())
        .unwrap();
    host.fail(&first);
    // The policy no longer locks on confirm (an operator carried the
    // closure over to it); this attempt did lock.
    let pinned = host.policy.fingerprint();
    host.policy.lifecycle.lock_on_confirm = false;
    host.ok(Command::MigratePolicy { from: pinned }, &support());
    let step = host.ok(Command::Abort, &support());
    assert_eq!(step.effects[0].action, Action::RestoreAccess);
}

#[test]
fn identifiers_are_quarantined_before_the_account_goes_and_completion_waits_for_it() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    let quarantine = host.perform_all_but(|a| matches!(a, Action::QuarantineIdentifiers { .. }));
    assert!(
        !host.actions().contains(&&Action::DeleteAccount),
        "the account is not deleted before its identifiers are reserved"
    );
    host.fail(&quarantine);
    let completed = Action::Notify {
        recipient: crate::plan::Recipient::Holder,
        message: Message::Completed,
    };
    assert!(!host.actions().contains(&&completed));
    assert!(!host.actions().contains(&&Action::DeleteAccount));
    host.ok(Command::Retry, &support());
    host.succeed(&quarantine);
    let delete = host.perform_all_but(|a| *a == Action::DeleteAccount);
    assert!(!host.actions().contains(&&completed));
    host.succeed(&delete);
    assert_eq!(host.phase(), PhaseKind::Closed);
    assert!(host.actions().contains(&&completed));
}

#[test]
fn the_statutory_clock_runs_until_personal_data_is_purged() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    let due = host.state().response_due.unwrap();
    host.now = due + TimeDelta::seconds(1);
    let step = host.ok(Command::Tick, &system());
    assert!(step.notices.contains(&Notice::ResponseOverdue { due }));
    // The cascade preset purges personal data inside the deadline.
    let Phase::Closed { purges, .. } = host.state().phase else {
        panic!()
    };
    let personal = purges
        .iter()
        .find(|p| p.class == RecordClass::PersonalData)
        .unwrap();
    assert!(personal.due <= due, "{} > {due}", personal.due);
}

#[test]
fn retention_past_the_statutory_deadline_needs_a_legal_basis() {
    let mut policy = ClosurePolicy::cascade();
    policy.retention.personal_data = crate::policy::Period::Days(29);
    let err = policy.validate().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidPolicy);
    assert!(
        matches!(&err, Error::InvalidPolicy { path, .. } if path == "retention.personal_data"),
        "{err}"
    );
    policy.retention.personal_data_basis = Some(crate::policy::RetentionBasis::LegalObligation);
    policy.validate().unwrap();
    policy.retention.personal_data_basis = None;
    policy.statutory_regime = crate::policy::StatutoryRegime::Ccpa;
    policy.validate().unwrap();
    policy.retention.personal_data = crate::policy::Period::Days(46);
    assert_eq!(
        policy.validate().unwrap_err().code(),
        ErrorCode::InvalidPolicy
    );
    assert!(ClosurePolicy::prerequisite()
        .retention
        .personal_data_basis
        .is_some());
}

/// The holder requests, having switched service, with a free-text comment.
fn request_with_comment(host: &mut Host, comment: &str) {
    host.ok(
        Command::Request {
            feedback: Some(ExitFeedback {
                reason: ExitReason::SwitchedService,
                comment: Some(comment.into()),
            }),
            token_digest: None,
            reason: None,
        },
        &user("u_a"),
    );
}

#[test]
fn after_the_purge_the_state_holds_no_personal_data() {
    let mut host = Host::new(ClosurePolicy::cascade());
    let mut value = snapshot_value();
    value["account"]["display_name"] = "Ada Lovelace".into();
    value["account"]["email"] = "ada.lovelace@example.com".into();
    value["tenants"][0]["name"] = "Analytical Engine Club".into();
    host.snapshot = Some(serde_json::from_value(value).unwrap());
    let comment = "I moved to another team at Initech";
    request_with_comment(&mut host, comment);
    host.ok(
        Command::Confirm {
            value: "ada.lovelace@example.com".into(),
        },
        &user("u_a"),
    );
    host.perform_all();
    let snapshot = host.snapshot.take().unwrap();
    host.now = t0() + TimeDelta::days(3700);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Purged);
    let personal = [
        snapshot.account.email.as_str(),
        snapshot.account.display_name.as_str(),
        comment,
    ];
    let mut tenant_names: Vec<&str> = snapshot.tenants.iter().map(|t| t.name.as_str()).collect();
    // The co-member removed with the tenant: her id was in the plan.
    tenant_names.push("\"u_b\"");
    let state = serde_json::to_string(&host.state()).unwrap();
    for text in personal.iter().chain(&tenant_names) {
        assert!(!state.contains(text), "{text:?} is still in the state");
    }
    // What is left of the effects is the record of each purge, succeeded.
    let left: Vec<_> = host
        .state()
        .effects
        .iter()
        .map(|r| r.effect.action.clone())
        .collect();
    assert_eq!(
        left,
        RecordClass::ALL.map(|class| Action::Purge { class }),
        "only the purges' records stay"
    );
    let Phase::Purged { receipt, .. } = host.state().phase else {
        panic!()
    };
    assert_eq!(receipt.exit_reason, Some(ExitReason::SwitchedService));
}

/// Personal data leaves the state when its own purge succeeds, not with
/// another class's: here it is purged two days before content.
#[test]
fn the_personal_data_purge_itself_forgets_the_personal_data() {
    let mut host = Host::new(ClosurePolicy::cascade());
    let comment = "Leaving for a competitor, sorry";
    request_with_comment(&mut host, comment);
    host.confirm();
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
    let state = |host: &Host| serde_json::to_string(&host.state()).unwrap();
    assert!(state(&host).contains(comment), "kept until the purge");
    host.now = t0() + TimeDelta::days(28);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(purges(&step), [RecordClass::PersonalData]);
    host.perform_all();
    assert!(
        !state(&host).contains(comment),
        "gone with the personal-data purge"
    );
}

#[test]
fn time_arithmetic_past_the_range_is_a_typed_error_not_a_panic() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    host.now = DateTime::<Utc>::MAX_UTC - TimeDelta::hours(1);
    assert_eq!(
        host.refused(Command::Cancel, &user("u_a")),
        ErrorCode::DateOutOfRange
    );
    // Every command at the edge of time: refused or accepted, never a panic.
    let edge = DateTime::<Utc>::MAX_UTC;
    for command in [
        Command::Tick,
        Command::Retry,
        Command::Abort,
        Command::ExtendDeadline,
    ] {
        let state = host.state();
        let ctx = Context {
            now: edge,
            actor: &support(),
            policy: &host.policy,
            snapshot: host.snapshot.as_ref(),
            audit_key: None,
        };
        let _ = step(&state, &command, &ctx);
    }
}

#[test]
fn a_cancel_withdraws_what_was_in_flight_and_nothing_of_it_comes_back() {
    let mut policy = relaxed_prerequisite();
    policy.retry.max_attempts = 3;
    let mut host = Host::new(policy);
    host.request();
    let step = host.confirm();
    // The locks and the scheduled notice fail, one retryably, one for good.
    let block = step
        .effects
        .iter()
        .find(|e| e.action == Action::BlockWrites)
        .unwrap()
        .id
        .clone();
    let notice = step
        .effects
        .iter()
        .find(|e| matches!(e.action, Action::Notify { .. }))
        .unwrap()
        .id
        .clone();
    host.report(
        &block,
        Outcome::RetryableFailure {
            reason: "503".into(),
        },
    );
    host.fail(&notice);
    let step = host.ok(Command::Cancel, &user("u_a"));
    let issued: Vec<&Action> = step.effects.iter().map(|e| &e.action).collect();
    assert!(issued.contains(&&Action::RestoreAccess));
    host.perform_all();
    // Nothing of the cancelled attempt is issued again, nor asked of an operator.
    host.issued.clear();
    for _ in 0..5 {
        let Some(at) = host.state().next_tick(&host.policy) else {
            break;
        };
        host.now = host.now.max(at);
        host.ok(Command::Tick, &system());
    }
    assert!(host.issued.is_empty(), "{:?}", host.actions());
    assert!(
        !host
            .state()
            .waiting(&host.policy)
            .iter()
            .any(|w| matches!(w, Waiting::Operator { .. })),
        "an operator is never asked to retry a cancelled attempt's lock"
    );
    assert_eq!(
        host.refused(Command::Retry, &support()),
        ErrorCode::WrongState
    );
    // A late outcome for a withdrawn effect is ignored.
    let step = host.succeed(&block);
    assert!(step.audit.is_empty());
    assert_eq!(step.notices, [Notice::DuplicateOutcome { effect: block }]);
}

#[test]
fn an_abort_withdraws_the_plan_effects_waiting_for_a_retry() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    let first = host.perform_all_but(|a| a.kind() == "remove_members");
    let other = host.perform_all_but(|a| a.kind() == "leave_tenant");
    host.report(
        &first,
        Outcome::RetryableFailure {
            reason: "503".into(),
        },
    );
    host.fail(&other);
    assert_eq!(host.phase(), PhaseKind::Failed);
    host.ok(Command::Abort, &support());
    host.issued.clear();
    host.now += TimeDelta::days(1);
    host.ok(Command::Tick, &system());
    assert!(host.issued.is_empty(), "{:?}", host.actions());
    assert!(host
        .state()
        .waiting(&host.policy)
        .iter()
        .all(|w| matches!(w, Waiting::Time { .. })));
}

#[test]
fn a_new_request_is_not_told_the_old_request_is_overdue() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.ok(Command::Cancel, &user("u_a"));
    host.perform_all();
    host.now = t0() + TimeDelta::days(60);
    let holder = Actor {
        reauthenticated_at: Some(host.now),
        ..user("u_a")
    };
    let step = host.ok(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &holder,
    );
    assert!(
        !step
            .notices
            .iter()
            .any(|n| matches!(n, Notice::ResponseOverdue { .. })),
        "{:?}",
        step.notices
    );
    assert_eq!(
        host.state().response_due,
        Some(at("2027-02-22T10:00:00Z")),
        "the new request has its own deadline"
    );
}

#[test]
fn a_hold_placed_while_a_purge_is_in_flight_calls_it_back() {
    let policy = ClosurePolicy::cascade();
    let mut host = Host::new(policy.clone());
    close(&mut host);
    host.now = t0() + TimeDelta::days(28);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(purges(&step), [RecordClass::PersonalData]);
    let mut driver = Driver::new(host.state());
    let hold = operator_hold("lh_late", RecordClass::PersonalData);
    let ctx = Context {
        now: host.now,
        actor: &support(),
        policy: &policy,
        snapshot: None,
        audit_key: None,
    };
    let step = driver.handle(&Command::PlaceHold { hold }, &ctx).unwrap();
    assert!(step
        .audit
        .iter()
        .any(|e| e.event.kind() == "purge_recalled"));
    assert!(step.notices.iter().any(|n| matches!(
        n,
        Notice::PurgeHeld {
            class: RecordClass::PersonalData,
            ..
        }
    )));
    assert_eq!(
        driver.poll_effect(),
        None,
        "the host is not handed the held purge"
    );
    let waiting = driver.waiting(&policy);
    assert!(
        waiting.contains(&Waiting::Holds {
            holds: vec![LegalHoldId::new("lh_late").unwrap()]
        }),
        "{waiting:?}"
    );
}

/// Only the purges of the held class are called back: another class's
/// purge in flight is still handed out.
#[test]
fn a_hold_calls_back_only_the_purges_of_its_classes() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        purges(&step),
        [RecordClass::PersonalData, RecordClass::Content]
    );
    let hold = operator_hold("lh_content", RecordClass::Content);
    host.ok(Command::PlaceHold { hold }, &support());
    // A host resuming from the stored state is handed what is still due.
    let mut driver = Driver::new(host.state());
    let handed = driver.poll_effect().expect("the personal-data purge");
    assert_eq!(
        handed.action,
        Action::Purge {
            class: RecordClass::PersonalData
        }
    );
    assert_eq!(driver.poll_effect(), None, "the content purge is held");
}

#[test]
fn assess_and_the_machine_agree_on_a_hold_the_records_date_in_the_future() {
    let mut policy = ClosurePolicy::cascade();
    policy.conditions.legal_hold = crate::Rule::Block;
    let snapshot = with_holds(json!([{
        "id": "lh_next_week", "classes": ["content"], "reason": "litigation",
        "placed_by": "legal_1", "placed_at": "2026-11-30T00:00:00Z", "until": null,
    }]));
    let holder = user("u_a");
    let report = crate::assess(&snapshot, &holder, &policy, t0()).unwrap();
    let mut host = Host::new(policy);
    host.snapshot = Some(snapshot);
    let accepted = host
        .run(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            },
            &holder,
        )
        .is_ok();
    assert_eq!(report.can_close, accepted);
}

#[test]
fn nothing_is_held_or_extended_once_it_is_answered() {
    let mut host = Host::new(ClosurePolicy::cascade());
    close(&mut host);
    host.now = t0() + TimeDelta::days(28);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(
        host.refused(Command::ExtendDeadline, &support()),
        ErrorCode::WrongState,
        "personal data is purged: the request is answered"
    );
    host.now = t0() + TimeDelta::days(3700);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Purged);
    let hold = LegalHold {
        reason: HoldReason::TaxAudit,
        ..operator_hold("lh_too_late", RecordClass::Invoices)
    };
    assert_eq!(
        host.refused(Command::PlaceHold { hold }, &support()),
        ErrorCode::WrongState
    );
}

#[test]
fn a_refused_report_leaves_the_effect_with_the_driver() {
    let policy = ClosurePolicy::cascade();
    let snapshot = snapshot();
    let holder = user("u_a");
    let ctx = Context {
        now: t0(),
        actor: &holder,
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: None,
    };
    let mut driver = Driver::new(ClosureState::new("cl_1", UserId::new("u_a").unwrap()).unwrap());
    let request = Command::Request {
        feedback: None,
        token_digest: None,
        reason: None,
    };
    driver.handle(&request, &ctx).unwrap();
    let confirm = Command::Confirm {
        value: "a@example.com".into(),
    };
    driver.handle(&confirm, &ctx).unwrap();
    let effect = driver.poll_effect().unwrap();
    // The holder may not report; the report is refused...
    assert!(driver
        .handle_outcome(&effect.id, Outcome::Succeeded, &ctx)
        .is_err());
    // ...and the driver still knows the effect is unreported.
    let worker = system();
    let ctx = Context {
        actor: &worker,
        ..ctx
    };
    driver
        .handle_outcome(&effect.id, Outcome::Succeeded, &ctx)
        .unwrap();
    assert!(driver
        .state()
        .effects
        .iter()
        .any(|r| r.effect.id == effect.id && matches!(r.status, EffectStatus::Succeeded { .. })));
}

#[test]
fn cancelling_a_new_request_keeps_the_restore_of_the_one_before() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    let step = host.ok(Command::Cancel, &user("u_a"));
    let restore = step
        .effects
        .iter()
        .find(|e| e.action == Action::RestoreAccess)
        .unwrap()
        .id
        .clone();
    // The restore is not reported yet when the person asks again, then cancels.
    host.now = t0() + TimeDelta::hours(25);
    let holder = Actor {
        reauthenticated_at: Some(host.now),
        ..user("u_a")
    };
    let request = Command::Request {
        feedback: None,
        token_digest: None,
        reason: None,
    };
    host.ok(request, &holder);
    host.ok(Command::Cancel, &holder);
    let state = host.state();
    let record = state
        .effects
        .iter()
        .find(|r| r.effect.id == restore)
        .unwrap();
    assert_eq!(
        record.status,
        EffectStatus::Pending,
        "the account still gets its access back"
    );
}

/// A hold the account's records gain while a purge of its class is in
/// flight calls the purge back, whether the hold is new to the closure or
/// an old one widened to that class.
#[test]
fn a_snapshot_hold_new_or_widened_calls_back_a_purge_in_flight() {
    for widened in [false, true] {
        let mut host = Host::new(ClosurePolicy::cascade());
        let earlier = if widened {
            json!([hold("lh_records", &[RecordClass::Invoices], None)])
        } else {
            json!([])
        };
        host.snapshot = Some(with_holds(earlier));
        close(&mut host);
        host.now = t0() + TimeDelta::days(28);
        let step = host.ok(Command::Tick, &system());
        assert_eq!(
            purges(&step),
            [RecordClass::PersonalData],
            "widened: {widened}"
        );
        // The records now hold personal data too.
        let classes: &[RecordClass] = if widened {
            &[RecordClass::Invoices, RecordClass::PersonalData]
        } else {
            &[RecordClass::PersonalData]
        };
        let id = if widened { "lh_records" } else { "lh_new" };
        host.snapshot = Some(with_holds(json!([hold(id, classes, None)])));
        let step = host.ok(Command::Tick, &system());
        let kinds: Vec<&str> = step.audit.iter().map(|e| e.event.kind()).collect();
        assert!(
            kinds.contains(&"purge_recalled"),
            "widened: {widened}: {kinds:?}"
        );
        assert_eq!(
            Driver::new(host.state()).poll_effect(),
            None,
            "widened: {widened}: the held purge is not handed out"
        );
    }
}
