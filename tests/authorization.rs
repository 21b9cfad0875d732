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
    step, ClosureState, Command, CommandKind, Context, Driver, Outcome, PhaseKind,
};
use offboard::model::{ActorRole, LegalHold, LegalHoldId, UserId};
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

#[derive(Clone, Copy, Debug)]
enum Who {
    Owner,
    AnotherMember,
    TenantAdmin,
    SsoSuperAdmin,
    Support,
    Stranger,
    SuspendedOwner,
    StaleOwner,
}

const EVERYONE: [Who; 8] = [
    Who::Owner,
    Who::AnotherMember,
    Who::TenantAdmin,
    Who::SsoSuperAdmin,
    Who::Support,
    Who::Stranger,
    Who::SuspendedOwner,
    Who::StaleOwner,
];

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

/// The cascade preset with a grace period, so states before execution exist.
fn policy() -> ClosurePolicy {
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 7;
    policy.lifecycle.reminder_days_before = vec![1];
    policy
}

/// Drives a fresh closure, as the owner and the system, through the core's
/// host loop to the phase where `command` applies; returns the state and the
/// command to try.
fn prepared(kind: CommandKind) -> (ClosureState, Command) {
    let policy = policy();
    let snapshot = snapshot("active");
    let owner = actor(Who::Owner);
    let mut driver = Driver::new(ClosureState::new("cl", UserId::new("u_owner").unwrap()).unwrap());
    let run = |driver: &mut Driver, command: Command, actor: &Actor, now| {
        let ctx = Context {
            now,
            actor,
            policy: &policy,
            snapshot: Some(&snapshot),
        };
        let _accepted = driver
            .handle(&command, &ctx)
            .expect("each step on the way is accepted");
    };
    let request = Command::Request {
        feedback: None,
        token_digest: None,
    };
    let confirm = Command::Confirm {
        value: "owner@example.com".into(),
    };
    let command = match kind {
        CommandKind::Request => request,
        CommandKind::Confirm => {
            run(&mut driver, request, &owner, at());
            confirm
        }
        CommandKind::ExtendDeadline => {
            run(&mut driver, request, &owner, at());
            Command::ExtendDeadline
        }
        CommandKind::Cancel | CommandKind::Tick | CommandKind::ReportOutcome => {
            run(&mut driver, request, &owner, at());
            run(&mut driver, confirm, &owner, at());
            match kind {
                CommandKind::Cancel => Command::Cancel,
                CommandKind::Tick => Command::Tick,
                _ => {
                    // The confirmation's notice is due: report it.
                    let due = driver
                        .poll_effect()
                        .expect("the confirmation issues effects");
                    Command::ReportOutcome {
                        effect: due.id,
                        outcome: Outcome::Succeeded,
                    }
                }
            }
        }
        CommandKind::Retry | CommandKind::Abort => {
            run(&mut driver, request, &owner, at());
            run(&mut driver, confirm, &owner, at());
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
    };
    (driver.into_state(), command)
}

fn expected(kind: CommandKind, who: Who) -> Result<(), &'static str> {
    use CommandKind as C;
    use Who as W;
    let holder_side = matches!(
        who,
        W::Owner | W::SsoSuperAdmin | W::Support | W::SuspendedOwner | W::StaleOwner
    );
    match kind {
        // Requesting and confirming re-assess: a suspended owner or a stale sign-in is blocked.
        C::Request | C::Confirm => match who {
            W::Owner | W::SsoSuperAdmin | W::Support => Ok(()),
            W::SuspendedOwner | W::StaleOwner => Err("blocked"),
            W::AnotherMember | W::TenantAdmin | W::Stranger => Err("not_allowed"),
        },
        // Cancelling is always safe for whoever may close the account.
        C::Cancel if holder_side => Ok(()),
        C::Cancel => Err("not_allowed"),
        C::Tick
        | C::ReportOutcome
        | C::Retry
        | C::Abort
        | C::PlaceHold
        | C::ReleaseHold
        | C::ExtendDeadline => {
            if matches!(who, W::Support) {
                Ok(())
            } else {
                Err("not_allowed")
            }
        }
    }
}

#[test]
fn every_command_against_every_actor() {
    let kinds = [
        CommandKind::Request,
        CommandKind::Confirm,
        CommandKind::Cancel,
        CommandKind::Tick,
        CommandKind::ReportOutcome,
        CommandKind::Retry,
        CommandKind::Abort,
        CommandKind::PlaceHold,
        CommandKind::ReleaseHold,
        CommandKind::ExtendDeadline,
    ];
    let policy = policy();
    let mut checked = 0;
    for kind in kinds {
        let (state, command) = prepared(kind);
        assert_eq!(command.kind(), kind);
        for who in EVERYONE {
            let snapshot = snapshot(if matches!(who, Who::SuspendedOwner) {
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
            };
            let got = step(&state, &command, &ctx)
                .map(|_| ())
                .map_err(|e| e.code().as_str());
            assert_eq!(got, expected(kind, who), "{} by {who:?}", kind.as_str());
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                before,
                "the state is never changed in place"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 80);
}

#[test]
fn the_system_actor_may_only_tick_and_report() {
    let policy = policy();
    let snapshot = snapshot("active");
    for kind in [
        CommandKind::Request,
        CommandKind::Tick,
        CommandKind::ReportOutcome,
        CommandKind::Retry,
        CommandKind::Cancel,
    ] {
        let (state, command) = prepared(kind);
        let now = state.clock.unwrap_or_else(at);
        let ctx = Context {
            now,
            actor: &system(),
            policy: &policy,
            snapshot: Some(&snapshot),
        };
        let allowed = step(&state, &command, &ctx).is_ok();
        assert_eq!(
            allowed,
            matches!(kind, CommandKind::Tick | CommandKind::ReportOutcome),
            "{}",
            kind.as_str()
        );
    }
}
