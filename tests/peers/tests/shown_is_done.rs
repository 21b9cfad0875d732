//! What is shown is what is done, over random snapshots and policies: the
//! consequences and warnings an assessment shows before confirmation, and
//! the plan effects the machine then performs, correspond one to one, both
//! ways, dates included.
//!
//! The snapshots, actors and policies are the oracle's draws
//! (`offboard_peers::cases`), with the billing disposition varied on top so
//! that refunds and credits occur. Each closable case is requested and
//! confirmed as the actor drawn, then run by a fair host on the core's
//! `Driver` to its end.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use offboard::assess::WarningCode;
use offboard::machine::{ClosureState, Command, Context, Driver, Host, Outcome, PhaseKind};
use offboard::model::UserId;
use offboard::plan::{Action, Effect};
use offboard::policy::{CancelTiming, ConfirmationMethod, UnusedTime};
use offboard::{assess, Actor, ClosurePolicy, Snapshot};
use offboard_peers::cases::Raw;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// Performs every effect; the account is gone once deleted.
struct Fair {
    snapshot: Option<Snapshot>,
    performed: Vec<Action>,
}

impl Host for Fair {
    fn perform(&mut self, effect: &Effect) -> Outcome {
        if effect.action == Action::DeleteAccount {
            self.snapshot = None;
        }
        self.performed.push(effect.action.clone());
        Outcome::Succeeded
    }
    fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
}

/// Whether an action is one the consequences promise (not a notice, a
/// restore after a cancel, or a purge, which retention governs).
fn promised_kind(action: &Action) -> bool {
    !matches!(
        action,
        Action::Notify { .. } | Action::RestoreAccess | Action::Purge { .. }
    )
}

