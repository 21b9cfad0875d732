//! The outbox mirrors the closure's effects: a late answer settles its row.
//!
//! Two deliveries of one effect can overlap (a lease runs out while the first
//! worker is still at it). The first to answer may fail, which schedules a
//! retry; the other's success then arrives for an effect waiting for that
//! retry. The core accepts it; the outbox row must say `done`, not stay
//! `waiting_retry` on a closed closure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use chrono::{DateTime, Utc};
use offboard::machine::{Command, Outcome};
use offboard::{Actor, ActorRole, ClosurePolicy};
use offboard_service::store::{Lookup, Store};

async fn status_of(store: &Store, key: &str) -> String {
    let rows = store.effects(None, 1_000).await.unwrap();
    let row = rows.iter().find(|r| r.key == key).expect("the outbox row");
    row.status.clone()
}

async fn late_success_settles_the_row(db: &common::Db) {
    let store = Store::open(&db.store_options()).await.unwrap();
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 0;
    let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
    let lena = common::actor("u_lena", ActorRole::User, now);
    let worker = common::actor("worker:test", ActorRole::System, now);
    let apply = |lookup, command: Command, who: &Actor| {
        let (store, policy) = (&store, &policy);
        let who = who.clone();
        async move {
            store
                .apply(lookup, &command, &who, policy, now, 3_600, None)
                .await
                .unwrap()
        }
    };
    apply(
        Lookup::Account("u_lena"),
        Command::Request {
            feedback: None,
            token_digest: None,
            reason: None,
        },
        &lena,
    )
    .await;
    apply(
        Lookup::Account("u_lena"),
        Command::Confirm {
            value: "lena@example.org".into(),
        },
        &lena,
    )
    .await;
    let leased = store.lease_effects("w1", now, 30, 1).await.unwrap();
    let first = leased.first().expect("an issued effect");
    let key = first.effect.id.as_str();
    let report = |outcome| Command::ReportOutcome {
        effect: first.effect.id.clone(),
        outcome,
    };
    assert_eq!(status_of(&store, key).await, "pending");

    // The first answer: a failure worth retrying.
    let failed = apply(
        Lookup::Closure(&first.closure),
        report(Outcome::RetryableFailure {
            reason: "429 Too Many Requests".into(),
        }),
        &worker,
    )
    .await;
    assert!(failed
        .audit
        .iter()
        .any(|e| e.event.kind() == "effect_retry_scheduled"));
    assert_eq!(status_of(&store, key).await, "waiting_retry");

    // The other delivery's success, late.
    let succeeded = apply(
        Lookup::Closure(&first.closure),
        report(Outcome::Succeeded),
        &worker,
    )
    .await;
    assert!(succeeded
        .audit
        .iter()
        .any(|e| e.event.kind() == "effect_succeeded"));
    assert_eq!(status_of(&store, key).await, "done", "{}", db.label);
}

#[test]
fn a_late_success_for_an_effect_waiting_for_its_retry_settles_its_outbox_row() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in common::databases("late_success") {
        runtime.block_on(late_success_settles_the_row(&db));
    }
}
