//! Group commit: the reports of closures that arrive together share one
//! transaction, and each closure gets the answer it would get alone: its
//! reports applied, its next stage leased to the worker that reported, or
//! its own error. A batch that fails does not take the others with it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use offboard::machine::{Command, Outcome};
use offboard::{Actor, ActorRole, ClosurePolicy};
use offboard_service::samples;
use offboard_service::store::{Leased, Reported, Reports, Store, Ticked};
use offboard_service::ServiceError;

const CLOSURES: usize = 12;

/// Every leased effect of each closure, reported as succeeded, all batches
/// handed to the store at once (each from a task of its own, as the worker
/// does); the answers by closure.
async fn report_all(
    store: &Store,
    by_closure: BTreeMap<String, Vec<Leased>>,
    extra: Option<&str>,
    policy: &ClosurePolicy,
    worker: &Actor,
    now: DateTime<Utc>,
) -> BTreeMap<String, Result<Reports, ServiceError>> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut batches: Vec<(String, Vec<Command>)> = by_closure
        .into_iter()
        .map(|(closure, items)| {
            let reports = items
                .iter()
                .map(|l| Command::ReportOutcome {
                    effect: l.effect.id.clone(),
                    outcome: Outcome::Succeeded,
                })
                .collect();
            (closure, reports)
        })
        .collect();
    if let Some(missing) = extra {
        // A batch for a closure that does not exist, in the middle.
        let reports = batches[0].1.clone();
        batches.insert(batches.len() / 2, (missing.to_owned(), reports));
    }
    for (closure, reports) in batches {
        let (store, policy, worker) = (store.clone(), policy.clone(), worker.clone());
        tasks.spawn(async move {
            let answer = store
                .apply_reports(&closure, &reports, &worker, &policy, now, 3_600, "w1", 30)
                .await;
            (closure, answer)
        });
    }
    let mut answers = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (closure, answer) = done.unwrap();
        answers.insert(closure, answer);
    }
    answers
}

fn by_closure(leased: Vec<Leased>) -> BTreeMap<String, Vec<Leased>> {
    let mut map: BTreeMap<String, Vec<Leased>> = BTreeMap::new();
    for l in leased {
        map.entry(l.closure.clone()).or_default().push(l);
    }
    map
}

async fn closures_report_together(db: &common::Db) {
    let store = Store::open(&db.store_options()).await.unwrap();
    let mut policy = ClosurePolicy::cascade();
    policy.grace_period_days = 0;
    policy.authorization.inactivity_closure = true;
    let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
    let system = common::actor("system:inactivity-sweep", ActorRole::System, now);
    let worker = common::actor("worker:test", ActorRole::System, now);
    for i in 0..CLOSURES {
        let id = format!("u_group_{i:02}");
        let data = samples::copy_of(
            if i % 2 == 0 {
                "lone-user"
            } else {
                "team-owner"
            },
            &id,
        )
        .unwrap();
        store.put_account(&id, &data, now).await.unwrap();
        store
            .sweep_inactive(&id, &system, &policy, now, 3_600)
            .await
            .unwrap();
    }
    while !matches!(
        store.tick_due(&worker, &policy, now, 3_600).await.unwrap(),
        Ticked::NothingDue
    ) {}
    let first = by_closure(store.lease_effects("w1", now, 30, 1_000).await.unwrap());
    assert_eq!(
        first.len(),
        CLOSURES,
        "{}: every closure has a stage due",
        db.label
    );
    let before = store.report_transactions();

    // Twelve closures report their first stage at once: every report is
    // taken, each closure's next stage comes back leased to w1, and the
    // twelve batches went through fewer transactions than twelve.
    let answers = report_all(&store, first.clone(), None, &policy, &worker, now).await;
    let after = store.report_transactions();
    let (transactions, batches) = (after.0 - before.0, after.1 - before.1);
    assert_eq!(batches, CLOSURES as u64, "{}", db.label);
    assert!(
        transactions < batches,
        "{}: {transactions} transactions for {batches} batches",
        db.label
    );
    let mut second = BTreeMap::new();
    for (closure, answer) in answers {
        let reports = answer.unwrap_or_else(|e| panic!("{}: {closure}: {e}", db.label));
        assert_eq!(reports.results.len(), first[&closure].len());
        assert!(reports
            .results
            .iter()
            .all(|r| matches!(r, Reported::Accepted)));
        assert!(!reports.next.is_empty(), "{closure}: a next stage");
        assert!(reports.next.iter().all(|l| l.closure == closure));
        // Leased in the same transaction: nobody else can lease them now.
        second.insert(closure, reports.next);
    }
    assert!(
        store
            .lease_effects("w2", now, 30, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "{}: the next stages are leased to the reporting worker",
        db.label
    );

    // A batch for a closure that does not exist joins the next group: it
    // gets its own error; the twelve others are written all the same.
    let answers = report_all(
        &store,
        second.clone(),
        Some("c_no_such_closure"),
        &policy,
        &worker,
        now,
    )
    .await;
    for (closure, answer) in answers {
        if closure == "c_no_such_closure" {
            assert!(
                matches!(answer, Err(ServiceError::NoClosure(_))),
                "{}: {answer:?}",
                db.label
            );
            continue;
        }
        let reports = answer.unwrap_or_else(|e| panic!("{}: {closure}: {e}", db.label));
        assert!(reports
            .results
            .iter()
            .all(|r| matches!(r, Reported::Accepted)));
        assert_eq!(reports.results.len(), second[&closure].len());
    }
    // What was written is what was answered: the second stages are settled.
    let rows = store.effects(None, 10_000).await.unwrap();
    for items in first.values().chain(second.values()) {
        for item in items {
            let row = rows
                .iter()
                .find(|r| r.key == item.effect.id.as_str())
                .unwrap();
            assert_eq!(row.status, "done", "{}: {}", db.label, row.key);
        }
    }
}

#[test]
fn closures_reporting_together_share_a_transaction_and_keep_their_own_answers() {
    // One thread: the twelve tasks hand over their batches before the
    // committer takes the first, so they form one group.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for db in common::databases("group_commit") {
        runtime.block_on(closures_report_together(&db));
    }
}
