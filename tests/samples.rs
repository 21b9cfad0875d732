//! Both presets on every sample account under `examples/data/`: the blockers
//! each one meets, and the consequences of closing.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use offboard::{assess, Actor, ActorRole, Assessment, BlockerCode, ClosurePolicy, Snapshot};
use offboard_acceptance::{read, SAMPLES};

fn sample(name: &str) -> Snapshot {
    Snapshot::from_json(&read(&format!("examples/data/{name}.json"))).unwrap()
}

fn assess_as_holder(name: &str, policy: &ClosurePolicy) -> Assessment {
    let snapshot = sample(name);
    let now = snapshot.taken_at;
    assess(
        &snapshot,
        &Actor::holder(&snapshot.account, now),
        policy,
        now,
    )
    .unwrap()
}

fn codes(report: &Assessment) -> Vec<&'static str> {
    report.blockers.iter().map(|b| b.code.as_str()).collect()
}

#[test]
fn every_sample_validates() {
    for name in SAMPLES {
        sample(name).validate().unwrap();
    }
}

#[test]
fn blockers_of_every_sample_under_both_presets() {
    // The expectations are shared with the Node and C suites.
    let expected: serde_json::Value =
        serde_json::from_str(&read("tests/fixtures/sample-blockers.json")).unwrap();
    let samples = expected["samples"].as_object().unwrap();
    assert_eq!(samples.len(), SAMPLES.len());
    for name in SAMPLES {
        for policy in ["cascade", "prerequisite"] {
            let want: Vec<&str> = samples[name][policy]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            let report = assess_as_holder(name, &ClosurePolicy::preset(policy).unwrap());
            assert_eq!(codes(&report), want, "{name} under {policy}");
            assert_eq!(report.can_close, want.is_empty());
        }
    }
}

#[test]
fn team_owner_cascade_deletes_owned_tenants_and_spares_the_others() {
    let report = assess_as_holder("team-owner", &ClosurePolicy::cascade());
    let c = &report.consequences;
    let deleted: Vec<_> = c
        .tenants_deleted
        .iter()
        .map(|t| t.tenant.as_str())
        .collect();
    assert_eq!(deleted, ["t_acme", "t_omar_sandbox"]);
    let removed: Vec<_> = c.tenants_deleted[0]
        .members_removed
        .iter()
        .map(|u| u.as_str())
        .collect();
    assert_eq!(removed, ["u_ines", "u_kwame", "u_mei", "u_tom"]);
    assert_eq!(c.tenants_left.len(), 1);
    let cancelled: Vec<_> = c
        .subscriptions_cancelled
        .iter()
        .map(|s| s.subscription.as_str())
        .collect();
    assert_eq!(
        cancelled,
        ["sub_acme_team", "sub_acme_storage", "sub_sandbox_trial"]
    );
    assert_eq!(
        c.payment_methods_deleted
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        ["pm_acme_card"]
    );
    let n = c.counts;
    assert_eq!(
        (
            n.tenants_deleted,
            n.members_removed,
            n.subscriptions_cancelled,
            n.add_ons_cancelled
        ),
        (2, 4, 2, 1)
    );
}

#[test]
fn domain_owner_invoices_are_kept_for_the_tax_audit() {
    let report = assess_as_holder("domain-owner", &ClosurePolicy::cascade());
    let invoices = report
        .consequences
        .retention
        .iter()
        .find(|r| r.class == offboard::model::RecordClass::Invoices)
        .unwrap();
    assert_eq!(
        invoices
            .held_by
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>(),
        ["lh_2026_041"]
    );
    assert_eq!(
        invoices.purge_due.unwrap().to_rfc3339(),
        "2038-01-01T00:00:00+00:00"
    );
    assert_eq!(report.consequences.counts.domains_released, 2);
    assert_eq!(report.consequences.counts.auto_renew_disabled, 1);
}

#[test]
fn the_right_people_can_close_contract_and_sso_accounts() {
    let contract = sample("contract");
    let now = contract.taken_at;
    let support = Actor {
        role: ActorRole::SupportOperator,
        ..Actor::holder(&contract.account, now)
    };
    let report = assess(&contract, &support, &ClosurePolicy::prerequisite(), now).unwrap();
    assert!(!codes(&report).contains(&BlockerCode::ContractAccount.as_str()));

    let sso = sample("sso-member");
    let admin = Actor {
        id: offboard::model::UserId::new("u_it_admin").unwrap(),
        ..Actor::holder(&sso.account, now)
    };
    let report = assess(&sso, &admin, &ClosurePolicy::prerequisite(), now).unwrap();
    assert!(report.can_close, "{:?}", report.blockers);
    // The SSO member is only an admin of the tenant, so the tenant lives on.
    assert_eq!(report.consequences.counts.tenants_left, 1);
    assert_eq!(report.consequences.counts.tenants_deleted, 0);
}
