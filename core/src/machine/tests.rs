//! Machine tests: every transition and refusal, driven by a fake host with a
//! virtual clock that stores the state as JSON between steps.

// The fake host keeps every step's state, effects and audit events itself
// (see `Host::run`); a test may ignore the copy it gets back.
#![allow(unused_must_use)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;
use crate::audit::{sha256_hex, verify, verify_with_head, AuditError};
use crate::model::RecordClass;
use crate::model::{ActorRole, LegalHold, LegalHoldId};
use crate::plan::Message;
use crate::policy::Lifecycle;
use crate::ErrorCode;

fn t0() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn snapshot_value() -> serde_json::Value {
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
        "invoices": [{"id": "i_1", "status": "paid", "amount_due": 0, "currency": "EUR", "issued_at": "2026-10-01T00:00:00Z"}]
    })
}

fn snapshot() -> Snapshot {
    serde_json::from_value(snapshot_value()).unwrap()
}

fn user(id: &str) -> Actor {
    Actor {
        id: UserId::new(id).unwrap(),
        role: ActorRole::User,
        reauthenticated_at: Some(t0()),
    }
}

fn system() -> Actor {
    Actor {
        id: UserId::new("sys_worker").unwrap(),
        role: ActorRole::System,
        reauthenticated_at: None,
    }
}

fn support() -> Actor {
    Actor {
        id: UserId::new("ops_1").unwrap(),
        role: ActorRole::SupportOperator,
        reauthenticated_at: Some(t0()),
    }
}

/// A host that keeps only JSON between steps, like a real one.
struct Host {
    state_json: String,
    log: Vec<AuditEvent>,
    now: DateTime<Utc>,
    policy: ClosurePolicy,
    snapshot: Option<Snapshot>,
    issued: Vec<Effect>,
    notices: Vec<Notice>,
}

impl Host {
    fn new(policy: ClosurePolicy) -> Host {
        let state = ClosureState::new("cl_1", UserId::new("u_a").unwrap()).unwrap();
        Host {
            state_json: serde_json::to_string(&state).unwrap(),
            log: Vec::new(),
            now: t0(),
            policy,
            snapshot: Some(snapshot()),
            issued: Vec::new(),
            notices: Vec::new(),
        }
    }

    fn state(&self) -> ClosureState {
        ClosureState::from_json(&self.state_json).unwrap()
    }

    fn phase(&self) -> PhaseKind {
        self.state().phase.kind()
    }

    fn run(&mut self, command: Command, actor: &Actor) -> Result<Step, Error> {
        let state = self.state();
        let ctx = Context {
            now: self.now,
            actor,
            policy: &self.policy,
            snapshot: self.snapshot.as_ref(),
            audit_key: None,
        };
        let result = step(&state, &command, &ctx);
        match &result {
            Ok(step) => {
                self.state_json = serde_json::to_string(&step.state).unwrap();
                self.log.extend(step.audit.iter().cloned());
                self.issued.extend(step.effects.iter().cloned());
                self.notices.extend(step.notices.iter().cloned());
                let verified = verify_with_head(&self.log, &step.state.audit.head).unwrap();
                assert_eq!(verified.events, step.state.audit.next_sequence);
            }
            Err(_) => {
                // A refused command changes nothing the host stores.
                assert_eq!(
                    serde_json::to_string(&self.state()).unwrap(),
                    self.state_json
                );
            }
        }
        result
    }

    fn ok(&mut self, command: Command, actor: &Actor) -> Step {
        let step = self.run(command.clone(), actor);
        step.unwrap_or_else(|e| panic!("{command:?} refused: {e}"))
    }

    fn refused(&mut self, command: Command, actor: &Actor) -> ErrorCode {
        match self.run(command.clone(), actor) {
            Ok(step) => panic!("{command:?} accepted: {:?}", step.state.phase),
            Err(e) => e.code(),
        }
    }

    fn request(&mut self) -> Step {
        self.ok(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            },
            &user("u_a"),
        )
    }

    fn confirm(&mut self) -> Step {
        self.ok(
            Command::Confirm {
                value: "A@Example.com ".into(),
            },
            &user("u_a"),
        )
    }

    /// Reports success for every pending effect, in issue order, until none
    /// is left. What is due comes from the core's host loop, resumed from
    /// the stored JSON each time (as a host restarting would).
    fn perform_all(&mut self) {
        while let Some(effect) = Driver::new(self.state()).poll_effect() {
            self.succeed(&effect.id);
        }
    }

    /// Reports success for every pending effect but the first whose action
    /// matches `stop`, which it returns (still pending).
    fn perform_all_but(&mut self, stop: impl Fn(&Action) -> bool) -> EffectId {
        loop {
            let state = self.state();
            if let Some(found) = state
                .effects
                .iter()
                .find(|r| r.status == EffectStatus::Pending && stop(&r.effect.action))
            {
                return found.effect.id.clone();
            }
            let record = state
                .effects
                .iter()
                .find(|r| r.status == EffectStatus::Pending)
                .cloned()
                .expect("the effect looked for is issued before nothing is pending");
            self.succeed(&record.effect.id);
        }
    }

    fn succeed(&mut self, effect: &EffectId) -> Step {
        self.report(effect, Outcome::Succeeded)
    }

    fn fail(&mut self, effect: &EffectId) -> Step {
        self.report(
            effect,
            Outcome::PermanentFailure {
                reason: "refused".into(),
            },
        )
    }

    fn report(&mut self, effect: &EffectId, outcome: Outcome) -> Step {
        self.ok(
            Command::ReportOutcome {
                effect: effect.clone(),
                outcome,
            },
            &system(),
        )
    }

    fn actions(&self) -> Vec<&Action> {
        self.issued.iter().map(|e| &e.action).collect()
    }
}

/// The first pending effect of the execution plan (not a notification).
fn first_plan_effect(step: &Step) -> EffectId {
    let record = step
        .state
        .effects
        .iter()
        .find(|r| r.stage.is_some() && r.status == EffectStatus::Pending)
        .unwrap();
    record.effect.id.clone()
}

/// A hold an operator places on one class, open-ended (the machine dates it
/// itself, so `placed_at` here is only what the operator's tool wrote).
fn operator_hold(id: &str, class: RecordClass) -> LegalHold {
    LegalHold {
        id: LegalHoldId::new(id).unwrap(),
        classes: vec![class],
        reason: crate::model::HoldReason::Litigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    }
}

fn relaxed_prerequisite() -> ClosurePolicy {
    let mut policy = ClosurePolicy::prerequisite();
    policy.authorization.max_reauth_age_minutes = None;
    policy
}

/// The next tick is always after the latest time the closure saw, even
/// for a tick sent at the very second the statutory deadline passed: a
/// host that ticks when told is never told to tick again at once.
#[test]
fn the_next_tick_is_after_the_closure_clock_even_at_the_overdue_second() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    let due = host.state().response_due.unwrap();
    host.now = due + TimeDelta::seconds(1);
    host.ok(Command::Tick, &system());
    let next = host.state().next_tick(&host.policy);
    assert!(
        next.is_none_or(|t| t > host.now),
        "{next:?} at {}",
        host.now
    );
}

