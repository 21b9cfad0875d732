//! Bounded work: the limits on a request (body, entities in a snapshot,
//! effects in a plan) with their typed errors, a large plan performed in
//! fair turns so the other accounts' closures are not starved, and a
//! graceful stop on SIGTERM. Real service processes, SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::Service;
use offboard_service::samples;
use serde_json::Value;

fn confirm(s: &Service, account: &str) -> (u16, Value) {
    let (status, body) = s.post(&format!("/v1/accounts/{account}/closure"), "{}");
    assert_eq!(status, 201, "{account}: {body}");
    s.post(
        &format!("/v1/accounts/{account}/closure/confirm"),
        &format!(r#"{{"value": "{account}@example.test"}}"#),
    )
}

#[test]
fn a_request_over_a_limit_is_refused_with_its_limit_and_changes_nothing() {
    for db in common::databases("limits") {
        let s = Service::start(
            &db,
            true,
            &[
                "--workers",
                "0",
                "--max-body-bytes",
                "100000",
                "--max-snapshot-entities",
                "50",
                "--max-plan-effects",
                "40",
            ],
        );
        // 1 tenant, 1 member, n subscriptions, 1 payment method, 2 invoices.
        let (status, body) = s.put(
            "/v1/ops/accounts/u_wide",
            &samples::with_subscriptions("u_wide", 46).unwrap(),
        );
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("limit_exceeded")),
            "{}: {body}",
            db.label
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("51, more than this service's limit of 50"),
            "{body}"
        );
        assert_eq!(
            s.get("/v1/ops/accounts/u_wide").0,
            404,
            "a refused import stored the account"
        );
        // At the limit it is taken; its plan, one effect per subscription
        // and more, is over the plan's limit: the confirm is refused.
        let (status, body) = s.put(
            "/v1/ops/accounts/u_wide",
            &samples::with_subscriptions("u_wide", 45).unwrap(),
        );
        assert_eq!(status, 204, "{body}");
        let (status, body) = confirm(&s, "u_wide");
        assert_eq!(
            (status, body["code"].as_str()),
            (413, Some("limit_exceeded")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("effects in the closure's plan"),
            "{body}"
        );
        assert_eq!(s.phase("u_wide"), "awaiting_confirmation");
        assert!(s.effects().is_empty());
        // A body over the limit: the library's own code for it.
        let big = format!(
            r#"{{"feedback": {{"comment": "{}"}}}}"#,
            "x".repeat(100_001)
        );
        let (status, body) = s.post("/v1/accounts/u_lena/closure", &big);
        assert_eq!(
            (status, body["code"].as_str(), body["number"].as_u64()),
            (413, Some("input_too_large"), Some(16)),
            "{body}"
        );
        assert_eq!(s.get("/v1/accounts/u_lena/closure").0, 404);
        // Far over the limit (eighty times it, more than the socket buffers
        // hold): the client, still writing when the limit is reached, gets
        // the answer rather than a broken pipe, because the service reads
        // the rest and drops it before it answers and closes.
        let huge = format!(
            r#"{{"feedback": {{"comment": "{}"}}}}"#,
            "x".repeat(8_000_000)
        );
        for _ in 0..3 {
            let (status, body) = s.post("/v1/accounts/u_lena/closure", &huge);
            assert_eq!(
                (status, body["code"].as_str()),
                (413, Some("input_too_large")),
                "{}: {body}",
                db.label
            );
        }
        assert_eq!(s.get("/v1/accounts/u_lena/closure").0, 404);
    }
}

/// Effects of `account`'s closure not yet succeeded.
fn undone(s: &Service, account: &str) -> usize {
    let (_, closure) = s.get(&format!("/v1/accounts/{account}/closure"));
    closure["state"]["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"]["status"] != "succeeded")
        .count()
}

