//! The authorization matrix: every command against every kind of actor,
//! each from a state where the command is valid for its phase, so that a
//! refusal can only be about who is asking. The table is also in RELIABILITY.md.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use offboard::machine::{
    step, ClosureState, Command, CommandKind, Context, Driver, Outcome, PhaseKind, RequestReason,
};
use offboard::model::{ActorRelation, ActorRole, LegalHold, LegalHoldId, UserId};
use offboard::{Actor, ClosurePolicy, Snapshot};
use serde_json::json;

const NOW: &str = "2026-11-23T10:00:00Z";

/// The account: SSO-managed (super admin u_sso), owner of a team where u_member
/// is a member and u_admin an admin.
fn snapshot(status: &str) -> Snapshot {
    serde_json::from_value(json!({
        "schema_version": 1,
        "taken_at": NOW,
        "account": {"id": "u_owner", "email": "owner@example.com", "display_name": "Owner",
                    "kind": {"type": "self_serve"},
                    "identity": {"type": "sso", "provider": "okta", "super_admin": "u_sso"},
                    "status": status},
        "tenants": [{"id": "t", "name": "Team", "primary_owner": "u_owner", "members": [
            {"user": "u_owner", "role": "owner"}, {"user": "u_member", "role": "member"}, {"user": "u_admin", "role": "admin"}]}]
    }))
    .unwrap()
}

fn at() -> chrono::DateTime<chrono::Utc> {
    NOW.parse().unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Owner,
    AnotherMember,
    TenantAdmin,
    SsoSuperAdmin,
    Support,
    Stranger,
    SuspendedOwner,
    StaleOwner,
    System,
}

const EVERYONE: [Who; 9] = [
    Who::Owner,
    Who::AnotherMember,
    Who::TenantAdmin,
    Who::SsoSuperAdmin,
    Who::Support,
    Who::Stranger,
    Who::SuspendedOwner,
    Who::StaleOwner,
    Who::System,
];

/// Who made the request the closure is on (or none: an idle closure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Nobody,
    Holder,
    SsoSuperAdmin,
    Support,
    System,
}

const REQUESTERS: [By; 5] = [
    By::Nobody,
    By::Holder,
    By::SsoSuperAdmin,
    By::Support,
    By::System,
];

impl By {
    fn actor(self) -> Option<Who> {
        match self {
            By::Nobody => None,
            By::Holder => Some(Who::Owner),
            By::SsoSuperAdmin => Some(Who::SsoSuperAdmin),
            By::Support => Some(Who::Support),
            By::System => Some(Who::System),
        }
    }

    fn name(self) -> &'static str {
        match self {
            By::Nobody => "nobody (idle)",
            By::Holder => "the holder",
            By::SsoSuperAdmin => "its SSO super admin",
            By::Support => "support",
            By::System => "the system (inactivity)",
        }
    }
}

fn actor(who: Who) -> Actor {
    let user = |id: &str| Actor {
        id: UserId::new(id).unwrap(),
        role: ActorRole::User,
        reauthenticated_at: Some(at()),
    };
    match who {
        Who::Owner | Who::SuspendedOwner => user("u_owner"),
        Who::AnotherMember => user("u_member"),
        Who::TenantAdmin => user("u_admin"),
        Who::SsoSuperAdmin => user("u_sso"),
        Who::Support => Actor {
            role: ActorRole::SupportOperator,
            ..user("ops_1")
        },
        Who::Stranger => user("u_stranger"),
        Who::StaleOwner => Actor {
            reauthenticated_at: Some(at() - chrono::TimeDelta::hours(2)),
            ..user("u_owner")
        },
        Who::System => system(),
    }
}

/// The request `who` makes: the system gives its reason.
fn request_by(who: Who) -> Command {
    Command::Request {
        feedback: None,
        token_digest: None,
        reason: (who == Who::System).then_some(RequestReason::Inactivity),
    }
}

fn system() -> Actor {
    Actor {
        id: UserId::new("worker").unwrap(),
        role: ActorRole::System,
        reauthenticated_at: None,
    }
}

fn hold() -> LegalHold {
    serde_json::from_value(
        json!({"id": "lh_1", "classes": ["content"], "reason": "litigation",
        "placed_by": "ops_1", "placed_at": NOW}),
    )
    .unwrap()
}

/// The cascade preset with a grace period, so states before execution
/// exist, and closures of inactive accounts by the system allowed.
fn policy() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 7;
    policy.lifecycle.reminder_days_before = vec![1];
    policy.authorization.inactivity_closure = true;
    policy
}

/// The policy a closure prepared for `migrate_policy` was confirmed under.
fn earlier_policy() -> ClosurePolicy {
    let mut policy = policy();
    policy.lifecycle.reminder_days_before = vec![2];
    policy
}