/// The exit feedback a person gave stays when they ask again without
/// any, and is replaced when they give new feedback.
#[test]
fn asking_again_keeps_the_feedback_unless_new_feedback_is_given() {
    let mut host = Host::new(relaxed_prerequisite());
    let ask = |reason: Option<ExitReason>| Command::Request {
        feedback: reason.map(|reason| ExitFeedback {
            reason,
            comment: None,
        }),
        token_digest: None,
        reason: None,
    };
    let feedback = |host: &Host| host.state().feedback.map(|f| f.reason);
    host.ok(ask(Some(ExitReason::TooExpensive)), &user("u_a"));
    assert_eq!(feedback(&host), Some(ExitReason::TooExpensive));
    host.ok(ask(None), &user("u_a"));
    assert_eq!(feedback(&host), Some(ExitReason::TooExpensive), "kept");
    host.ok(ask(Some(ExitReason::Unused)), &user("u_a"));
    assert_eq!(feedback(&host), Some(ExitReason::Unused), "replaced");
}

/// The table allows a command that may come in every phase only where it
/// leaves the phase as it is, and any other change only where it is a row:
/// the machine's last check against its own bugs.
#[test]
fn the_table_allows_only_its_rows_and_the_commands_of_every_phase_in_place() {
    use crate::machine::table::allowed;
    use CommandKind as C;
    use PhaseKind as P;
    assert!(allowed(P::Closed, C::Tick, P::Closed));
    assert!(allowed(P::Idle, C::Request, P::AwaitingConfirmation));
    // A command of every phase, but to another phase that no row lists.
    assert!(!allowed(P::Closed, C::Tick, P::Idle));
    assert!(!allowed(P::Purged, C::PlaceHold, P::Closed));
    // The same phase, but a command that is not one of every phase.
    assert!(!allowed(P::Idle, C::Confirm, P::Idle));
    assert!(!allowed(P::Closed, C::Request, P::Closed));
}

/// A refusal names the command and the phase in words, as its message
/// and its fields (what a host shows and logs).
#[test]
fn refusals_name_the_command_and_the_phase() {
    let mut host = Host::new(relaxed_prerequisite());
    let confirm = Command::Confirm {
        value: "a@example.com".into(),
    };
    match host.run(confirm, &user("u_a")) {
        Err(Error::WrongState { command, phase }) => {
            assert_eq!((command.as_str(), phase.as_str()), ("confirm", "idle"));
        }
        other => panic!("{other:?}"),
    }
    host.request();
    let refused = host.run(Command::Cancel, &user("u_stranger")).unwrap_err();
    assert!(
        matches!(&refused, Error::NotAllowed { command, .. } if command == "cancel"),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("may not cancel this closure"),
        "{refused}"
    );
}

/// Who is asking is checked first: a stranger is refused `not_allowed`
/// where the time, the pinned policy or the audit key would also refuse
/// someone allowed, so a refusal tells a stranger nothing about the
/// closure's clock, policy or key.
#[test]
fn a_stranger_is_refused_before_anything_about_the_closure_is_checked() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    let stranger = user("u_stranger");
    let hold = || Command::PlaceHold {
        hold: operator_hold("lh_probe", RecordClass::PersonalData),
    };

    // Before the closure's clock.
    host.now -= TimeDelta::hours(1);
    assert_eq!(host.refused(hold(), &stranger), ErrorCode::NotAllowed);
    assert_eq!(
        host.refused(hold(), &support()),
        ErrorCode::TimeWentBackwards
    );
    host.now += TimeDelta::hours(1);

    // Under another policy than the one the confirmation pinned.
    let pinned = host.policy.clone();
    host.policy.grace_period_days += 1;
    assert_eq!(host.refused(hold(), &stranger), ErrorCode::NotAllowed);
    assert_eq!(host.refused(hold(), &support()), ErrorCode::PolicyChanged);
    host.policy = pinned;

    // With an audit key on a chain written without one.
    let key = crate::audit::AuditKey::new("k_probe", [7u8; 32]).unwrap();
    let state = host.state();
    let keyed = |actor: &Actor| {
        let ctx = Context {
            now: host.now,
            actor,
            policy: &host.policy,
            snapshot: host.snapshot.as_ref(),
            audit_key: Some(&key),
        };
        step(&state, &hold(), &ctx).unwrap_err().code()
    };
    assert_eq!(keyed(&stranger), ErrorCode::NotAllowed);
    assert_eq!(keyed(&support()), ErrorCode::AuditKeyMismatch);
    // And the same command, in order, is accepted from support.
    host.ok(hold(), &support());
}

#[test]
fn cascade_lifecycle_from_request_to_purged() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    assert_eq!(host.phase(), PhaseKind::AwaitingConfirmation);
    let step = host.confirm();
    assert_eq!(
        host.phase(),
        PhaseKind::Executing,
        "no grace period: execution starts on confirmation"
    );
    let events: Vec<&str> = step.audit.iter().map(|e| e.event.kind()).collect();
    assert_eq!(events, ["confirmed", "execution_started"]);
    host.perform_all();
    let state = host.state();
    let Phase::Closed {
        receipt, purges, ..
    } = &state.phase
    else {
        panic!("{:?}", state.phase)
    };
    assert_eq!(receipt.policy, "cascade");
    assert_eq!(purges.len(), RecordClass::ALL.len());
    // The plan ran in dependency order: members, tenant, identifiers, account.
    let position =
        |wanted: &dyn Fn(&Action) -> bool| host.actions().iter().position(|a| wanted(a)).unwrap();
    let remove = position(&|a| matches!(a, Action::RemoveMembers { .. }));
    let delete_tenant = position(&|a| matches!(a, Action::DeleteTenant { .. }));
    let leave = position(&|a| matches!(a, Action::LeaveTenant { .. }));
    let delete_account = position(&|a| matches!(a, Action::DeleteAccount));
    let quarantine = position(&|a| matches!(a, Action::QuarantineIdentifiers { .. }));
    assert!(
        remove < delete_tenant
            && leave < delete_tenant
            && delete_tenant < quarantine
            && quarantine < delete_account,
        "identifiers are quarantined before the account is deleted"
    );
    assert!(host.actions().iter().any(|a| matches!(
        a,
        Action::Notify {
            recipient: crate::plan::Recipient::CoMembers { .. },
            ..
        }
    )));

    // Purges come due one class at a time: content and personal data after 30 days.
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    let purged: Vec<_> = step.effects.iter().map(|e| e.action.clone()).collect();
    assert_eq!(
        purged,
        [
            Action::Purge {
                class: RecordClass::PersonalData
            },
            Action::Purge {
                class: RecordClass::Content
            }
        ]
    );
    host.perform_all();
    // Those two are purged, and only those: invoices and the audit log wait
    // for their years.
    let Phase::Closed { purges, .. } = host.state().phase else {
        panic!("{:?}", host.phase())
    };
    let done: Vec<RecordClass> = purges
        .iter()
        .filter(|p| p.purged_at.is_some())
        .map(|p| p.class)
        .collect();
    assert_eq!(done, [RecordClass::PersonalData, RecordClass::Content]);
    host.now = t0() + TimeDelta::days(3700);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Purged);

    let keys: std::collections::HashSet<_> = host.issued.iter().map(|e| &e.id).collect();
    assert_eq!(
        keys.len(),
        host.issued.len(),
        "no idempotency key was issued twice"
    );
    assert_eq!(verify(&host.log).unwrap().events as usize, host.log.len());
    assert!(
        host.log
            .iter()
            .all(|e| !serde_json::to_string(e).unwrap().contains("a@example.com")),
        "no personal data in the audit log"
    );
}