/// Runs one case; returns whether it was closable (and so was checked).
/// With `clear`, the case is first made closable: the holder acts, signed in
/// just now, on an active self-service account, and every condition the
/// draw made blocking takes the cascade preset's rule (an open dispute only
/// warns), so most of the draw's variety reaches execution.
fn check(raw: &Raw, billing: (bool, u8), clear: bool) -> bool {
    let case = raw.build().unwrap();
    let mut snapshot = Snapshot::from_json(&case.snapshot).unwrap();
    let mut actor: Actor = serde_json::from_str(&case.actor).unwrap();
    let mut policy = ClosurePolicy::from_json(&case.policy).unwrap();
    let now: chrono::DateTime<chrono::Utc> = case.now.parse().unwrap();
    if clear {
        snapshot.account.status = offboard::model::AccountStatus::Active;
        actor = Actor::holder(&snapshot.account, now);
        policy.authorization.contract_accounts = offboard::policy::ContractRule::SelfService;
        policy.authorization.sso_accounts = offboard::policy::SsoRule::SelfService;
        let cascade = ClosurePolicy::cascade();
        for condition in offboard::policy::Condition::ALL {
            if *policy.conditions.rule_mut(condition) == offboard::Rule::Block {
                let mut preset = cascade.conditions;
                let rule = match *preset.rule_mut(condition) {
                    offboard::Rule::Block => offboard::Rule::Warn,
                    other => other,
                };
                *policy.conditions.rule_mut(condition) = rule;
            }
        }
        policy.shared_tenants = offboard::policy::SharedTenantRule::DeleteAndRemoveMembers;
    }
    policy.billing.cancel = if billing.0 {
        CancelTiming::Immediately
    } else {
        CancelTiming::AtPeriodEnd
    };
    policy.billing.unused_time =
        [UnusedTime::None, UnusedTime::Credit, UnusedTime::Refund][usize::from(billing.1 % 3)];
    // A grace period (with an invoice window and a quarantine counted from
    // its end) in two thirds of the cases, so dates are checked too.
    policy.grace_period_days = [0, 3, 14][usize::from(billing.1 / 3 % 3)];
    policy.invoice_download_days = 30;
    if policy.validate().is_err() {
        return false;
    }
    let Ok(shown) = assess(&snapshot, &actor, &policy, now) else {
        return false;
    };
    if !shown.can_close {
        return false;
    }
    let c = &shown.consequences;

    // What the consequences promise, written out from each of their fields.
    let mut promised: Vec<Action> = Vec::new();
    if c.locked_on_confirmation {
        promised.extend([Action::RevokeSessions, Action::BlockWrites]);
        assert!(shown
            .warnings
            .iter()
            .any(|w| w.code == WarningCode::SignedOutOnConfirmation));
    }
    promised.extend(
        c.subscriptions_cancelled
            .iter()
            .map(|s| Action::CancelSubscription {
                subscription: s.subscription.clone(),
                timing: s.timing,
                unused_time: s.unused_time,
            }),
    );
    promised.extend(
        c.auto_renew_disabled
            .iter()
            .map(|d| Action::DisableAutoRenew { domain: d.clone() }),
    );
    promised.extend(c.credits_refunded.iter().map(|r| Action::RefundCredit {
        tenant: r.tenant.clone(),
        amount: r.amount,
        currency: r.currency,
    }));
    promised.extend(
        c.primary_ownership_transferred
            .iter()
            .map(|t| Action::TransferPrimaryOwner {
                tenant: t.tenant.clone(),
                to: t.to.clone(),
            }),
    );
    promised.extend(
        c.domains_released
            .iter()
            .map(|d| Action::ReleaseDomain { domain: d.clone() }),
    );
    promised.extend(
        c.tenants_deleted
            .iter()
            .filter(|t| !t.members_removed.is_empty())
            .map(|t| Action::RemoveMembers {
                tenant: t.tenant.clone(),
                users: t.members_removed.clone(),
            }),
    );
    promised.extend(
        c.tenants_left
            .iter()
            .map(|t| Action::LeaveTenant { tenant: t.clone() }),
    );
    promised.extend(c.tenants_deleted.iter().map(|t| Action::DeleteTenant {
        tenant: t.tenant.clone(),
    }));
    promised.extend(
        c.payment_methods_deleted
            .iter()
            .map(|p| Action::DeletePaymentMethod {
                payment_method: p.clone(),
            }),
    );
    if c.invoices.count > 0 {
        promised.push(Action::PublishInvoiceArchive {
            count: c.invoices.count,
            until: c.invoices.downloadable_until,
        });
    }
    promised.push(Action::QuarantineIdentifiers {
        until: c.identifiers_reusable_at,
    });
    promised.push(Action::DeleteAccount);

    // The warnings that promise an action name it, and the counts count them.
    for warning in &shown.warnings {
        match warning.code {
            WarningCode::CreditBalance if warning.message.ends_with("is refunded.") => {
                assert!(
                    promised
                        .iter()
                        .any(|a| matches!(a, Action::RefundCredit { .. })),
                    "a refund is promised and none is planned: {warning:?}"
                );
            }
            WarningCode::CoMembersLoseAccess => {
                assert!(promised
                    .iter()
                    .any(|a| matches!(a, Action::RemoveMembers { .. })));
            }
            _ => {}
        }
    }
    let refunds_warned = shown
        .warnings
        .iter()
        .filter(|w| w.code == WarningCode::CreditBalance && w.message.ends_with("is refunded."))
        .count();
    assert_eq!(refunds_warned as u64, c.counts.credits_refunded);
    assert_eq!(c.counts.tenants_deleted as usize, c.tenants_deleted.len());

    // Request, confirm and run it.
    let mut driver =
        Driver::new(ClosureState::new("cl_prop", snapshot.account.id.clone()).unwrap());
    let ctx = Context {
        now,
        actor: &actor,
        policy: &policy,
        snapshot: Some(&snapshot),
        audit_key: None,
    };
    let token = "a-token-for-this-closure";
    let token_digest = match policy.confirmation.method {
        ConfirmationMethod::Token { .. } => Some(offboard::audit::digest_hex(token.as_bytes())),
        ConfirmationMethod::TypedPhrase { .. } => None,
    };
    let confirmation = match &policy.confirmation.method {
        ConfirmationMethod::Token { .. } => token.to_owned(),
        ConfirmationMethod::TypedPhrase { phrase } => match phrase {
            offboard::policy::Phrase::Email => snapshot.account.email.to_string(),
            offboard::policy::Phrase::DisplayName => snapshot.account.display_name.clone(),
            offboard::policy::Phrase::Fixed(text) => text.clone(),
        },
    };
    let request = Command::Request {
        feedback: None,
        token_digest,
        reason: (actor.role == offboard::ActorRole::System)
            .then_some(offboard::machine::RequestReason::Inactivity),
    };
    let _requested = driver
        .handle(&request, &ctx)
        .expect("a closable case may be requested");
    let _confirmed = driver
        .handle(
            &Command::Confirm {
                value: confirmation,
            },
            &ctx,
        )
        .expect("and confirmed");
    let mut host = Fair {
        snapshot: Some(snapshot.clone()),
        performed: Vec::new(),
    };
    let worker = Actor::system_as(UserId::new("worker").unwrap());
    let end = now + chrono::TimeDelta::days(4000);
    driver
        .drive(&mut host, &worker, &policy, now, end, 20_000)
        .unwrap();
    // The snapshot never changed, so the plan cannot have grown. It may
    // halt only on something time brought (a hold dated to start during
    // the grace period, under a policy that blocks on holds).
    if let offboard::machine::Phase::Halted { blockers, .. } = &driver.state().phase {
        assert!(
            blockers
                .iter()
                .all(|b| b.code == offboard::BlockerCode::LegalHold),
            "halted on an unchanged snapshot: {blockers:?}"
        );
        return false;
    }
    // Purged, or closed with open-ended holds keeping what they cover.
    let phase = driver.state().phase.kind();
    assert!(
        phase == PhaseKind::Purged
            || (phase == PhaseKind::Closed
                && driver
                    .waiting(&policy)
                    .iter()
                    .any(|w| matches!(w, offboard::machine::Waiting::Holds { .. }))),
        "{phase:?}, waiting for {:?}",
        driver.waiting(&policy)
    );

    let mut done: Vec<Action> = host.performed.into_iter().filter(promised_kind).collect();
    let key = |a: &Action| serde_json::to_string(a).unwrap();
    promised.sort_by_key(key);
    done.sort_by_key(key);
    assert_eq!(done, promised, "what was done differs from what was shown");
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]
    #[test]
    fn what_is_shown_is_what_is_done(
        raw in Raw::strategy(),
        timing in any::<bool>(),
        unused in any::<u8>(),
        clear in any::<bool>(),
    ) {
        check(&raw, (timing, unused), clear);
    }
}

/// A fixed draw, so the property is known to bite: enough closable cases,
/// with refunds, co-owner transfers, deleted tenants and removed members.
#[test]
fn the_draw_reaches_closable_cases_of_every_kind() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (Raw::strategy(), any::<bool>(), any::<u8>());
    let (mut checked, mut refunds, mut transfers, mut removals) = (0, 0, 0, 0);
    for _ in 0..600 {
        let (raw, timing, unused) = strategy.new_tree(&mut runner).unwrap().current();
        if check(&raw, (timing, unused), true) {
            checked += 1;
            let case = raw.build().unwrap();
            let text = case.snapshot;
            refunds += usize::from(text.contains("\"balance\":{\"amount\":") && unused % 3 == 2);
            transfers += usize::from(text.contains("\"role\":\"owner\""));
            removals += usize::from(text.contains("\"members\":["));
        }
    }
    assert!(checked >= 300, "only {checked} closable cases in 600");
    assert!(
        refunds > 0 && transfers > 0 && removals > 0,
        "{refunds} {transfers} {removals}"
    );
}