/// Drives a fresh closure through the core's host loop to the phase where
/// `command` applies, on a request made by `by` (none for a request from
/// idle); returns the state and the command to try.
fn prepared(kind: CommandKind, by: By) -> (ClosureState, Command) {
    let policy = if kind == CommandKind::MigratePolicy {
        earlier_policy()
    } else {
        policy()
    };
    let snapshot = snapshot("active");
    let mut driver = Driver::new(ClosureState::new("cl", UserId::new("u_owner").unwrap()).unwrap());
    let run = |driver: &mut Driver, command: Command, actor: &Actor, now| {
        let ctx = Context {
            now,
            actor,
            policy: &policy,
            snapshot: Some(&snapshot),
            audit_key: None,
        };
        let _accepted = driver
            .handle(&command, &ctx)
            .expect("each step on the way is accepted");
    };
    let confirm = Command::Confirm {
        value: "owner@example.com".into(),
    };
    if let Some(requester) = by.actor() {
        run(&mut driver, request_by(requester), &actor(requester), at());
        if !matches!(
            kind,
            CommandKind::Request
                | CommandKind::Confirm
                | CommandKind::ExtendDeadline
                | CommandKind::PlaceHold
                | CommandKind::ReleaseHold
        ) {
            run(&mut driver, confirm.clone(), &actor(requester), at());
        }
    }
    let command = match kind {
        CommandKind::Request => Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        CommandKind::Confirm => confirm,
        CommandKind::ExtendDeadline => Command::ExtendDeadline,
        CommandKind::Cancel => Command::Cancel,
        CommandKind::Tick => Command::Tick,
        CommandKind::MigratePolicy => Command::MigratePolicy {
            from: earlier_policy().fingerprint(),
        },
        CommandKind::ReportOutcome => {
            // The confirmation's notice is due: report it.
            let due = driver
                .poll_effect()
                .expect("the confirmation issues effects");
            Command::ReportOutcome {
                effect: due.id,
                outcome: Outcome::Succeeded,
            }
        }
        CommandKind::Retry | CommandKind::Abort => {
            // The host ticks when told (the reminder, then the end of the
            // grace period): the first stage is issued; its first effect
            // fails for good.
            let mut later = at();
            for _ in 0..3 {
                if driver.state().phase.kind() != PhaseKind::Scheduled {
                    break;
                }
                later = driver
                    .poll_timeout(&policy)
                    .expect("a scheduled closure names its tick");
                run(&mut driver, Command::Tick, &system(), later);
            }
            assert_eq!(driver.state().phase.kind(), PhaseKind::Executing);
            let due: Vec<_> = std::iter::from_fn(|| driver.poll_effect()).collect();
            let state = driver.state();
            let staged = |id: &_| {
                state
                    .effects
                    .iter()
                    .any(|r| &r.effect.id == id && r.stage.is_some())
            };
            let first = due
                .into_iter()
                .find(|e| staged(&e.id))
                .expect("the first stage is due");
            run(
                &mut driver,
                Command::ReportOutcome {
                    effect: first.id,
                    outcome: Outcome::PermanentFailure {
                        reason: "down".into(),
                    },
                },
                &system(),
                later,
            );
            assert_eq!(driver.state().phase.kind(), PhaseKind::Failed);
            if kind == CommandKind::Retry {
                Command::Retry
            } else {
                Command::Abort
            }
        }
        CommandKind::PlaceHold => Command::PlaceHold { hold: hold() },
        CommandKind::ReleaseHold => {
            run(
                &mut driver,
                Command::PlaceHold { hold: hold() },
                &actor(Who::Support),
                at(),
            );
            Command::ReleaseHold {
                hold: LegalHoldId::new("lh_1").unwrap(),
            }
        }
        other => panic!("no command built for {other:?}: add it to this test"),
    };
    (driver.into_state(), command)
}

/// How `who` stands towards the account.
fn relation(who: Who) -> ActorRelation {
    match who {
        Who::Owner | Who::SuspendedOwner | Who::StaleOwner => ActorRelation::Holder,
        Who::SsoSuperAdmin => ActorRelation::SsoSuperAdmin,
        Who::Support => ActorRelation::SupportOperator,
        Who::System => ActorRelation::System,
        Who::AnotherMember | Who::TenantAdmin | Who::Stranger => ActorRelation::Unrelated,
    }
}

/// The rule, written out independently of the machine's: a request belongs
/// to its requester's authority. Support acts on anyone's; an SSO super
/// admin on the holder's; everyone else only on their own.
fn over(requester: By, who: Who) -> bool {
    let Some(requester) = requester.actor() else {
        return true;
    };
    let (r, w) = (relation(requester), relation(who));
    w == ActorRelation::SupportOperator
        || w == r
        || (w == ActorRelation::SsoSuperAdmin && r == ActorRelation::Holder)
}