/// Add-ons are cancelled in a stage of their own, before the plans they
/// belong to: some providers refuse to cancel a plan with add-ons attached.
#[test]
fn add_ons_are_cancelled_before_the_plans_they_extend() {
    let mut host = Host::new(ClosurePolicy::cascade());
    let mut value = snapshot_value();
    value["subscriptions"] = json!([
        {"id": "s_plan", "tenant": "t_team", "plan": "Team", "status": "active",
         "current_period_end": "2027-01-01T00:00:00Z"},
        {"id": "s_storage", "tenant": "t_team", "plan": "Storage", "add_on_of": "s_plan",
         "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}
    ]);
    host.snapshot = Some(serde_json::from_value(value).unwrap());
    host.request();
    let cancelled = |step: &Step| -> Vec<String> {
        step.effects
            .iter()
            .filter_map(|e| match &e.action {
                Action::CancelSubscription { subscription, .. } => {
                    Some(subscription.as_str().to_owned())
                }
                _ => None,
            })
            .collect()
    };
    let step = host.confirm();
    assert_eq!(cancelled(&step), ["s_storage"], "only the add-on at first");
    let add_on = step
        .effects
        .iter()
        .find(|e| matches!(e.action, Action::CancelSubscription { .. }))
        .unwrap()
        .id
        .clone();
    // The plan's cancellation waits for the add-on's.
    assert!(host
        .state()
        .effects
        .iter()
        .filter(|r| r.status == EffectStatus::Pending)
        .all(|r| !matches!(&r.effect.action, Action::CancelSubscription { subscription, .. } if subscription.as_str() == "s_plan")));
    let step = host.succeed(&add_on);
    assert_eq!(cancelled(&step), ["s_plan"], "then the plan");
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
}

#[test]
fn grace_period_locks_reminds_and_executes_when_due() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    let step = host.confirm();
    let execute_at = t0() + TimeDelta::days(14);
    assert_eq!(
        step.state.phase,
        Phase::Scheduled {
            confirmed_at: t0(),
            execute_at,
            reminders_sent: vec![]
        }
    );
    let actions: Vec<_> = step.effects.iter().map(|e| &e.action).collect();
    assert!(
        matches!(actions[0], Action::RevokeSessions) && matches!(actions[1], Action::BlockWrites)
    );
    assert!(actions.contains(&&Action::Notify {
        recipient: crate::plan::Recipient::Holder,
        message: Message::Scheduled { execute_at }
    }));

    host.now = t0() + TimeDelta::days(5);
    let idle = host.ok(Command::Tick, &system());
    assert!(
        idle.audit.is_empty() && idle.effects.is_empty(),
        "a tick with nothing due changes nothing"
    );
    host.now = execute_at - TimeDelta::days(3);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        step.effects[0].action,
        Action::Notify {
            recipient: crate::plan::Recipient::Holder,
            message: Message::Reminder {
                execute_at,
                days_left: 3
            }
        }
    );
    host.now = execute_at - TimeDelta::hours(2);
    let step = host.ok(Command::Tick, &system());
    assert!(matches!(
        step.effects[0].action,
        Action::Notify {
            message: Message::Reminder { days_left: 1, .. },
            ..
        }
    ));
    assert!(
        host.ok(Command::Tick, &system()).effects.is_empty(),
        "each reminder is sent once"
    );
    host.now = execute_at;
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Executing);
}

#[test]
fn cancel_restores_access_and_cooldown_refuses_a_new_request() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    host.now = t0() + TimeDelta::hours(1);
    let step = host.ok(Command::Cancel, &user("u_a"));
    assert_eq!(step.effects[0].action, Action::RestoreAccess);
    assert_eq!(host.phase(), PhaseKind::Cancelled);
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None
            },
            &user("u_a")
        ),
        ErrorCode::Cooldown
    );
    host.now = t0() + TimeDelta::hours(25);
    // What was in flight at the cancel was withdrawn; what the cancel issued
    // (restore access, the notice) is pending.
    let pending: Vec<EffectId> = host
        .state()
        .effects
        .iter()
        .filter(|r| r.status == EffectStatus::Pending)
        .map(|r| r.effect.id.clone())
        .collect();
    assert_eq!(pending.len(), 2);
    let step = host.request();
    assert_eq!(
        step.state.generation, 2,
        "a new request is a new generation with fresh effect keys"
    );
    // The cancel notifications were never reported: they stay, and can still be.
    let kept: Vec<EffectId> = step
        .state
        .effects
        .iter()
        .map(|r| r.effect.id.clone())
        .collect();
    assert_eq!(kept, pending);
    host.ok(
        Command::ReportOutcome {
            effect: kept[0].clone(),
            outcome: Outcome::Succeeded,
        },
        &system(),
    );
    host.perform_all();
    host.ok(Command::Cancel, &user("u_a"));
    host.perform_all();
    host.now += TimeDelta::hours(25);
    host.request();
    assert!(
        host.state().effects.is_empty(),
        "settled effects of earlier attempts are dropped"
    );
}

#[test]
fn wrong_confirmations_are_counted_and_lock_out() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    for left in (1..5).rev() {
        let step = host.ok(
            Command::Confirm {
                value: "nope".into(),
            },
            &user("u_a"),
        );
        assert_eq!(
            step.notices,
            [Notice::ConfirmationRejected {
                attempts_left: left,
                locked_until: None
            }]
        );
        assert_eq!(step.audit[0].event.kind(), "confirmation_failed");
    }
    let step = host.ok(
        Command::Confirm {
            value: "nope".into(),
        },
        &user("u_a"),
    );
    let until = t0() + TimeDelta::minutes(60);
    assert_eq!(
        step.notices,
        [Notice::ConfirmationRejected {
            attempts_left: 0,
            locked_until: Some(until)
        }]
    );
    assert_eq!(
        host.refused(
            Command::Confirm {
                value: "a@example.com".into()
            },
            &user("u_a")
        ),
        ErrorCode::LockedOut
    );
    host.now = until;
    host.confirm();
    assert_eq!(host.phase(), PhaseKind::Scheduled);
}

