//! The sans-IO driver: what it hands out, what it keeps, where it stops.

use super::*;
use crate::machine::Host as HostLoop;

struct Flaky {
    snapshot: Option<Snapshot>,
    performed: Vec<EffectId>,
    fail: fn(&Action) -> bool,
}

impl HostLoop for Flaky {
    fn perform(&mut self, effect: &Effect) -> Outcome {
        self.performed.push(effect.id.clone());
        if (self.fail)(&effect.action) {
            return Outcome::RetryableFailure {
                reason: "503".into(),
            };
        }
        if effect.action == Action::DeleteAccount {
            self.snapshot = None;
        }
        Outcome::Succeeded
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
}

fn confirmed(policy: &ClosurePolicy) -> Driver {
    let snapshot = snapshot();
    let holder = user("u_a");
    let ctx = Context {
        now: t0(),
        actor: &holder,
        policy,
        snapshot: Some(&snapshot),
        audit_key: None,
    };
    let mut driver = Driver::new(ClosureState::new("cl_1", UserId::new("u_a").unwrap()).unwrap());
    driver
        .handle(
            &Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            },
            &ctx,
        )
        .unwrap();
    driver
        .handle(
            &Command::Confirm {
                value: "a@example.com".into(),
            },
            &ctx,
        )
        .unwrap();
    driver
}

#[test]
fn a_resumed_driver_hands_out_every_unreported_effect_again_once() {
    let policy = ClosurePolicy::cascade();
    let mut driver = confirmed(&policy);
    let first: Vec<EffectId> = std::iter::from_fn(|| driver.poll_effect())
        .map(|e| e.id)
        .collect();
    assert!(!first.is_empty());
    assert_eq!(driver.poll_effect(), None, "each effect is handed out once");
    // The host crashed before reporting: a driver on the stored state has
    // the same effects due, under the same keys.
    let mut resumed = Driver::new(driver.into_state());
    let again: Vec<EffectId> = std::iter::from_fn(|| resumed.poll_effect())
        .map(|e| e.id)
        .collect();
    assert_eq!(again, first);
}

#[test]
fn a_refused_command_leaves_the_driver_as_it_was() {
    let policy = ClosurePolicy::cascade();
    let mut driver = confirmed(&policy);
    let before = driver.clone();
    let stranger = user("u_mallory");
    let ctx = Context {
        now: t0(),
        actor: &stranger,
        policy: &policy,
        snapshot: None,
        audit_key: None,
    };
    assert_eq!(
        driver.handle(&Command::Cancel, &ctx).unwrap_err().code(),
        ErrorCode::NotAllowed
    );
    assert_eq!(driver, before);
}

#[test]
fn drive_stops_where_only_an_operator_can_help_and_names_it() {
    let policy = ClosurePolicy::cascade();
    let mut driver = confirmed(&policy);
    assert!(
        !driver.needs_snapshot(),
        "executing: the facts were checked"
    );
    let mut host = Flaky {
        snapshot: Some(snapshot()),
        performed: Vec::new(),
        fail: |a| matches!(a, Action::DeleteTenant { .. }),
    };
    let until = t0() + TimeDelta::days(3700);
    let at = driver
        .drive(&mut host, &system(), &policy, t0(), until, 10_000)
        .unwrap();
    assert!(
        at < until,
        "it stopped when nothing was left to do by itself"
    );
    assert_eq!(driver.state().phase.kind(), PhaseKind::Failed);
    let waiting = driver.waiting(&policy);
    assert!(
        matches!(&waiting[..], [Waiting::Operator { effects }] if effects.len() == 1),
        "{waiting:?}"
    );
    let deletes = host
        .performed
        .iter()
        .filter(|id| {
            driver.state().effects.iter().any(|r| {
                r.effect.id == **id && matches!(r.effect.action, Action::DeleteTenant { .. })
            })
        })
        .count();
    assert_eq!(
        deletes, policy.retry.max_attempts as usize,
        "tried as often as the policy says"
    );
}

#[test]
fn drive_is_bounded_by_its_step_budget() {
    let policy = ClosurePolicy::cascade();
    let mut driver = confirmed(&policy);
    let mut host = Flaky {
        snapshot: Some(snapshot()),
        performed: Vec::new(),
        fail: |_| false,
    };
    let until = t0() + TimeDelta::days(3700);
    driver
        .drive(&mut host, &system(), &policy, t0(), until, 3)
        .unwrap();
    assert_eq!(host.performed.len(), 3);
    assert_eq!(driver.state().phase.kind(), PhaseKind::Executing);
    // Given the budget, the same driver finishes the closure.
    driver
        .drive(&mut host, &system(), &policy, t0(), until, 10_000)
        .unwrap();
    assert_eq!(driver.state().phase.kind(), PhaseKind::Purged);
    assert!(
        host.snapshot.is_none(),
        "the account was deleted on the way"
    );
}

