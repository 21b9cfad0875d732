//! Unit tests of the blocker rules and consequences. Each blocker code is
//! shown present and absent; each consequence is checked against its rule.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use super::*;
use crate::model::{ActorRelation, ActorRole, RecordClass, TenantId, UserId};
use crate::policy::{CancelTiming, IdentifierReuse, Period, Rule, SharedTenantRule, UnusedTime};
use crate::ClosurePolicy;

fn now() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

/// A clean self-serve account that nothing blocks under any policy.
fn base() -> Value {
    json!({
        "schema_version": 1,
        "taken_at": "2026-11-23T09:00:00Z",
        "account": {
            "id": "u_a", "email": "a@example.com", "display_name": "A",
            "kind": {"type": "self_serve"}, "identity": {"type": "password"}, "status": "active"
        }
    })
}

fn snapshot(value: Value) -> Snapshot {
    serde_json::from_value(value).unwrap()
}

fn holder() -> Actor {
    Actor {
        id: UserId::new("u_a").unwrap(),
        role: ActorRole::User,
        reauthenticated_at: Some(now()),
    }
}

fn actor(id: &str, role: ActorRole) -> Actor {
    Actor {
        id: UserId::new(id).unwrap(),
        role,
        reauthenticated_at: Some(now()),
    }
}

fn run(value: Value, actor: &Actor, policy: &ClosurePolicy) -> Assessment {
    assess(&snapshot(value), actor, policy, now()).unwrap()
}

fn codes(report: &Assessment) -> Vec<BlockerCode> {
    report.blockers.iter().map(|b| b.code).collect()
}

/// The warnings about the account's facts (the one every locking policy
/// gives, `signed_out_on_confirmation`, has its own test).
fn warnings(report: &Assessment) -> Vec<WarningCode> {
    report
        .warnings
        .iter()
        .map(|w| w.code)
        .filter(|c| *c != WarningCode::SignedOutOnConfirmation)
        .collect()
}

#[test]
fn a_policy_that_locks_on_confirmation_says_so() {
    let report = run(base(), &holder(), &strict());
    assert!(report.consequences.locked_on_confirmation);
    assert!(report
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::SignedOutOnConfirmation));
    let report = run(base(), &holder(), &ClosurePolicy::cascade());
    assert!(!report.consequences.locked_on_confirmation);
    assert!(!report
        .warnings
        .iter()
        .any(|w| w.code == WarningCode::SignedOutOnConfirmation));
}

fn strict() -> ClosurePolicy {
    ClosurePolicy::prerequisite()
}

fn with(mut value: Value, key: &str, items: Value) -> Value {
    value[key] = items;
    value
}

/// A tenant owned by u_a with `others` extra members.
fn tenant(id: &str, owner: &str, others: &[&str]) -> Value {
    let mut members = vec![json!({"user": owner, "role": "owner"})];
    if owner != "u_a" {
        members.push(json!({"user": "u_a", "role": "member"}));
    }
    members.extend(others.iter().map(|u| json!({"user": u, "role": "member"})));
    json!({"id": id, "name": format!("Tenant {id}"), "primary_owner": owner, "members": members})
}

#[test]
fn a_clean_account_can_close_under_both_presets() {
    for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
        let report = run(base(), &holder(), &policy);
        assert!(report.can_close, "{policy:?}: {:?}", report.blockers);
        assert!(report.blockers.is_empty());
        assert_eq!(report.actor_relation, ActorRelation::Holder);
        assert_eq!(report.policy, policy.name);
    }
}

#[test]
fn actor_not_allowed() {
    let stranger = actor("u_stranger", ActorRole::User);
    let report = run(base(), &stranger, &strict());
    assert_eq!(codes(&report), [BlockerCode::ActorNotAllowed]);
    assert_eq!(report.actor_relation, ActorRelation::Unrelated);
    assert_eq!(
        report.blockers[0].subject,
        Subject::Actor {
            id: stranger.id.clone()
        }
    );
    assert_eq!(
        report.blockers[0].remedy.action,
        RemedyAction::AskAccountHolder
    );
    let support = actor("u_ops", ActorRole::SupportOperator);
    assert!(run(base(), &support, &strict()).can_close);
}

/// The host's system closes an account only for inactivity, and only
/// where the policy allows that.
#[test]
fn the_system_may_close_only_where_the_policy_allows_inactivity_closures() {
    let system = actor("sys_inactivity", ActorRole::System);
    let mut policy = strict();
    policy.authorization.inactivity_closure = false;
    let report = run(base(), &system, &policy);
    assert_eq!(report.actor_relation, ActorRelation::System);
    assert_eq!(codes(&report), [BlockerCode::ActorNotAllowed]);
    policy.authorization.inactivity_closure = true;
    let report = run(base(), &system, &policy);
    assert!(report.can_close, "{:?}", codes(&report));
}