#[test]
fn a_large_plan_takes_its_turn_and_other_accounts_close_while_it_runs() {
    for db in common::databases("large_plan") {
        let s = Service::start(&db, true, &["--workers", "1", "--poll-ms", "20"]);
        let big = "u_big";
        let (status, body) = s.put(
            &format!("/v1/ops/accounts/{big}"),
            &samples::with_subscriptions(big, 3_000).unwrap(),
        );
        assert_eq!(status, 204, "{body}");
        let small: Vec<String> = (0..4).map(|i| format!("u_small_{i}")).collect();
        for id in &small {
            let (status, body) = s.put(
                &format!("/v1/ops/accounts/{id}"),
                &common::clone_sample("team-owner", id),
            );
            assert_eq!(status, 204, "{body}");
        }
        let (status, body) = confirm(&s, big);
        assert_eq!(status, 200, "{}", &body.to_string()[..300]);
        // The others come strictly later (the outbox orders by the second),
        // while the large plan is under way.
        std::thread::sleep(Duration::from_millis(1_100));
        let before = undone(&s, big);
        for id in &small {
            let (status, body) = confirm(&s, id);
            assert_eq!(status, 200, "{id}: {body}");
        }
        for id in &small {
            s.wait_phase(id, "closed");
        }
        // The large plan was not performed first: the others closed while
        // it performed less than half of what it had left when they were
        // confirmed (first in, first out would have performed all of it).
        // Relative to what was left, not to the clock: a faster machine
        // does more of it in the second before.
        let left = undone(&s, big);
        eprintln!(
            "{}: the large plan had {before} effects left, then {left}",
            db.label
        );
        assert!(
            before > 200,
            "{}: only {before} of the large plan's effects were left when the others were \
             confirmed; make the plan larger",
            db.label
        );
        assert!(
            left > before / 2,
            "{}: {left} of the large plan's effects were left when the small closures ended, of \
             {before} when they were confirmed",
            db.label
        );
        // The audit log read while reports are still being written verifies
        // every time: the events served are the ones the head was made from.
        // Read back to back (no pause between reads): the worker reports a
        // stage per transaction, so the plan's rest goes by in a few passes.
        let mut reads_under_way = 0;
        let reading = std::time::Instant::now();
        loop {
            let before = undone(&s, big);
            s.verified_audit(big);
            if before > 0 && undone(&s, big) < before {
                reads_under_way += 1;
            }
            if s.phase(big) == "closed" {
                break;
            }
            assert!(
                reading.elapsed() < Duration::from_secs(600),
                "{}: the large plan did not end",
                db.label
            );
        }
        assert!(
            reads_under_way >= 3,
            "{}: only {reads_under_way} audit reads overlapped the worker's reports",
            db.label
        );
        // Every subscription was cancelled, each once.
        let effects = s.effects();
        let cancelled: Vec<&Value> = effects
            .iter()
            .filter(|e| e["closure"] == "cl_u_big" && e["action"] == "cancel_subscription")
            .collect();
        assert_eq!(cancelled.len(), 3_000, "{}", db.label);
        assert!(
            cancelled
                .iter()
                .all(|e| e["status"] == "done" && e["calls"] == 1),
            "{}",
            db.label
        );
    }
}

#[test]
fn sigterm_stops_the_process_within_seconds_and_hands_its_leases_back() {
    for db in common::databases("sigterm") {
        // Billing never answers in time, and a lease would last two minutes.
        let mut s = Service::start(
            &db,
            true,
            &[
                "--workers",
                "1",
                "--poll-ms",
                "20",
                "--lease-seconds",
                "120",
                "--adapter",
                "billing=stall:600000",
                "--adapter-timeout-ms",
                "300000",
                "--shutdown-grace-ms",
                "2000",
            ],
        );
        let (status, body) = s.put(
            "/v1/ops/accounts/u_term",
            &common::clone_sample("lone-user", "u_term"),
        );
        assert_eq!(status, 204, "{body}");
        let (status, body) = confirm(&s, "u_term");
        assert_eq!(status, 200, "{body}");
        s.wait_for(Duration::from_secs(30), "billing's call to start", |s| {
            s.effects()
                .iter()
                .any(|e| e["action"] == "cancel_subscription" && e["deliveries"] == 1)
        });
        let (took, ok) = s.terminate(Duration::from_secs(15));
        assert!(ok, "{}: the service did not exit cleanly", db.label);
        assert!(
            took < Duration::from_secs(8),
            "{}: stopping took {took:?}",
            db.label
        );

        // The next process takes the effect at once, not after the lease.
        let s = Service::start(
            &db,
            false,
            &[
                "--workers",
                "1",
                "--poll-ms",
                "20",
                "--lease-seconds",
                "120",
            ],
        );
        s.wait_for(
            Duration::from_secs(60),
            "the closure to end after the restart",
            |s| s.phase("u_term") == "closed",
        );
        let effects = s.effects();
        let cancel = effects
            .iter()
            .find(|e| e["closure"] == "cl_u_term" && e["action"] == "cancel_subscription")
            .unwrap();
        assert_eq!(cancel["calls"], 1, "{}: {cancel}", db.label);
    }
}