/// Until execution starts the machine re-checks the account's facts, so
/// a host must hand in a whole snapshot: from the first request to the
/// confirmed schedule, and again once halted for a new confirmation.
#[test]
fn a_whole_snapshot_is_needed_until_execution_starts() {
    let mut host = Host::new(relaxed_prerequisite());
    assert!(host.state().needs_snapshot(), "idle");
    host.request();
    assert!(host.state().needs_snapshot(), "{:?}", host.phase());
    host.confirm();
    assert_eq!(host.phase(), PhaseKind::Scheduled);
    assert!(host.state().needs_snapshot(), "scheduled");
    assert!(
        Driver::new(host.state()).needs_snapshot(),
        "the driver says so too"
    );
    // The grace period passes; the tick starts execution, and from then on
    // the account's facts are no longer re-checked.
    host.now += TimeDelta::days(i64::from(host.policy.grace_period_days) + 1);
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Executing);
    assert!(!host.state().needs_snapshot(), "executing");
}

#[test]
fn after_execution_starts_a_snapshot_of_the_account_and_its_holds_steps_as_the_whole_one() {
    // The promise `ClosureState::needs_snapshot` makes to hosts: once it is
    // false, ticks and reports read only the account and its legal holds.
    let policy = ClosurePolicy::cascade();
    let mut full = snapshot();
    // A hold the records gain after confirmation, merged in by both.
    full.legal_holds.push(LegalHold {
        id: LegalHoldId::new("lh_audit").unwrap(),
        classes: vec![RecordClass::Invoices, RecordClass::PersonalData],
        reason: crate::model::HoldReason::TaxAudit,
        placed_by: UserId::new("u_legal").unwrap(),
        placed_at: t0(),
        until: Some(t0() + TimeDelta::days(800)),
    });
    let slim = Snapshot {
        tenants: Vec::new(),
        subscriptions: Vec::new(),
        domains: Vec::new(),
        payment_methods: Vec::new(),
        invoices: Vec::new(),
        balance: None,
        ..full.clone()
    };
    let mut state = confirmed(&policy).into_state();
    let worker = system();
    let mut now = t0();
    let mut steps = 0;
    while state.phase.kind() != PhaseKind::Purged && steps < 200 {
        assert!(!state.needs_snapshot(), "{:?}", state.phase);
        let pending = state
            .effects
            .iter()
            .find(|r| r.status == EffectStatus::Pending)
            .map(|r| r.effect.id.clone());
        let command = match pending {
            Some(effect) => Command::ReportOutcome {
                effect,
                outcome: Outcome::Succeeded,
            },
            None => {
                now += TimeDelta::days(100);
                Command::Tick
            }
        };
        let with = |snapshot: &Snapshot| {
            let ctx = Context {
                now,
                actor: &worker,
                policy: &policy,
                snapshot: Some(snapshot),
                audit_key: None,
            };
            step(&state, &command, &ctx).unwrap()
        };
        let (whole, just) = (with(&full), with(&slim));
        assert_eq!(
            serde_json::to_value(&whole).unwrap(),
            serde_json::to_value(&just).unwrap(),
            "{command:?}"
        );
        state = whole.state;
        steps += 1;
    }
    assert_eq!(state.phase.kind(), PhaseKind::Purged, "after {steps} steps");
    assert!(
        state.holds.iter().any(|h| h.hold.id.as_str() == "lh_audit"),
        "the hold was merged"
    );
}

/// `drive` runs the loop up to `until` and no further: a wake-up after it
/// is left for a later drive.
#[test]
fn drive_stops_at_its_horizon() {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 7;
    policy.lifecycle.reminder_days_before.clear();
    let mut driver = confirmed(&policy);
    assert_eq!(driver.state().phase.kind(), PhaseKind::Scheduled);
    let mut host = Flaky {
        snapshot: Some(snapshot()),
        performed: Vec::new(),
        fail: |_| false,
    };
    // What confirming issued (the notice), then nothing until the grace ends.
    driver
        .drive(&mut host, &system(), &policy, t0(), t0(), 1_000)
        .unwrap();
    let issued = host.performed.len();
    let grace_end = driver.poll_timeout(&policy).unwrap();
    assert_eq!(grace_end, t0() + TimeDelta::days(7));
    driver
        .drive(
            &mut host,
            &system(),
            &policy,
            t0(),
            grace_end - TimeDelta::seconds(1),
            1_000,
        )
        .unwrap();
    assert_eq!(driver.state().phase.kind(), PhaseKind::Scheduled);
    assert_eq!(host.performed.len(), issued, "nothing past the horizon");
    driver
        .drive(&mut host, &system(), &policy, t0(), grace_end, 1_000)
        .unwrap();
    assert_ne!(driver.state().phase.kind(), PhaseKind::Scheduled);
}