#[test]
fn token_confirmation_checks_digest_and_expiry() {
    let mut policy = relaxed_prerequisite();
    policy.confirmation.method = crate::policy::ConfirmationMethod::Token { valid_minutes: 30 };
    let mut host = Host::new(policy);
    let digest = sha256_hex(b"tok-123");
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None
            },
            &user("u_a")
        ),
        ErrorCode::InvalidValue
    );
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: Some("xyz".into()),
                reason: None
            },
            &user("u_a")
        ),
        ErrorCode::InvalidValue
    );
    // Exactly 64 lower-case hex characters: one short, one not hex, or
    // upper case is refused.
    let upper = digest.to_uppercase();
    let not_hex = format!("{}g", &digest[..63]);
    for bad in [&digest[..63], not_hex.as_str(), upper.as_str()] {
        assert_eq!(
            host.refused(
                Command::Request {
                    feedback: None,
                    token_digest: Some(bad.to_owned()),
                    reason: None
                },
                &user("u_a")
            ),
            ErrorCode::InvalidValue,
            "{bad}"
        );
    }
    host.ok(
        Command::Request {
            feedback: None,
            token_digest: Some(digest.clone()),
            reason: None,
        },
        &user("u_a"),
    );
    let wrong = host.ok(
        Command::Confirm {
            value: "tok-124".into(),
        },
        &user("u_a"),
    );
    assert!(matches!(
        wrong.notices[0],
        Notice::ConfirmationRejected { .. }
    ));
    host.now = t0() + TimeDelta::minutes(30);
    assert_eq!(
        host.refused(
            Command::Confirm {
                value: "tok-123".into()
            },
            &user("u_a")
        ),
        ErrorCode::ConfirmationExpired
    );
    // Requesting again issues a new token and keeps the failed-attempt count.
    let again = host.ok(
        Command::Request {
            feedback: None,
            token_digest: Some(sha256_hex(b"tok-456")),
            reason: None,
        },
        &user("u_a"),
    );
    assert!(matches!(
        again.state.phase,
        Phase::AwaitingConfirmation {
            failed_attempts: 1,
            ..
        }
    ));
    assert_eq!(again.audit[0].event.kind(), "re_requested");
    host.ok(
        Command::Confirm {
            value: "tok-456".into(),
        },
        &user("u_a"),
    );
    assert_eq!(host.phase(), PhaseKind::Scheduled);
}

#[test]
fn a_changed_snapshot_halts_execution_until_cleared() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    // During the grace period someone adds a subscription.
    let mut changed = snapshot_value();
    changed["subscriptions"] = json!([{"id": "s_new", "plan": "Pro", "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}]);
    host.snapshot = Some(serde_json::from_value(changed).unwrap());
    host.now = t0() + TimeDelta::days(14);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Halted);
    let Notice::Halted { blockers } = &step.notices[0] else {
        panic!("{:?}", step.notices)
    };
    assert_eq!(blockers[0].code.as_str(), "subscription_active");
    assert!(
        step.effects
            .iter()
            .all(|e| !matches!(e.action, Action::DeleteAccount)),
        "nothing destructive on stale facts"
    );
    host.now += TimeDelta::hours(1);
    assert!(
        host.ok(Command::Tick, &system()).audit.is_empty(),
        "still blocked, nothing new to log"
    );
    host.snapshot = Some(snapshot());
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Executing);
}

#[test]
fn retryable_failures_back_off_then_fail_and_an_operator_retries() {
    let mut policy = ClosurePolicy::cascade();
    policy.retry = crate::policy::RetryPolicy {
        max_attempts: 3,
        base_delay_seconds: 10,
        max_delay_seconds: 15,
    };
    let mut host = Host::new(policy);
    host.request();
    let step = host.confirm();
    let first = first_plan_effect(&step);
    let fail = |reason: &str| Outcome::RetryableFailure {
        reason: reason.into(),
    };
    let step = host.ok(
        Command::ReportOutcome {
            effect: first.clone(),
            outcome: fail("timeout"),
        },
        &system(),
    );
    let retry_at = t0() + TimeDelta::seconds(10);
    assert!(
        matches!(step.state.effects.iter().find(|r| r.effect.id == first).unwrap().status, EffectStatus::RetryScheduled { retry_at: at } if at == retry_at)
    );
    host.now = retry_at - TimeDelta::seconds(1);
    assert!(host.ok(Command::Tick, &system()).effects.is_empty());
    host.now = retry_at;
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        step.effects.iter().map(|e| &e.id).collect::<Vec<_>>(),
        [&first],
        "re-issued under the same key"
    );
    let step = host.ok(
        Command::ReportOutcome {
            effect: first.clone(),
            outcome: fail("timeout"),
        },
        &system(),
    );
    let second_delay = step
        .state
        .effects
        .iter()
        .find(|r| r.effect.id == first)
        .unwrap()
        .status
        .clone();
    assert_eq!(
        second_delay,
        EffectStatus::RetryScheduled {
            retry_at: retry_at + TimeDelta::seconds(15)
        },
        "doubled, capped at the maximum"
    );
    host.now = retry_at + TimeDelta::seconds(15);
    host.ok(Command::Tick, &system());
    host.ok(
        Command::ReportOutcome {
            effect: first.clone(),
            outcome: fail("timeout"),
        },
        &system(),
    );
    assert_eq!(
        host.phase(),
        PhaseKind::Failed,
        "third failure exhausts the attempts"
    );
    assert_eq!(
        host.refused(Command::Retry, &user("u_a")),
        ErrorCode::NotAllowed
    );
    let step = host.ok(Command::Retry, &support());
    assert_eq!(step.effects[0].id, first);
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
}

#[test]
fn a_permanent_failure_fails_and_an_operator_can_abort() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let step = host.confirm();
    let effect = first_plan_effect(&step);
    host.ok(
        Command::ReportOutcome {
            effect,
            outcome: Outcome::PermanentFailure {
                reason: "refused".into(),
            },
        },
        &system(),
    );
    assert_eq!(host.phase(), PhaseKind::Failed);
    host.ok(Command::Abort, &support());
    assert_eq!(host.phase(), PhaseKind::Aborted);
    assert_eq!(
        host.refused(Command::Retry, &support()),
        ErrorCode::WrongState
    );
}

#[test]
fn outcomes_unknown_duplicate_and_premature() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let step = host.confirm();
    let attempt =
        crate::plan::AttemptId::derive(&UserId::new("u_a").unwrap(), "cl_other", None, 1, t0());
    let bogus = EffectId::derive(
        &UserId::new("u_a").unwrap(),
        "cl_other",
        &attempt,
        &Action::DeleteAccount,
    );
    assert_eq!(
        host.refused(
            Command::ReportOutcome {
                effect: bogus,
                outcome: Outcome::Succeeded
            },
            &system()
        ),
        ErrorCode::UnknownEffect
    );
    let planned = step
        .state
        .effects
        .iter()
        .find(|r| r.status == EffectStatus::Planned)
        .unwrap()
        .effect
        .id
        .clone();
    assert_eq!(
        host.refused(
            Command::ReportOutcome {
                effect: planned,
                outcome: Outcome::Succeeded
            },
            &system()
        ),
        ErrorCode::UnknownEffect
    );
    let first = step.effects[0].id.clone();
    host.ok(
        Command::ReportOutcome {
            effect: first.clone(),
            outcome: Outcome::Succeeded,
        },
        &system(),
    );
    let before = host.state_json.clone();
    let dup = host.ok(
        Command::ReportOutcome {
            effect: first.clone(),
            outcome: Outcome::Succeeded,
        },
        &system(),
    );
    assert_eq!(dup.notices, [Notice::DuplicateOutcome { effect: first }]);
    assert!(dup.audit.is_empty());
    assert_eq!(host.state_json, before, "a duplicate report is harmless");
}

