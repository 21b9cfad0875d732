//! Two worker processes on one PostgreSQL database: outbox rows are leased
//! and due closures claimed with `FOR UPDATE SKIP LOCKED`, so no closure is
//! stepped by both and no effect is handed to both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;

use common::{clone_sample, postgres, Service};

#[test]
fn two_worker_processes_share_the_work_and_never_run_anything_twice() {
    let Some(db) = postgres("two_workers") else {
        return;
    };
    let a = Service::start(&db, true, &["--name", "a", "--poll-ms", "5"]);
    let b = Service::start(&db, false, &["--name", "b", "--poll-ms", "5"]);
    let accounts: Vec<String> = (0..60).map(|i| format!("u_pair_{i:02}")).collect();
    for account in &accounts {
        let data = clone_sample("team-owner", account);
        assert_eq!(a.put(&format!("/v1/ops/accounts/{account}"), &data).0, 204);
    }
    // Requests arrive through both processes' APIs.
    for (i, account) in accounts.iter().enumerate() {
        let s = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            s.post(&format!("/v1/accounts/{account}/closure"), "").0,
            201
        );
        let confirm = format!(r#"{{"value": "{account}@example.test"}}"#);
        let (status, body) = s.post(&format!("/v1/accounts/{account}/closure/confirm"), &confirm);
        assert_eq!(status, 200, "{body}");
    }
    for account in &accounts {
        a.wait_phase(account, "closed");
        b.verified_audit(account);
    }
    // The step that closes a closure issues its last notification, so a
    // closure can be `closed` while that effect's report is still in flight.
    a.wait_for(
        std::time::Duration::from_secs(30),
        "every effect reported",
        |s| s.effects().iter().all(|e| e["status"] != "pending"),
    );

    let effects = a.effects();
    let mut by_worker: HashMap<String, usize> = HashMap::new();
    for effect in &effects {
        assert_eq!(effect["status"], "done", "{effect}");
        assert_eq!(effect["performed"], 1, "{effect}");
        // No crash and no failure: a second call would mean two workers held it.
        assert_eq!(effect["calls"], 1, "handed to two workers: {effect}");
        assert_eq!(effect["deliveries"], 1, "{effect}");
        *by_worker
            .entry(effect["performed_by"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for account in &accounts {
        let events = a.verified_audit(account);
        let started = events
            .iter()
            .filter(|e| e["event"]["kind"] == "execution_started")
            .count();
        assert_eq!(started, 1, "{account} started executing {started} times");
    }
    eprintln!("{} effects: {by_worker:?}", effects.len());
    assert_eq!(by_worker.len(), 2, "both workers took part: {by_worker:?}");
    for log in [&a.log, &b.log] {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(!text.contains("refused"), "{text}");
    }
}