fn expected(kind: CommandKind, by: By, who: Who) -> Result<(), &'static str> {
    use CommandKind as C;
    use Who as W;
    let may_close = matches!(
        who,
        W::Owner | W::SsoSuperAdmin | W::Support | W::SuspendedOwner | W::StaleOwner | W::System
    );
    match kind {
        // Requesting and confirming re-assess: a suspended owner or a stale
        // sign-in is blocked (the system signs in to nothing, so no stale
        // sign-in for it).
        C::Request | C::Confirm if may_close && over(by, who) => match who {
            W::SuspendedOwner | W::StaleOwner => Err("blocked"),
            _ => Ok(()),
        },
        C::Cancel if may_close && over(by, who) => Ok(()),
        C::Request | C::Confirm | C::Cancel => Err("not_allowed"),
        C::Tick | C::ReportOutcome => {
            if matches!(who, W::Support | W::System) {
                Ok(())
            } else {
                Err("not_allowed")
            }
        }
        C::Retry
        | C::Abort
        | C::PlaceHold
        | C::ReleaseHold
        | C::ExtendDeadline
        | C::MigratePolicy => {
            if matches!(who, W::Support) {
                Ok(())
            } else {
                Err("not_allowed")
            }
        }
        other => panic!("no expectation for {other:?}: add it to this test"),
    }
}

const KINDS: [CommandKind; 11] = CommandKind::ALL;

/// Runs `kind` by `who` on a closure requested by `by`.
fn attempt(kind: CommandKind, by: By, who: Who) -> Result<(), &'static str> {
    let policy = policy();
    let (state, mut command) = prepared(kind, by);
    assert_eq!(command.kind(), kind);
    if kind == CommandKind::Request {
        command = request_by(who);
    }
    let snapshot = snapshot(if who == Who::SuspendedOwner {
        "suspended"
    } else {
        "active"
    });
    let actor = actor(who);
    let before = serde_json::to_string(&state).unwrap();
    let now = state.clock.unwrap_or_else(at);
    let ctx = Context {
        now,
        actor: &actor,
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: None,
    };
    let got = step(&state, &command, &ctx)
        .map(|_| ())
        .map_err(|e| e.code().as_str());
    assert_eq!(
        serde_json::to_string(&state).unwrap(),
        before,
        "the state is never changed in place"
    );
    got
}

/// Which requesters a command's outcome depends on: only those that act on
/// a request do; the others are checked under every requester all the same.
fn depends_on_requester(kind: CommandKind) -> bool {
    matches!(
        kind,
        CommandKind::Request | CommandKind::Confirm | CommandKind::Cancel
    )
}

#[test]
fn every_command_by_every_actor_on_every_requesters_closure() {
    let mut checked = 0;
    for by in REQUESTERS {
        for kind in KINDS {
            // A closure in its phase needs a request first, but for a
            // request from idle.
            if by == By::Nobody && kind != CommandKind::Request {
                continue;
            }
            for who in EVERYONE {
                assert_eq!(
                    attempt(kind, by, who),
                    expected(kind, by, who),
                    "{} by {who:?} on a closure requested by {}",
                    kind.as_str(),
                    by.name()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * (1 + 4 * KINDS.len()));
}

#[test]
fn without_the_policy_the_system_may_not_close_an_inactive_account() {
    let mut policy = policy();
    policy.authorization.inactivity_closure = false;
    let snapshot = snapshot("active");
    let state = ClosureState::new("cl", UserId::new("u_owner").unwrap()).unwrap();
    let ctx = Context {
        now: at(),
        actor: &system(),
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: None,
    };
    let err = step(&state, &request_by(Who::System), &ctx).unwrap_err();
    assert_eq!(err.code().as_str(), "not_allowed");
}

/// The table in RELIABILITY.md is this matrix: rendered here and looked up
/// there, so the documentation cannot drift from the behaviour.
#[test]
fn the_documented_matrix_is_the_behaviour() {
    let mut table = String::from(
        "| command | requested by | owner | another member | tenant admin | SSO super admin | support | stranger | suspended owner | stale owner | system |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for kind in KINDS {
        let requesters: Vec<By> = if depends_on_requester(kind) {
            REQUESTERS
                .into_iter()
                .filter(|by| *by != By::Nobody || kind == CommandKind::Request)
                .collect()
        } else {
            vec![By::Holder]
        };
        for by in requesters {
            let cells: Vec<&str> = EVERYONE
                .iter()
                .map(|who| attempt(kind, by, *who).err().unwrap_or("ok"))
                .collect();
            let whom = if depends_on_requester(kind) {
                by.name()
            } else {
                "anyone"
            };
            table.push_str(&format!(
                "| {} | {whom} | {} |\n",
                kind.as_str(),
                cells.join(" | ")
            ));
        }
    }
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../RELIABILITY.md")).unwrap();
    assert!(
        doc.contains(&table),
        "RELIABILITY.md's authorization matrix differs from the behaviour; it is:\n{table}"
    );
}