#[test]
fn refusals_wrong_state_actor_time_and_blockers() {
    let mut host = Host::new(relaxed_prerequisite());
    assert_eq!(
        host.refused(Command::Confirm { value: "x".into() }, &user("u_a")),
        ErrorCode::WrongState
    );
    assert_eq!(
        host.refused(Command::Cancel, &user("u_a")),
        ErrorCode::WrongState
    );
    assert_eq!(
        host.refused(Command::Retry, &support()),
        ErrorCode::WrongState
    );
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None
            },
            &user("u_stranger")
        ),
        ErrorCode::NotAllowed
    );
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None
            },
            &system()
        ),
        ErrorCode::NotAllowed
    );
    assert_eq!(
        host.refused(Command::Tick, &user("u_a")),
        ErrorCode::NotAllowed
    );
    let hold = LegalHold {
        id: LegalHoldId::new("lh").unwrap(),
        classes: vec![RecordClass::Content],
        reason: crate::model::HoldReason::Litigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    };
    assert_eq!(
        host.refused(Command::PlaceHold { hold }, &user("u_a")),
        ErrorCode::NotAllowed
    );

    let snapshot = host.snapshot.take();
    assert_eq!(
        host.refused(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None
            },
            &user("u_a")
        ),
        ErrorCode::InvalidValue
    );
    let mut blocked = snapshot_value();
    blocked["payment_methods"] = json!([{"id": "pm", "kind": "card"}]);
    host.snapshot = Some(serde_json::from_value(blocked).unwrap());
    let ctx_err = host
        .run(
            Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            },
            &user("u_a"),
        )
        .unwrap_err();
    let Error::Blocked { blockers } = &ctx_err else {
        panic!("{ctx_err}")
    };
    assert_eq!(blockers[0].code.as_str(), "payment_method_on_file");
    assert!(
        ctx_err.to_string().contains("payment_method_on_file"),
        "{ctx_err}"
    );
    host.snapshot = snapshot;

    host.request();
    host.now = t0() - TimeDelta::seconds(1);
    assert_eq!(
        host.refused(Command::Cancel, &user("u_a")),
        ErrorCode::TimeWentBackwards
    );
    host.now = t0();
    host.ok(Command::Cancel, &user("u_a"));
    assert_eq!(
        host.refused(Command::Cancel, &user("u_a")),
        ErrorCode::WrongState
    );
}

#[test]
fn purge_waits_for_a_hold_and_runs_when_it_is_released() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    host.perform_all();
    let hold = LegalHold {
        id: LegalHoldId::new("lh_case").unwrap(),
        classes: vec![RecordClass::PersonalData],
        reason: crate::model::HoldReason::Litigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    };
    host.ok(Command::PlaceHold { hold: hold.clone() }, &support());
    assert_eq!(
        host.refused(Command::PlaceHold { hold }, &support()),
        ErrorCode::DuplicateId
    );
    host.now = t0() + TimeDelta::days(31);
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        step.effects
            .iter()
            .map(|e| e.action.clone())
            .collect::<Vec<_>>(),
        [Action::Purge {
            class: RecordClass::Content
        }]
    );
    assert_eq!(
        step.notices,
        [
            Notice::PurgeHeld {
                class: RecordClass::PersonalData,
                holds: vec![LegalHoldId::new("lh_case").unwrap()]
            },
            // Personal data is still kept, so the erasure request is still
            // unanswered past its deadline, closed or not.
            Notice::ResponseOverdue {
                due: "2026-12-23T10:00:00Z".parse().unwrap()
            }
        ]
    );
    host.perform_all();
    assert!(
        host.ok(Command::Tick, &system()).effects.is_empty(),
        "still held"
    );
    let step = host.ok(
        Command::ReleaseHold {
            hold: LegalHoldId::new("lh_case").unwrap(),
        },
        &support(),
    );
    assert_eq!(
        step.effects
            .iter()
            .map(|e| e.action.clone())
            .collect::<Vec<_>>(),
        [Action::Purge {
            class: RecordClass::PersonalData
        }]
    );
    assert_eq!(
        host.refused(
            Command::ReleaseHold {
                hold: LegalHoldId::new("lh_case").unwrap()
            },
            &support()
        ),
        ErrorCode::DanglingReference
    );
}

#[test]
fn the_statutory_deadline_is_recorded_and_overdue_steps_warn() {
    let mut host = Host::new(ClosurePolicy::cascade());
    let step = host.request();
    assert_eq!(
        step.state.response_due,
        Some("2026-12-23T10:00:00Z".parse().unwrap())
    );
    host.now = "2026-12-24T00:00:00Z".parse().unwrap();
    let fresh = Actor {
        reauthenticated_at: Some(host.now),
        ..user("u_a")
    };
    let step = host.ok(
        Command::Confirm {
            value: "a@example.com".into(),
        },
        &fresh,
    );
    assert!(step.notices.contains(&Notice::ResponseOverdue {
        due: "2026-12-23T10:00:00Z".parse().unwrap()
    }));
    let mut ccpa = ClosurePolicy::cascade();
    ccpa.statutory_regime = crate::policy::StatutoryRegime::Ccpa;
    assert_eq!(
        Host::new(ccpa).request().state.response_due,
        Some(t0() + TimeDelta::days(45))
    );
}

#[test]
fn resuming_from_stored_json_after_every_step_matches_one_run_in_memory() {
    // The Host already round-trips the state through JSON on every step;
    // run the same lifecycle keeping the state in memory and compare.
    let policy = ClosurePolicy::cascade();
    let mut host = Host::new(policy.clone());
    host.request();
    host.confirm();
    host.perform_all();

    let snap = snapshot();
    let holder = user("u_a");
    let sys = system();
    let mut state = ClosureState::new("cl_1", UserId::new("u_a").unwrap()).unwrap();
    let mut log = Vec::new();
    let mut go = |state: &mut ClosureState, command: Command, actor: &Actor| {
        let ctx = Context {
            now: t0(),
            actor,
            policy: &policy,
            snapshot: Some(&snap),
            audit_key: None,
        };
        let step = step(state, &command, &ctx).unwrap();
        log.extend(step.audit);
        *state = step.state;
    };
    go(
        &mut state,
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &holder,
    );
    go(
        &mut state,
        // As the host typed it: the audit covers the command's payload.
        Command::Confirm {
            value: "A@Example.com ".into(),
        },
        &holder,
    );
    while let Some(id) = state
        .effects
        .iter()
        .find(|r| r.status == EffectStatus::Pending)
        .map(|r| r.effect.id.clone())
    {
        go(
            &mut state,
            Command::ReportOutcome {
                effect: id,
                outcome: Outcome::Succeeded,
            },
            &sys,
        );
    }
    assert_eq!(state, host.state());
    assert_eq!(log, host.log);
}

