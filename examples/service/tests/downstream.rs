//! A product plugs its own downstream system in through the `Downstream`
//! trait, and the worker sends it exactly the effects that belong to it,
//! each once under its key. In process, on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use offboard::machine::Command;
use offboard::model::UserId;
use offboard::{Actor, ActorRole};
use offboard_service::adapters::{Adapter, Answer, Call, Downstream};
use offboard_service::store::Lookup;
use offboard_service::App;

/// Billing as a product would write it, keeping what it was asked: every
/// call it receives, and the actions it performed (once per key).
#[derive(Debug, Default)]
struct CountingBilling {
    received: Mutex<Vec<String>>,
    performed: Mutex<BTreeMap<String, String>>,
}

impl Downstream for CountingBilling {
    fn perform<'a>(&'a self, call: Call<'a>) -> Answer<'a> {
        Box::pin(async move {
            self.received.lock().unwrap().push(call.key.to_owned());
            self.performed
                .lock()
                .unwrap()
                .entry(call.key.to_owned())
                .or_insert_with(|| call.action.kind().to_owned());
            Ok(())
        })
    }
}

fn config(db: &common::Db) -> offboard_service::Config {
    let mut args = db.args.clone();
    args.extend(db.reset.iter().cloned());
    args.extend(["--no-api".to_owned(), "--allow-time-travel".to_owned()]);
    offboard_service::Config::from_args(&args).unwrap()
}

#[test]
fn a_plugged_in_billing_system_gets_every_billing_effect_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in common::databases("downstream") {
        runtime.block_on(async {
            let billing = Arc::new(CountingBilling::default());
            let mut app = App::open(config(&db)).await.unwrap();
            app.adapters = app.adapters.with(Adapter::Billing, billing.clone());
            let app = Arc::new(app);
            let now = app.clock.now();
            let lena = Actor {
                id: UserId::new("u_lena").unwrap(),
                role: ActorRole::User,
                reauthenticated_at: Some(now),
            };
            let request = Command::Request {
                feedback: None,
                token_digest: None,
                reason: None,
            };
            let confirm = Command::Confirm {
                value: "lena@example.org".into(),
            };
            for command in [request, confirm] {
                app.store
                    .apply(
                        Lookup::Account("u_lena"),
                        &command,
                        &lena,
                        &app.policy,
                        app.clock.now(),
                        3_600,
                        None,
                    )
                    .await
                    .unwrap();
            }
            let worker = Actor {
                id: UserId::new("worker:test").unwrap(),
                role: ActorRole::System,
                reauthenticated_at: None,
            };
            let (_stop, stop) = tokio::sync::watch::channel(false);
            for _ in 0..50 {
                offboard_service::worker::pass(&app, "test", &worker, &stop)
                    .await
                    .unwrap();
                if app.store.closure("u_lena").await.unwrap().phase == "closed" {
                    break;
                }
            }
            assert_eq!(
                app.store.closure("u_lena").await.unwrap().phase,
                "closed",
                "{}",
                db.label
            );
            // Billing got its effects, and only those, each once.
            let billing_effects: BTreeMap<String, String> = app
                .store
                .effects(None, 1_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.adapter == "billing")
                .map(|e| (e.key, e.action))
                .collect();
            assert_eq!(
                billing_effects.values().cloned().collect::<Vec<_>>().len(),
                3,
                "{}: {billing_effects:?}",
                db.label
            );
            assert_eq!(
                *billing.performed.lock().unwrap(),
                billing_effects,
                "{}",
                db.label
            );
            let received = billing.received.lock().unwrap().clone();
            assert_eq!(
                received.len(),
                billing_effects.len(),
                "{}: {received:?}",
                db.label
            );
            // The fakes kept no record of billing: it went to the product's system.
            assert!(app
                .store
                .effects(None, 1_000)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.adapter == "billing")
                .all(|e| e.calls == 0));
        });
    }
}
