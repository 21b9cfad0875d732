//! The inactivity sweep: `POST /v1/ops/sweeps/inactivity` closes each
//! account as the service's system actor (request and confirmation in one
//! transaction), where the policy allows system requests; the closures then
//! run to `closed` like any other. Refusals are per account and write
//! nothing.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{clone_sample, databases, Db, Service};
use serde_json::Value;

/// The cascade preset with system requests for inactivity allowed.
fn sweeping_policy(db: &Db) -> String {
    let mut policy: Value =
        serde_json::from_str(include_str!("../../data/policies/cascade.json")).unwrap();
    policy["authorization"]["inactivity_closure"] = true.into();
    let path = db.dir.join("sweep-policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    path.display().to_string()
}

fn import(s: &Service, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        let sample = if i % 2 == 0 {
            "lone-user"
        } else {
            "team-owner"
        };
        let (status, body) = s.put(&format!("/v1/ops/accounts/{id}"), &clone_sample(sample, id));
        assert_eq!(status, 204, "{body}");
    }
}

fn sweep(s: &Service, ids: &[&str]) -> Value {
    let body = serde_json::json!({ "accounts": ids }).to_string();
    let (status, answer) = s.post("/v1/ops/sweeps/inactivity", &body);
    assert_eq!(status, 200, "{answer}");
    answer
}

#[test]
fn a_sweep_closes_inactive_accounts_as_the_system_and_refuses_the_rest_one_by_one() {
    for db in databases("sweep") {
        let policy = sweeping_policy(&db);
        let s = Service::start(&db, true, &["--poll-ms", "10", "--policy", &policy]);
        let ids: Vec<String> = (0..6).map(|i| format!("u_idle_{i}")).collect();
        import(&s, &ids);
        let mut asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        asked.push("u_nobody");
        let answer = sweep(&s, &asked);
        assert_eq!(answer["requested"], serde_json::json!(ids), "{answer}");
        let refused = answer["refused"].as_array().unwrap();
        assert_eq!(refused.len(), 1, "{answer}");
        assert_eq!(refused[0]["account"], "u_nobody");
        assert_eq!(refused[0]["code"], "unknown_account");

        // Each closure runs to its end, requested and confirmed by the system.
        for id in &ids {
            s.wait_phase(id, "closed");
            let events = s.verified_audit(id);
            let text = serde_json::to_string(&events).unwrap();
            assert!(text.contains("system:inactivity-sweep"), "{id}: {text}");
            assert!(text.contains("inactivity"), "{id}: {text}");
        }
        // Every effect performed once, under a key the outbox holds.
        let effects = s.effects();
        assert!(effects.len() >= ids.len() * 5, "{} effects", effects.len());
        for effect in &effects {
            assert_eq!(effect["status"], "done", "{effect}");
            assert_eq!(effect["performed"], 1, "{effect}");
        }
        let (_, stats) = s.get("/v1/ops/stats");
        assert_eq!(stats["performed_without_outbox"], 0, "{stats}");

        // A second sweep of a closed account finds it gone (the closure
        // deleted it): refused, and the closure stays as it was.
        let again = sweep(&s, &[ids[0].as_str()]);
        assert_eq!(again["requested"], serde_json::json!([]), "{again}");
        assert_eq!(again["refused"][0]["code"], "unknown_account", "{again}");
        assert_eq!(s.phase(&ids[0]), "closed");
    }
}

#[test]
fn without_the_policy_allowing_it_a_sweep_closes_nothing() {
    for db in databases("sweep_refused") {
        let s = Service::start(&db, true, &["--poll-ms", "10"]);
        let ids: Vec<String> = (0..2).map(|i| format!("u_kept_{i}")).collect();
        import(&s, &ids);
        let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        let answer = sweep(&s, &asked);
        assert_eq!(answer["requested"], serde_json::json!([]), "{answer}");
        for (refusal, id) in answer["refused"].as_array().unwrap().iter().zip(&ids) {
            assert_eq!(refusal["account"], id.as_str());
            assert_eq!(refusal["code"], "not_allowed", "{refusal}");
            assert_eq!(s.get(&format!("/v1/accounts/{id}/closure")).0, 404);
        }
        // More than a request may carry: refused as a whole.
        let many: Vec<String> = (0..1001).map(|i| format!("u_{i}")).collect();
        let body = serde_json::json!({ "accounts": many }).to_string();
        let (status, answer) = s.post("/v1/ops/sweeps/inactivity", &body);
        assert_eq!(status, 400, "{answer}");
    }
}