#[test]
fn the_audit_chain_detects_tampering() {
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    host.perform_all();
    let log = host.log.clone();
    let head = host.state().audit.head;
    assert!(log.len() > 5);
    verify_with_head(&log, &head).unwrap();

    let mut edited = log.clone();
    edited[2].event = crate::audit::Event::Retried;
    assert_eq!(verify(&edited), Err(AuditError::Altered { sequence: 2 }));
    let mut rehashed = edited.clone();
    rehashed[2].hash = rehashed[2].compute_hash();
    assert_eq!(
        verify(&rehashed),
        Err(AuditError::BrokenLink { sequence: 3 }),
        "re-hashing one event breaks the next link"
    );
    let mut deleted = log.clone();
    deleted.remove(1);
    assert!(matches!(
        verify(&deleted),
        Err(AuditError::Sequence { index: 1, .. })
    ));
    let mut swapped = log.clone();
    swapped.swap(1, 2);
    assert!(matches!(verify(&swapped), Err(AuditError::Sequence { .. })));
    let mut inserted = log.clone();
    inserted.insert(1, log[1].clone());
    assert!(verify(&inserted).is_err());
    let truncated = &log[..log.len() - 1];
    verify(truncated).unwrap();
    assert!(matches!(
        verify_with_head(truncated, &head),
        Err(AuditError::HeadMismatch { .. })
    ));
}

#[test]
fn every_transition_in_the_table_is_drawn() {
    let diagram = diagram();
    assert!(diagram.starts_with("stateDiagram-v2\n"));
    for (from, command, to) in TRANSITIONS {
        let line = format!(
            "{} --> {}: {}",
            phase_name(*from).replace('_', ""),
            phase_name(*to).replace('_', ""),
            command_name(*command)
        );
        assert!(diagram.to_lowercase().contains(&line), "{line} missing");
    }
    assert!(allowed(
        PhaseKind::Closed,
        CommandKind::PlaceHold,
        PhaseKind::Closed
    ));
    assert!(!allowed(
        PhaseKind::Idle,
        CommandKind::Confirm,
        PhaseKind::Scheduled
    ));
}

#[test]
fn stored_state_versions_are_checked() {
    let state = ClosureState::new("cl", UserId::new("u_a").unwrap()).unwrap();
    let mut value = serde_json::to_value(&state).unwrap();
    value["schema_version"] = (STATE_VERSION + 1).into();
    assert_eq!(
        ClosureState::from_json(&value.to_string())
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(
        ClosureState::new(" ", UserId::new("u_a").unwrap())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidValue
    );
    let mut old = state.clone();
    old.schema_version = 0;
    let policy = ClosurePolicy::cascade();
    let actor = user("u_a");
    let ctx = Context {
        now: t0(),
        actor: &actor,
        policy: &policy,
        snapshot: None,
        audit_key: None,
    };
    assert_eq!(
        step(&old, &Command::Tick, &ctx).unwrap_err().code(),
        ErrorCode::UnsupportedVersion
    );
}

#[test]
fn lifecycle_policy_is_validated() {
    let mut policy = ClosurePolicy::prerequisite();
    policy.lifecycle = Lifecycle {
        lock_on_confirm: true,
        reminder_days_before: vec![14],
    };
    assert_eq!(
        policy.validate().unwrap_err().code(),
        ErrorCode::InvalidPolicy
    );
    let mut policy = ClosurePolicy::cascade();
    policy.retry.base_delay_seconds = policy.retry.max_delay_seconds + 1;
    assert_eq!(
        policy.validate().unwrap_err().code(),
        ErrorCode::InvalidPolicy
    );
    policy.retry.base_delay_seconds = 1;
    policy.retry.max_attempts = 0;
    assert_eq!(
        policy.validate().unwrap_err().code(),
        ErrorCode::InvalidPolicy
    );
}

#[test]
fn every_row_of_the_table_is_exercised() {
    use std::collections::HashSet;
    let mut seen: HashSet<(PhaseKind, CommandKind, PhaseKind)> = HashSet::new();
    let mut collect = |host: &Host| {
        seen.extend(host.log.iter().map(|e| (e.from, e.command, e.to)));
    };
    // Grace period: reminders, halt, cancel from halted; then re-request after cooldown.
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.ok(
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &user("u_a"),
    );
    host.ok(
        Command::Confirm {
            value: "wrong".into(),
        },
        &user("u_a"),
    );
    host.confirm();
    host.now = t0() + TimeDelta::days(11);
    host.ok(Command::Tick, &system());
    let mut changed = snapshot_value();
    changed["payment_methods"] = json!([{"id": "pm", "kind": "card"}]);
    host.snapshot = Some(serde_json::from_value(changed).unwrap());
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Halted);
    host.ok(Command::Cancel, &user("u_a"));
    host.now = t0() + TimeDelta::days(16);
    host.snapshot = Some(snapshot());
    host.request();
    host.ok(Command::Cancel, &user("u_a"));
    collect(&host);
    // The grace period ends cleanly.
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Executing);
    collect(&host);
    // Cancelled during the grace period.
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    host.ok(Command::Cancel, &user("u_a"));
    collect(&host);
    // Halted, then cleared; and halted, then aborted.
    for abort in [false, true] {
        let mut host = Host::new(relaxed_prerequisite());
        host.request();
        host.confirm();
        let mut changed = snapshot_value();
        changed["payment_methods"] = json!([{"id": "pm", "kind": "card"}]);
        host.snapshot = Some(serde_json::from_value(changed).unwrap());
        host.now = t0() + TimeDelta::days(14);
        host.ok(Command::Tick, &system());
        if abort {
            let step = host.ok(Command::Abort, &support());
            assert_eq!(
                step.effects[0].action,
                Action::RestoreAccess,
                "an aborted, halted closure gives access back"
            );
        } else {
            host.snapshot = Some(snapshot());
            host.ok(Command::Tick, &system());
            assert_eq!(host.phase(), PhaseKind::Executing);
            assert_eq!(
                host.refused(Command::Cancel, &user("u_a")),
                ErrorCode::WrongState,
                "too late to cancel"
            );
        }
        collect(&host);
    }
    // Cascade: straight to execution, a failure, an operator retry, then purge.
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let step = host.confirm();
    host.ok(
        Command::ReportOutcome {
            effect: first_plan_effect(&step),
            outcome: Outcome::PermanentFailure {
                reason: "no".into(),
            },
        },
        &system(),
    );
    host.ok(Command::Retry, &support());
    host.perform_all();
    host.now = t0() + TimeDelta::days(3700);
    host.ok(Command::Tick, &system());
    host.perform_all();
    collect(&host);
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let step = host.confirm();
    host.ok(
        Command::ReportOutcome {
            effect: first_plan_effect(&step),
            outcome: Outcome::PermanentFailure {
                reason: "no".into(),
            },
        },
        &system(),
    );
    host.ok(Command::Abort, &support());
    // Asked again after the abort: a new attempt.
    host.request();
    assert_eq!(host.phase(), PhaseKind::AwaitingConfirmation);
    collect(&host);
    // The plan grew during the grace period: halted, asked again.
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    let mut grown = snapshot_value();
    grown["tenants"][1]["primary_owner"] = "u_a".into();
    grown["tenants"][1]["members"] =
        json!([{"user": "u_a", "role": "owner"}, {"user": "u_z", "role": "member"}]);
    host.snapshot = Some(serde_json::from_value(grown).unwrap());
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Halted);
    host.request();
    assert_eq!(host.phase(), PhaseKind::AwaitingConfirmation);
    collect(&host);
    // A late success settles a failed effect: from the first stage the
    // closure runs on; from the last it closes.
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    let step = host.confirm();
    let first = first_plan_effect(&step);
    host.fail(&first);
    host.succeed(&first);
    assert_eq!(host.phase(), PhaseKind::Executing);
    let delete = host.perform_all_but(|a| *a == Action::DeleteAccount);
    host.fail(&delete);
    host.succeed(&delete);
    assert_eq!(host.phase(), PhaseKind::Closed);
    collect(&host);
    // Halted by a hold placed during the grace period; its release runs the plan.
    let mut policy = relaxed_prerequisite();
    policy.conditions.legal_hold = crate::Rule::Block;
    let mut host = Host::new(policy);
    host.request();
    host.confirm();
    let hold = operator_hold("lh_grace", RecordClass::Content);
    host.ok(Command::PlaceHold { hold }, &support());
    host.now = t0() + TimeDelta::days(14);
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Halted);
    host.ok(
        Command::ReleaseHold {
            hold: LegalHoldId::new("lh_grace").unwrap(),
        },
        &support(),
    );
    assert_eq!(
        host.phase(),
        PhaseKind::Executing,
        "released: the plan runs"
    );
    collect(&host);

    for row in TRANSITIONS {
        assert!(
            seen.contains(row),
            "{row:?} is in the table but no scenario takes it"
        );
    }
    for row in &seen {
        assert!(
            allowed(row.0, row.1, row.2),
            "{row:?} happened but is not in the table"
        );
    }
}