#[test]
fn account_status_blockers() {
    let support = actor("u_ops", ActorRole::SupportOperator);
    for (status, code) in [
        ("suspended", BlockerCode::AccountSuspended),
        ("locked", BlockerCode::AccountLocked),
    ] {
        let mut value = base();
        value["account"]["status"] = json!(status);
        let report = run(value.clone(), &holder(), &strict());
        assert_eq!(codes(&report), [code]);
        assert_eq!(report.blockers[0].remedy.by, Responsible::Support);
        // Support may close a suspended or locked account.
        assert!(run(value, &support, &strict()).can_close, "{status}");
    }
    let mut closed = base();
    closed["account"]["status"] = json!("closed");
    assert_eq!(
        codes(&run(closed.clone(), &holder(), &strict())),
        [BlockerCode::AccountClosed]
    );
    assert_eq!(
        codes(&run(closed, &support, &strict())),
        [BlockerCode::AccountClosed]
    );
}

#[test]
fn contract_account() {
    let mut value = base();
    value["account"]["kind"] = json!({"type": "contract", "customer_success": {"name": "Priya", "email": "p@platform.test"}});
    let report = run(value.clone(), &holder(), &strict());
    assert_eq!(codes(&report), [BlockerCode::ContractAccount]);
    let remedy = &report.blockers[0].remedy;
    assert_eq!(remedy.action, RemedyAction::ContactCustomerSuccess);
    match &remedy.by {
        Responsible::CustomerSuccess { contact } => assert_eq!(contact.email, "p@platform.test"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(remedy.message.contains("Priya"));
    // Customer success acts through a support operator; the cascade preset allows self-service.
    assert!(
        run(
            value.clone(),
            &actor("u_ops", ActorRole::SupportOperator),
            &strict()
        )
        .can_close
    );
    assert!(run(value, &holder(), &ClosurePolicy::cascade()).can_close);
}

#[test]
fn sso_managed() {
    let mut value = base();
    value["account"]["identity"] =
        json!({"type": "sso", "provider": "okta", "super_admin": "u_admin"});
    let report = run(value.clone(), &holder(), &strict());
    assert_eq!(codes(&report), [BlockerCode::SsoManaged]);
    assert_eq!(
        report.blockers[0].remedy.action,
        RemedyAction::AskSsoSuperAdmin
    );
    assert_eq!(
        report.blockers[0].remedy.by,
        Responsible::SsoSuperAdmin {
            user: UserId::new("u_admin").unwrap()
        }
    );
    let admin = actor("u_admin", ActorRole::User);
    let by_admin = run(value.clone(), &admin, &strict());
    assert_eq!(by_admin.actor_relation, ActorRelation::SsoSuperAdmin);
    assert!(by_admin.can_close);
    assert!(run(value, &holder(), &ClosurePolicy::cascade()).can_close);
}

#[test]
fn reauthentication_required() {
    let policy = strict(); // 15 minutes
    let at = |minutes_ago: i64| Actor {
        reauthenticated_at: Some(now() - TimeDelta::minutes(minutes_ago)),
        ..holder()
    };
    assert!(
        run(base(), &at(15), &policy).can_close,
        "exactly at the limit is still fresh"
    );
    let stale = run(base(), &at(16), &policy);
    assert_eq!(codes(&stale), [BlockerCode::ReauthenticationRequired]);
    assert_eq!(stale.blockers[0].remedy.by, Responsible::Actor);
    let never = Actor {
        reauthenticated_at: None,
        ..holder()
    };
    assert_eq!(
        codes(&run(base(), &never, &policy)),
        [BlockerCode::ReauthenticationRequired]
    );
    let mut relaxed = strict();
    relaxed.authorization.max_reauth_age_minutes = None;
    assert!(run(base(), &never, &relaxed).can_close);
}

fn hold(id: &str, classes: &[&str], placed: &str, until: Option<&str>) -> Value {
    json!({"id": id, "classes": classes, "reason": "litigation", "placed_by": "u_legal", "placed_at": placed, "until": until})
}

#[test]
fn legal_hold_blocks_or_warns_per_policy() {
    let value = with(
        base(),
        "legal_holds",
        json!([
            hold("lh_now", &["personal_data"], "2026-01-01T00:00:00Z", None),
            hold(
                "lh_expired",
                &["content"],
                "2025-01-01T00:00:00Z",
                Some("2026-01-01T00:00:00Z")
            ),
            hold("lh_future", &["content"], "2027-01-01T00:00:00Z", None),
        ]),
    );
    let mut blocking = strict();
    blocking.conditions.legal_hold = Rule::Block;
    let report = run(value.clone(), &holder(), &blocking);
    assert_eq!(codes(&report), [BlockerCode::LegalHold]);
    assert_eq!(
        report.blockers[0].subject,
        Subject::LegalHold {
            id: crate::model::LegalHoldId::new("lh_now").unwrap()
        }
    );
    assert!(
        !report.blockers[0].message.contains("litigation"),
        "hold reasons stay private"
    );
    let report = run(value, &holder(), &strict());
    assert!(report.can_close);
    assert_eq!(warnings(&report), [WarningCode::LegalHold]);
}

#[test]
fn retention_follows_policy_and_holds() {
    let value = with(
        base(),
        "legal_holds",
        json!([
            hold("lh_open", &["personal_data"], "2026-01-01T00:00:00Z", None),
            hold(
                "lh_until",
                &["invoices", "content"],
                "2026-01-01T00:00:00Z",
                Some("2040-06-30T00:00:00Z")
            ),
            hold(
                "lh_short",
                &["audit_log"],
                "2026-01-01T00:00:00Z",
                Some("2027-01-01T00:00:00Z")
            ),
        ]),
    );
    let report = run(value, &holder(), &strict());
    let c = &report.consequences;
    assert_eq!(
        c.personal_data_purge_due, None,
        "an open-ended hold keeps personal data"
    );
    let by_class = |class: RecordClass| c.retention.iter().find(|r| r.class == class).unwrap();
    assert_eq!(by_class(RecordClass::PersonalData).purge_due, None);
    assert_eq!(by_class(RecordClass::PersonalData).held_by.len(), 1);
    let until: DateTime<Utc> = "2040-06-30T00:00:00Z".parse().unwrap();
    assert_eq!(
        by_class(RecordClass::Content).purge_due,
        Some(until),
        "a hold past the schedule extends it"
    );
    assert_eq!(by_class(RecordClass::Invoices).purge_due, Some(until));
    // A hold ending before the schedule does not shorten it: audit log keeps its 2 years.
    assert_eq!(
        by_class(RecordClass::AuditLog).purge_due,
        Some("2028-11-23T10:00:00Z".parse().unwrap())
    );
    assert_eq!(c.retention.len(), RecordClass::ALL.len());

    let clean = run(base(), &holder(), &strict()).consequences;
    assert_eq!(
        clean.personal_data_purge_due,
        Some(now() + TimeDelta::days(365))
    );
    assert!(clean.retention.iter().all(|r| r.held_by.is_empty()));
}

#[test]
fn shared_tenant_owner_blocks_or_deletes_per_policy() {
    let value = with(
        base(),
        "tenants",
        json!([
            tenant("t_shared", "u_a", &["u_b", "u_c"]),
            tenant("t_solo", "u_a", &[]),
            tenant("t_theirs", "u_z", &["u_y"]),
        ]),
    );
    let value = with(
        value,
        "subscriptions",
        json!([
            {"id": "s_shared", "tenant": "t_shared", "plan": "Team", "status": "active", "current_period_end": "2027-01-01T00:00:00Z"},
            {"id": "s_theirs", "tenant": "t_theirs", "plan": "Team", "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}
        ]),
    );
    let mut blocking = ClosurePolicy::cascade();
    blocking.shared_tenants = SharedTenantRule::BlockUntilTransferred;
    let report = run(value.clone(), &holder(), &blocking);
    assert_eq!(codes(&report), [BlockerCode::SharedTenantOwner]);
    assert_eq!(
        report.blockers[0].subject,
        Subject::Tenant {
            id: crate::model::TenantId::new("t_shared").unwrap()
        }
    );
    assert!(report.blockers[0].message.contains("2 other member"));
    assert_eq!(
        report.blockers[0].remedy.action,
        RemedyAction::TransferTenantOwnership
    );
    // The shared tenant keeps its subscription once transferred; the solo one is deleted.
    let c = &report.consequences;
    assert!(c.subscriptions_cancelled.is_empty());
    assert_eq!(c.tenants_deleted.len(), 1);
    assert_eq!(c.tenants_deleted[0].tenant.as_str(), "t_solo");
    assert_eq!(
        c.tenants_left
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        ["t_theirs"]
    );

    let report = run(value, &holder(), &ClosurePolicy::cascade());
    assert!(report.can_close);
    let c = &report.consequences;
    let deleted: Vec<_> = c
        .tenants_deleted
        .iter()
        .map(|t| (t.tenant.as_str(), t.members_removed.len()))
        .collect();
    assert_eq!(deleted, [("t_shared", 2), ("t_solo", 0)]);
    assert_eq!(c.counts.members_removed, 2);
    assert_eq!(c.counts.tenants_left, 1);
    let cancelled: Vec<_> = c
        .subscriptions_cancelled
        .iter()
        .map(|s| s.subscription.as_str())
        .collect();
    assert_eq!(
        cancelled,
        ["s_shared"],
        "a tenant the account only leaves keeps its subscription"
    );
    // Only the tenant with other members warns that they lose access.
    let lose_access: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.code == WarningCode::CoMembersLoseAccess)
        .map(|w| w.subject.clone())
        .collect();
    assert_eq!(
        lose_access,
        [Subject::Tenant {
            id: TenantId::new("t_shared").unwrap()
        }]
    );
}

fn sub(id: &str, status: &str) -> Value {
    json!({"id": id, "plan": format!("plan {id}"), "status": status, "current_period_end": "2026-12-31T00:00:00Z"})
}

#[test]
fn live_subscriptions_and_add_ons_block() {
    let live = [
        "trialing",
        "active",
        "past_due",
        "unpaid",
        "paused",
        "incomplete",
    ];
    let mut subs: Vec<Value> = live.iter().map(|s| sub(&format!("s_{s}"), s)).collect();
    subs.push(sub("s_canceled", "canceled"));
    subs.push(sub("s_expired", "incomplete_expired"));
    let mut add_on = sub("s_addon", "active");
    add_on["add_on_of"] = json!("s_active");
    subs.push(add_on);
    let mut leaving = sub("s_leaving", "active");
    leaving["cancel_at_period_end"] = json!(true);
    subs.push(leaving);
    let report = run(
        with(base(), "subscriptions", json!(subs)),
        &holder(),
        &strict(),
    );
    let mut expected = vec![BlockerCode::SubscriptionActive; live.len()];
    expected.push(BlockerCode::AddOnActive);
    assert_eq!(codes(&report), expected);
    assert!(report
        .blockers
        .iter()
        .all(|b| b.remedy.action == RemedyAction::CancelSubscription));
    // Already set to end at period end: not a blocker, but shown as ending then.
    let c = &report.consequences;
    assert_eq!(c.subscriptions_cancelled.len(), 1);
    assert_eq!(
        c.subscriptions_cancelled[0].subscription.as_str(),
        "s_leaving"
    );
    assert_eq!(
        c.subscriptions_cancelled[0].timing,
        CancelTiming::AtPeriodEnd
    );
}

#[test]
fn cleared_subscriptions_follow_the_billing_disposition() {
    let mut addon = sub("s_addon", "active");
    addon["add_on_of"] = json!("s_paid");
    let subs = json!([
        sub("s_paid", "active"),
        sub("s_trial", "trialing"),
        addon,
        sub("s_gone", "canceled")
    ]);
    let value = with(base(), "subscriptions", subs);
    let mut policy = ClosurePolicy::cascade();
    policy.billing.unused_time = UnusedTime::Refund;
    let report = run(value.clone(), &holder(), &policy);
    let c = &report.consequences;
    let got: Vec<_> = c
        .subscriptions_cancelled
        .iter()
        .map(|s| (s.subscription.as_str(), s.timing, s.unused_time, s.ends_at))
        .collect();
    assert_eq!(
        got,
        [
            (
                "s_paid",
                CancelTiming::Immediately,
                UnusedTime::Refund,
                now()
            ),
            (
                "s_trial",
                CancelTiming::Immediately,
                UnusedTime::None,
                now()
            ),
            (
                "s_addon",
                CancelTiming::Immediately,
                UnusedTime::Refund,
                now()
            ),
        ]
    );
    assert_eq!(
        (c.counts.subscriptions_cancelled, c.counts.add_ons_cancelled),
        (2, 1)
    );

    policy.billing.cancel = CancelTiming::AtPeriodEnd;
    policy.billing.unused_time = UnusedTime::None;
    let report = run(value, &holder(), &policy);
    let end: DateTime<Utc> = "2026-12-31T00:00:00Z".parse().unwrap();
    assert!(report
        .consequences
        .subscriptions_cancelled
        .iter()
        .all(|s| s.timing == CancelTiming::AtPeriodEnd && s.ends_at == end));
}

fn domain(name: &str, active: bool, setup: Value, auto_renew: Option<bool>) -> Value {
    let registration =
        auto_renew.map(|on| json!({"auto_renew": on, "expires_at": "2027-05-01T00:00:00Z"}));
    json!({"name": name, "active": active, "setup": setup, "registration": registration})
}

#[test]
fn domain_prerequisites_block_each_on_their_own() {
    let full = |ns| json!({"type": "full", "nameservers_point_here": ns});
    let partial = |live| json!({"type": "partial", "cname_records_live": live});
    let cases = [
        (
            domain("a.test", true, full(false), None),
            vec![BlockerCode::DomainActive],
        ),
        (
            domain("b.test", false, full(true), None),
            vec![BlockerCode::NameserversPointHere],
        ),
        (
            domain("c.test", false, full(false), Some(true)),
            vec![BlockerCode::RegistrarAutoRenew],
        ),
        (
            domain("d.test", false, partial(true), None),
            vec![BlockerCode::PartialSetupLive],
        ),
        (domain("e.test", false, partial(false), Some(false)), vec![]),
        (
            domain("f.test", true, full(true), Some(true)),
            vec![
                BlockerCode::DomainActive,
                BlockerCode::NameserversPointHere,
                BlockerCode::RegistrarAutoRenew,
            ],
        ),
    ];
    for (value, expected) in cases {
        let name = value["name"].as_str().unwrap().to_owned();
        let report = run(
            with(base(), "domains", json!([value])),
            &holder(),
            &strict(),
        );
        assert_eq!(codes(&report), expected, "{name}");
        for b in &report.blockers {
            assert_eq!(
                b.subject,
                Subject::Domain {
                    name: crate::model::DomainName::new(name.as_str()).unwrap()
                }
            );
        }
    }
}

#[test]
fn domain_conditions_clear_or_warn_under_cascade() {
    let domains = json!([
        domain(
            "a.test",
            true,
            json!({"type": "full", "nameservers_point_here": true}),
            Some(true)
        ),
        domain(
            "b.test",
            true,
            json!({"type": "partial", "cname_records_live": true}),
            None
        ),
    ]);
    let report = run(
        with(base(), "domains", domains),
        &holder(),
        &ClosurePolicy::cascade(),
    );
    assert!(report.can_close);
    let c = &report.consequences;
    let names = |v: &Vec<crate::model::DomainName>| {
        v.iter().map(|d| d.as_str().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(&c.domains_released), ["a.test", "b.test"]);
    assert_eq!(names(&c.auto_renew_disabled), ["a.test"]);
    assert_eq!(
        (c.counts.domains_released, c.counts.auto_renew_disabled),
        (2, 1)
    );
    let w = warnings(&report);
    assert!(
        w.contains(&WarningCode::NameserversPointHere)
            && w.contains(&WarningCode::PartialSetupLive),
        "{w:?}"
    );
}

#[test]
fn payment_methods_block_or_are_deleted() {
    let methods = json!([{"id": "pm_1", "kind": "card"}, {"id": "pm_2", "kind": "bank_account"}]);
    let value = with(base(), "payment_methods", methods);
    let report = run(value.clone(), &holder(), &strict());
    assert_eq!(codes(&report), [BlockerCode::PaymentMethodOnFile; 2]);
    assert_eq!(
        report.blockers[0].remedy.action,
        RemedyAction::DeletePaymentMethod
    );
    let report = run(value, &holder(), &ClosurePolicy::cascade());
    assert!(report.can_close);
    assert_eq!(report.consequences.counts.payment_methods_deleted, 2);
}

fn invoice(id: &str, status: &str, amount: u64) -> Value {
    json!({"id": id, "status": status, "amount_due": amount, "currency": "EUR", "issued_at": "2026-10-01T00:00:00Z"})
}

#[test]
fn invoices_block_when_unpaid_or_disputed() {
    let invoices = json!([
        invoice("i_paid", "paid", 0),
        invoice("i_open", "open", 1250),
        invoice("i_open_zero", "open", 0),
        invoice("i_bad_debt", "uncollectible", 99),
        invoice("i_void", "void", 500),
        invoice("i_disputed", "disputed", 0),
    ]);
    let value = with(base(), "invoices", invoices);
    let report = run(value.clone(), &holder(), &strict());
    assert_eq!(
        codes(&report),
        [
            BlockerCode::InvoiceUnpaid,
            BlockerCode::InvoiceUnpaid,
            BlockerCode::DisputeOpen
        ]
    );
    assert!(
        report.blockers[0].message.contains("12.50 EUR"),
        "{}",
        report.blockers[0].message
    );
    assert_eq!(report.blockers[2].remedy.by, Responsible::Support);
    let c = &report.consequences;
    assert_eq!(c.invoices.count, 6);
    assert_eq!(c.invoices.downloadable_until, now() + TimeDelta::days(14));
    assert!(warnings(&report).contains(&WarningCode::InvoicesDownloadWindow));

    let mut lenient = strict();
    lenient.conditions.unpaid_balance = Rule::Warn;
    lenient.conditions.open_dispute = Rule::Warn;
    let report = run(value, &holder(), &lenient);
    assert!(report.can_close);
    let w = warnings(&report);
    assert_eq!(
        w.iter()
            .filter(|c| **c == WarningCode::InvoiceUnpaid)
            .count(),
        2
    );
    assert!(w.contains(&WarningCode::DisputeOpen));
}

#[test]
fn balances_block_when_owed_and_warn_when_credit() {
    let mut value = base();
    value["balance"] = json!({"amount": -700, "currency": "USD"});
    let report = run(value.clone(), &holder(), &strict());
    assert_eq!(codes(&report), [BlockerCode::BalanceOwed]);
    assert_eq!(
        report.blockers[0].subject,
        Subject::Balance { tenant: None }
    );
    // What is owed is said as a positive amount.
    assert!(report.blockers[0].message.contains(" 7.00 USD owed"));
    assert!(!report.blockers[0].message.contains('-'));
    assert_eq!(
        report.blockers[0].remedy.message,
        "Settle the 7.00 USD owed."
    );
    // Nothing owed and no credit: neither a blocker nor a warning.
    value["balance"] = json!({"amount": 0, "currency": "USD"});
    let report = run(value.clone(), &holder(), &strict());
    assert!(report.can_close && report.blockers.is_empty());
    assert!(warnings(&report).is_empty());
    value["balance"] = json!({"amount": 300, "currency": "USD"});
    let report = run(value, &holder(), &strict());
    assert!(report.can_close);
    assert_eq!(warnings(&report), [WarningCode::CreditBalance]);
}

#[test]
fn tenant_scoped_items_follow_the_tenant_fate() {
    // Everything below belongs to a tenant the account merely leaves: nothing blocks.
    let value = with(base(), "tenants", json!([tenant("t_other", "u_z", &[])]));
    let mut value = with(
        value,
        "subscriptions",
        json!([{"id": "s", "tenant": "t_other", "plan": "p", "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}]),
    );
    value["domains"] = json!([{"name": "x.test", "tenant": "t_other", "active": true, "setup": {"type": "full", "nameservers_point_here": true}}]);
    value["payment_methods"] = json!([{"id": "pm", "tenant": "t_other", "kind": "card"}]);
    value["invoices"] = json!([{"id": "i", "tenant": "t_other", "status": "open", "amount_due": 10, "currency": "EUR", "issued_at": "2026-10-01T00:00:00Z"}]);
    value["tenants"][0]["balance"] = json!({"amount": -10, "currency": "EUR"});
    let report = run(value.clone(), &holder(), &strict());
    assert!(report.can_close, "{:?}", report.blockers);
    assert_eq!(report.consequences.invoices.count, 0);

    // Make the account the primary owner: now each of them blocks, owned by the tenant.
    value["tenants"][0] = tenant("t_other", "u_a", &[]);
    value["tenants"][0]["balance"] = json!({"amount": -10, "currency": "EUR"});
    let report = run(value, &holder(), &strict());
    assert_eq!(
        codes(&report),
        [
            BlockerCode::SubscriptionActive,
            BlockerCode::DomainActive,
            BlockerCode::NameserversPointHere,
            BlockerCode::PaymentMethodOnFile,
            BlockerCode::InvoiceUnpaid,
            BlockerCode::BalanceOwed,
        ]
    );
    let tenant = crate::model::TenantId::new("t_other").unwrap();
    assert!(report.blockers.iter().all(|b| b.remedy.by
        == Responsible::TenantOwner {
            tenant: tenant.clone()
        }));
}

#[test]
fn every_blocker_is_reported_at_once() {
    let mut value = base();
    value["account"]["status"] = json!("suspended");
    value["account"]["kind"] =
        json!({"type": "contract", "customer_success": {"name": "CS", "email": "cs@p.test"}});
    value["account"]["identity"] =
        json!({"type": "sso", "provider": "okta", "super_admin": "u_admin"});
    value["balance"] = json!({"amount": -1, "currency": "EUR"});
    value["legal_holds"] = json!([hold("lh", &["content"], "2026-01-01T00:00:00Z", None)]);
    value["tenants"] = json!([tenant("t", "u_a", &["u_b"])]);
    let mut addon = sub("s_addon", "active");
    addon["add_on_of"] = json!("s_plan");
    value["subscriptions"] = json!([sub("s_plan", "active"), addon]);
    value["domains"] = json!([
        domain(
            "a.test",
            true,
            json!({"type": "full", "nameservers_point_here": true}),
            Some(true)
        ),
        domain(
            "b.test",
            false,
            json!({"type": "partial", "cname_records_live": true}),
            None
        ),
    ]);
    value["payment_methods"] = json!([{"id": "pm", "kind": "card"}]);
    value["invoices"] = json!([
        invoice("i_open", "open", 5),
        invoice("i_disp", "disputed", 0)
    ]);
    let mut policy = strict();
    policy.conditions.legal_hold = Rule::Block;
    policy.shared_tenants = SharedTenantRule::BlockUntilTransferred;
    let stale = Actor {
        reauthenticated_at: None,
        ..holder()
    };
    let report = run(value, &stale, &policy);
    use BlockerCode::*;
    assert_eq!(
        codes(&report),
        [
            AccountSuspended,
            ContractAccount,
            SsoManaged,
            ReauthenticationRequired,
            LegalHold,
            SharedTenantOwner,
            SubscriptionActive,
            AddOnActive,
            DomainActive,
            NameserversPointHere,
            RegistrarAutoRenew,
            PartialSetupLive,
            PaymentMethodOnFile,
            InvoiceUnpaid,
            DisputeOpen,
            BalanceOwed,
        ]
    );
    assert!(report
        .blockers
        .iter()
        .all(|b| !b.message.is_empty() && !b.remedy.message.is_empty()));
}

#[test]
fn clocks_and_identifiers() {
    let cascade = run(base(), &holder(), &ClosurePolicy::cascade()).consequences;
    assert_eq!(cascade.closes_at, now());
    assert_eq!(cascade.cancellable_until, None);
    assert_eq!(
        cascade.identifiers_reusable_at,
        Some(now() + TimeDelta::days(90))
    );
    let report = run(base(), &holder(), &ClosurePolicy::cascade());
    assert!(warnings(&report).contains(&WarningCode::Irreversible));

    let mut policy = strict();
    policy.identifier_reuse = IdentifierReuse::Never;
    policy.retention.personal_data = Period::Years(1);
    let c = run(base(), &holder(), &policy).consequences;
    assert_eq!(c.closes_at, now() + TimeDelta::days(14));
    assert_eq!(c.cancellable_until, Some(c.closes_at));
    assert_eq!(c.identifiers_reusable_at, None);
    assert_eq!(
        c.personal_data_purge_due,
        Some("2027-11-23T10:00:00Z".parse().unwrap())
    );
    assert!(!warnings(&run(base(), &holder(), &strict())).contains(&WarningCode::Irreversible));
}

#[test]
fn inputs_dated_after_now_are_refused() {
    let mut value = base();
    value["taken_at"] = json!("2026-11-23T10:00:01Z");
    let err = assess(&snapshot(value), &holder(), &strict(), now()).unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::InvalidValue);
    assert!(err.to_string().contains("snapshot.taken_at"), "{err}");
    let future = Actor {
        reauthenticated_at: Some(now() + TimeDelta::seconds(1)),
        ..holder()
    };
    let err = assess(&snapshot(base()), &future, &strict(), now()).unwrap_err();
    assert!(
        err.to_string().contains("actor.reauthenticated_at"),
        "{err}"
    );
}

#[test]
fn dates_past_the_calendar_are_an_error_not_a_panic() {
    let far: DateTime<Utc> = DateTime::<Utc>::MAX_UTC - TimeDelta::days(1);
    let err = assess(
        &snapshot(base()),
        &Actor {
            reauthenticated_at: None,
            ..holder()
        },
        &strict(),
        far,
    )
    .unwrap_err();
    assert_eq!(err.code(), crate::ErrorCode::InvalidValue);
}

#[test]
fn assess_validates_policy_and_snapshot_itself() {
    let mut policy = strict();
    policy.confirmation.max_attempts = 0;
    assert_eq!(
        assess(&snapshot(base()), &holder(), &policy, now())
            .unwrap_err()
            .code(),
        crate::ErrorCode::InvalidPolicy
    );
    let value = with(
        base(),
        "tenants",
        json!([tenant("t", "u_a", &[]), tenant("t", "u_a", &[])]),
    );
    assert_eq!(
        assess(&snapshot(value), &holder(), &strict(), now())
            .unwrap_err()
            .code(),
        crate::ErrorCode::DuplicateId
    );
}

#[test]
fn assessment_is_deterministic_and_round_trips() {
    let value = with(
        base(),
        "tenants",
        json!([tenant("t1", "u_a", &["u_b"]), tenant("t2", "u_z", &[])]),
    );
    let a = run(value.clone(), &holder(), &ClosurePolicy::cascade());
    let b = run(value, &holder(), &ClosurePolicy::cascade());
    let text = serde_json::to_string(&a).unwrap();
    assert_eq!(text, serde_json::to_string(&b).unwrap());
    let back: Assessment = serde_json::from_str(&text).unwrap();
    assert_eq!(back, a);
}

#[test]
fn large_snapshots_are_assessed_in_one_pass() {
    // 1 000 tenants of 100 members each (100 000 members), all owned by the account.
    let tenants: Vec<Value> = (0..1000)
        .map(|t| {
            let others: Vec<String> = (0..99).map(|m| format!("u_{t}_{m}")).collect();
            let refs: Vec<&str> = others.iter().map(String::as_str).collect();
            tenant(&format!("t_{t}"), "u_a", &refs)
        })
        .collect();
    let report = run(
        with(base(), "tenants", json!(tenants)),
        &holder(),
        &ClosurePolicy::cascade(),
    );
    assert_eq!(report.consequences.counts.tenants_deleted, 1000);
    assert_eq!(report.consequences.counts.members_removed, 99_000);
}

/// A blocker's code reads the same everywhere: its `Display`, its `as_str`
/// and its JSON name, each distinct.
#[test]
fn blocker_codes_display_as_their_json_names() {
    let mut seen = std::collections::HashSet::new();
    for code in BlockerCode::ALL {
        let json = serde_json::to_value(code).unwrap();
        assert_eq!(json, code.to_string());
        assert_eq!(json, code.as_str());
        assert!(seen.insert(code.to_string()), "{code:?}");
    }
}

/// Where `text` names a thing by an internal id (`sub_`, `pm_`, `in_`,
/// `t_`, `u_` then a word character), or writes a plural as `(s)`.
fn internal_wording(text: &str) -> Option<String> {
    if text.contains("(s)") {
        return Some("(s)".to_owned());
    }
    // People have workspaces; "tenant" is the model's word.
    if text
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("tenant") || w.eq_ignore_ascii_case("tenants"))
    {
        return Some("tenant".to_owned());
    }
    let bytes = text.as_bytes();
    for prefix in ["sub_", "pm_", "in_", "t_", "u_"] {
        for (at, _) in text.match_indices(prefix) {
            let starts_word = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let then_word = bytes
                .get(at + prefix.len())
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
            if starts_word && then_word {
                return Some(text[at..].chars().take(24).collect());
            }
        }
    }
    None
}

#[test]
fn the_wording_check_finds_ids_and_plurals() {
    assert_eq!(
        internal_wording("Cancel sub_acme_team now"),
        Some("sub_acme_team now".into())
    );
    assert_eq!(
        internal_wording("You leave t_globex"),
        Some("t_globex".into())
    );
    assert_eq!(internal_wording("4 member(s)"), Some("(s)".into()));
    assert_eq!(
        internal_wording("Cancel the Team (annual) subscription of Acme."),
        None
    );
    assert_eq!(internal_wording("Print_this but_not"), None);
    assert_eq!(
        internal_wording("the tenant is deleted"),
        Some("tenant".into())
    );
}

/// Every message a person reads (blockers, remedies, warnings) names things
/// by their display names, for every sample account, under both presets and
/// for every kind of actor: the ids stay in the structured fields.
#[test]
fn messages_name_things_by_their_names_not_their_ids() {
    let samples = [
        include_str!("../../data/lone-user.json"),
        include_str!("../../data/team-owner.json"),
        include_str!("../../data/domain-owner.json"),
        include_str!("../../data/contract.json"),
        include_str!("../../data/sso-member.json"),
    ];
    let mut checked = 0;
    for text in samples {
        let snapshot = Snapshot::from_json(text).unwrap();
        let at = snapshot.taken_at;
        let actors = [
            Actor::holder(&snapshot.account, at),
            Actor {
                reauthenticated_at: None,
                ..Actor::holder(&snapshot.account, at)
            },
            Actor::support(UserId::new("ops_1").unwrap(), at),
            Actor::system(),
            Actor {
                id: UserId::new("u_stranger").unwrap(),
                role: ActorRole::User,
                reauthenticated_at: Some(at),
            },
        ];
        for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
            for actor in &actors {
                let report = assess(&snapshot, actor, &policy, at).unwrap();
                let texts = report
                    .blockers
                    .iter()
                    .flat_map(|b| [&b.message, &b.remedy.message])
                    .chain(report.warnings.iter().map(|w| &w.message));
                for message in texts {
                    checked += 1;
                    assert_eq!(
                        internal_wording(message),
                        None,
                        "{} under {}: {message}",
                        snapshot.account.id,
                        policy.name
                    );
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} messages checked");
}

/// Workspaces and plans named with nothing but spaces still give whole
/// sentences: no gap where the name was, no sentence that starts with a space.
#[test]
fn blank_names_still_give_whole_sentences() {
    let mut value: Value =
        serde_json::from_str(include_str!("../../data/team-owner.json")).unwrap();
    value["tenants"][0]["name"] = json!("");
    value["tenants"][1]["name"] = json!("   ");
    value["subscriptions"][0]["plan"] = json!(" ");
    let snapshot = snapshot(value);
    let at = snapshot.taken_at;
    let mut texts = Vec::new();
    for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
        let report = assess(
            &snapshot,
            &Actor::holder(&snapshot.account, at),
            &policy,
            at,
        )
        .unwrap();
        for b in &report.blockers {
            texts.push(b.message.clone());
            texts.push(b.remedy.message.clone());
        }
        texts.extend(report.warnings.iter().map(|w| w.message.clone()));
    }
    assert!(texts.len() > 8);
    for text in &texts {
        let broken = text.contains("  ")
            || text.contains(" .")
            || text.contains(" ,")
            || text.starts_with(' ')
            || text.starts_with(|c: char| c.is_lowercase());
        assert!(!broken, "a broken sentence: {text:?}");
    }
    assert!(
        texts.iter().any(|t| t.contains("an unnamed workspace")),
        "{texts:#?}"
    );
}

#[test]
fn each_invoice_is_named_with_its_own_workspace() {
    // Four workspaces the account owns, each with an unpaid invoice: each
    // message names the invoice's own workspace, found through the index.
    let ids = ["t_w", "t_x", "t_y", "t_z"];
    let mut value = with(
        base(),
        "tenants",
        Value::Array(ids.iter().map(|id| tenant(id, "u_a", &[])).collect()),
    );
    value["invoices"] = Value::Array(
        ids.iter()
            .map(|id| json!({"id": format!("i_{id}"), "tenant": id, "status": "open", "amount_due": 10, "currency": "EUR", "issued_at": "2026-10-01T00:00:00Z"}))
            .collect(),
    );
    let report = run(value, &holder(), &strict());
    let mut named = 0;
    for blocker in &report.blockers {
        if let Subject::Invoice { id } = &blocker.subject {
            let tenant = id.as_str().trim_start_matches("i_");
            let message = blocker.message.to_string();
            assert!(message.contains(&format!("Tenant {tenant}")), "{message}");
            for other in ids.iter().filter(|other| **other != tenant) {
                assert!(!message.contains(&format!("Tenant {other}")), "{message}");
            }
            named += 1;
        }
    }
    assert_eq!(named, ids.len(), "{:?}", report.blockers);
}