#[test]
fn next_tick_tells_the_host_when_time_matters() {
    let mut host = Host::new(relaxed_prerequisite());
    assert_eq!(host.state().next_tick(&host.policy), None);
    host.request();
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(t0() + TimeDelta::days(30) + TimeDelta::seconds(1)),
        "waiting on the person; the only time named is the statutory deadline's passing"
    );
    host.confirm();
    let execute_at = t0() + TimeDelta::days(14);
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(execute_at - TimeDelta::days(3))
    );
    host.now = execute_at - TimeDelta::days(3);
    host.ok(Command::Tick, &system());
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(execute_at - TimeDelta::days(1))
    );
    host.now = execute_at - TimeDelta::days(1);
    host.ok(Command::Tick, &system());
    assert_eq!(host.state().next_tick(&host.policy), Some(execute_at));
    host.now = execute_at;
    host.ok(Command::Tick, &system());
    let pending = host
        .state()
        .effects
        .iter()
        .find(|r| r.status == EffectStatus::Pending && r.stage.is_some())
        .unwrap()
        .effect
        .id
        .clone();
    host.ok(
        Command::ReportOutcome {
            effect: pending,
            outcome: Outcome::RetryableFailure {
                reason: "busy".into(),
            },
        },
        &system(),
    );
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(execute_at + TimeDelta::seconds(30))
    );
    host.now = execute_at + TimeDelta::seconds(30);
    host.ok(Command::Tick, &system());
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
    // Content (30 days after the request) is the first purge due.
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(t0() + TimeDelta::days(30))
    );
}

#[test]
fn a_command_at_the_second_a_retry_falls_due_does_not_hide_it() {
    // Found by the service's crash test: a retry fell due at T, an outcome
    // for another effect arrived at T, and next_tick stopped naming T, so
    // nothing ever ticked the closure again.
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    let stage: Vec<EffectId> = host
        .state()
        .effects
        .iter()
        .filter(|r| r.status == EffectStatus::Pending && r.stage.is_some())
        .map(|r| r.effect.id.clone())
        .collect();
    assert!(stage.len() >= 2, "a stage of two or more: {stage:?}");
    let retryable = Outcome::RetryableFailure {
        reason: "busy".into(),
    };
    host.ok(
        Command::ReportOutcome {
            effect: stage[0].clone(),
            outcome: retryable,
        },
        &system(),
    );
    let retry_at = host.state().next_tick(&host.policy).unwrap();
    assert!(retry_at > host.now);
    host.now = retry_at;
    host.ok(
        Command::ReportOutcome {
            effect: stage[1].clone(),
            outcome: Outcome::Succeeded,
        },
        &system(),
    );
    assert_eq!(host.state().clock, Some(retry_at));
    assert_eq!(
        host.state().next_tick(&host.policy),
        Some(retry_at),
        "the retry is still due, now"
    );
    let step = host.ok(Command::Tick, &system());
    assert_eq!(
        step.effects
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [stage[0].clone()]
    );
    assert_eq!(host.state().ticked, Some(retry_at));
}

#[test]
fn a_command_at_the_end_of_the_grace_period_does_not_hide_it() {
    let mut host = Host::new(relaxed_prerequisite());
    host.request();
    host.confirm();
    let execute_at = t0() + TimeDelta::days(14);
    // The reminders go out on their ticks.
    while let Some(at) = host
        .state()
        .next_tick(&host.policy)
        .filter(|at| *at < execute_at)
    {
        host.now = at;
        host.ok(Command::Tick, &system());
    }
    host.now = execute_at;
    let hold = LegalHold {
        id: LegalHoldId::new("lh_timing").unwrap(),
        classes: vec![RecordClass::Invoices],
        reason: crate::model::HoldReason::TaxAudit,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    };
    host.ok(Command::PlaceHold { hold }, &support());
    assert_eq!(host.state().clock, Some(execute_at));
    assert_eq!(host.state().next_tick(&host.policy), Some(execute_at));
    host.ok(Command::Tick, &system());
    assert_eq!(host.phase(), PhaseKind::Executing);
}

#[test]
fn operator_retry_reissues_every_failed_effect_of_the_stage() {
    // Found by `offboard simulate --fail delete_tenant`: two tenants fail to
    // delete, and the retry must cover both or the stage never completes.
    let mut value = snapshot_value();
    value["tenants"] = json!([
        {"id": "t_1", "name": "One", "primary_owner": "u_a", "members": [{"user": "u_a", "role": "owner"}]},
        {"id": "t_2", "name": "Two", "primary_owner": "u_a", "members": [{"user": "u_a", "role": "owner"}]}
    ]);
    let mut host = Host::new(ClosurePolicy::cascade());
    host.snapshot = Some(serde_json::from_value(value).unwrap());
    host.request();
    host.confirm();
    let is_delete = |r: &EffectRecord| matches!(r.effect.action, Action::DeleteTenant { .. });
    let deletes = |host: &Host| -> Vec<EffectId> {
        host.state()
            .effects
            .iter()
            .filter(|r| is_delete(r))
            .map(|r| r.effect.id.clone())
            .collect()
    };
    while let Some(id) = host
        .state()
        .effects
        .iter()
        .find(|r| r.status == EffectStatus::Pending && !is_delete(r))
        .map(|r| r.effect.id.clone())
    {
        host.ok(
            Command::ReportOutcome {
                effect: id,
                outcome: Outcome::Succeeded,
            },
            &system(),
        );
    }
    for id in deletes(&host) {
        host.ok(
            Command::ReportOutcome {
                effect: id,
                outcome: Outcome::PermanentFailure {
                    reason: "locked".into(),
                },
            },
            &system(),
        );
    }
    assert_eq!(host.phase(), PhaseKind::Failed);
    let step = host.ok(Command::Retry, &support());
    assert_eq!(
        step.effects
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        deletes(&host)
    );
    host.perform_all();
    assert_eq!(host.phase(), PhaseKind::Closed);
}

#[test]
fn the_deadline_extends_once_before_it_passes() {
    let mut host = Host::new(relaxed_prerequisite());
    assert_eq!(
        host.refused(Command::ExtendDeadline, &support()),
        ErrorCode::WrongState,
        "no request yet"
    );
    host.request();
    assert_eq!(
        host.refused(Command::ExtendDeadline, &user("u_a")),
        ErrorCode::NotAllowed
    );
    let step = host.ok(Command::ExtendDeadline, &support());
    let due: DateTime<Utc> = "2027-02-23T10:00:00Z".parse().unwrap();
    assert_eq!(step.state.response_due, Some(due), "one month plus two");
    assert_eq!(
        step.effects[0].action,
        Action::Notify {
            recipient: crate::plan::Recipient::Holder,
            message: Message::DeadlineExtended { due }
        }
    );
    assert_eq!(
        host.refused(Command::ExtendDeadline, &support()),
        ErrorCode::InvalidValue,
        "only once"
    );

    let mut late = Host::new(relaxed_prerequisite());
    late.request();
    late.now = "2026-12-24T00:00:00Z".parse().unwrap();
    assert_eq!(
        late.refused(Command::ExtendDeadline, &support()),
        ErrorCode::InvalidValue,
        "after the deadline is too late"
    );
    // At the deadline itself it is still in time.
    let mut on_time = Host::new(relaxed_prerequisite());
    on_time.request();
    on_time.now = on_time.state().response_due.unwrap();
    on_time.ok(Command::ExtendDeadline, &support());

    let mut none = relaxed_prerequisite();
    none.statutory_regime = crate::policy::StatutoryRegime::None;
    let mut untracked = Host::new(none);
    untracked.request();
    assert_eq!(
        untracked.refused(Command::ExtendDeadline, &support()),
        ErrorCode::WrongState
    );
}

#[test]
fn cancelling_never_releases_a_hold() {
    let mut host = Host::new(relaxed_prerequisite());
    let hold = LegalHold {
        id: LegalHoldId::new("lh_keep").unwrap(),
        classes: vec![RecordClass::Content],
        reason: crate::model::HoldReason::AbuseInvestigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    };
    host.ok(Command::PlaceHold { hold }, &support());
    host.request();
    host.confirm();
    host.ok(Command::Cancel, &user("u_a"));
    assert_eq!(host.state().holds.len(), 1);
    assert_eq!(host.state().holds[0].hold.id.as_str(), "lh_keep");
}

#[test]
fn a_purge_waiting_for_a_retry_is_not_reissued_under_a_new_hold() {
    // Found by the model-based tests: a purge failed retryably, a hold was
    // placed, and the retry was issued anyway.
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    host.perform_all();
    host.now = t0() + TimeDelta::days(30);
    let step = host.ok(Command::Tick, &system());
    let purge = step
        .effects
        .iter()
        .find(|e| {
            e.action
                == Action::Purge {
                    class: RecordClass::Content,
                }
        })
        .unwrap()
        .id
        .clone();
    host.ok(
        Command::ReportOutcome {
            effect: purge.clone(),
            outcome: Outcome::RetryableFailure {
                reason: "busy".into(),
            },
        },
        &system(),
    );
    let hold = LegalHold {
        id: LegalHoldId::new("lh_late").unwrap(),
        classes: vec![RecordClass::Content],
        reason: crate::model::HoldReason::Litigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: host.now,
        until: None,
    };
    host.ok(Command::PlaceHold { hold }, &support());
    host.now += TimeDelta::hours(2);
    let step = host.ok(Command::Tick, &system());
    assert!(
        step.effects.iter().all(|e| e.id != purge),
        "the held purge was re-issued"
    );
    let wake = host.state().next_tick(&host.policy);
    assert!(
        wake.is_none_or(|at| at > host.now),
        "the held retry does not keep waking the host: {wake:?}"
    );
    // Releasing the hold re-evaluates at once: nothing else would tick it.
    let step = host.ok(
        Command::ReleaseHold {
            hold: LegalHoldId::new("lh_late").unwrap(),
        },
        &support(),
    );
    let reissued: Vec<EffectId> = step.effects.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        reissued,
        [purge],
        "re-issued under the same key once released"
    );
}

#[test]
fn a_held_purge_does_not_make_the_host_tick_forever() {
    // An idle tick advances the clock, so next_tick never names again a
    // moment that produced nothing: here, due purges kept by a hold.
    let mut host = Host::new(ClosurePolicy::cascade());
    host.request();
    host.confirm();
    host.perform_all();
    let hold = LegalHold {
        id: LegalHoldId::new("lh_all").unwrap(),
        classes: RecordClass::ALL.to_vec(),
        reason: crate::model::HoldReason::Litigation,
        placed_by: UserId::new("ops_1").unwrap(),
        placed_at: t0(),
        until: None,
    };
    host.ok(Command::PlaceHold { hold }, &support());
    let mut ticks = 0;
    while let Some(at) = host.state().next_tick(&host.policy) {
        host.now = at;
        let step = host.ok(Command::Tick, &system());
        assert!(step.effects.is_empty(), "nothing is purged under the hold");
        ticks += 1;
        assert!(
            ticks <= RecordClass::ALL.len() + 1,
            "the host keeps being woken for nothing (once per purge date, once for the statutory deadline)"
        );
    }
    assert_eq!(host.phase(), PhaseKind::Closed);
}

/// Regression tests for the holds, retention and point-of-no-return issue,
/// each written from its reproduction.
mod holds;

/// The host loop in core.
mod driving;

/// What was confirmed is what runs: the frozen plan, the policy pin, effect
/// identity, authority by requester, co-owners and refunds.
mod confirmed;
