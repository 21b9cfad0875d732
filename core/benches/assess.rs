//! Parse and assess cost against snapshot size.
//!
//! Run: `cargo bench -p offboard --bench assess`. Snapshots are generated
//! deterministically: `tenants` tenants owned by the account, each with
//! `members` members, one subscription, one domain and two invoices. The
//! per-entity time should stay flat as the size grows (linear cost).

// A benchmark aborts on bad setup; there is no outside input here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write;

use divan::counter::ItemsCount;
use divan::Bencher;
use offboard::{assess, Actor, ClosurePolicy, Snapshot};

fn main() {
    for size in SIZES {
        let (json, entities) = generate(size);
        println!(
            "snapshot {size:?}: {entities} entities, {} bytes of JSON",
            json.len()
        );
    }
    divan::main();
}

/// (tenants, members per tenant): 100, 10 000 and 100 000 members.
const SIZES: [(usize, usize); 3] = [(10, 10), (100, 100), (1000, 100)];

/// A snapshot as JSON text, and how many entities it holds.
fn generate((tenants, members): (usize, usize)) -> (String, usize) {
    let mut json = String::from(
        r#"{"schema_version":1,"taken_at":"2026-11-23T10:00:00Z","account":{"id":"u_a","email":"a@example.com","display_name":"A","kind":{"type":"self_serve"},"identity":{"type":"password"},"status":"active"},"tenants":["#,
    );
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"id":"t_{t}","name":"Tenant {t}","primary_owner":"u_a","members":[{{"user":"u_a","role":"owner"}}"#).unwrap();
        for m in 1..members {
            write!(json, r#",{{"user":"u_{t}_{m}","role":"member"}}"#).unwrap();
        }
        json.push_str("]}");
    }
    json.push_str(r#"],"subscriptions":["#);
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"id":"s_{t}","tenant":"t_{t}","plan":"Team","status":"active","current_period_end":"2027-01-01T00:00:00Z"}}"#).unwrap();
    }
    json.push_str(r#"],"domains":["#);
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"name":"d{t}.test","tenant":"t_{t}","active":true,"setup":{{"type":"full","nameservers_point_here":true}},"registration":{{"auto_renew":true,"expires_at":"2027-05-01T00:00:00Z"}}}}"#).unwrap();
    }
    json.push_str(r#"],"invoices":["#);
    for i in 0..tenants * 2 {
        let sep = if i == 0 { "" } else { "," };
        let t = i / 2;
        write!(json, r#"{sep}{{"id":"i_{i}","tenant":"t_{t}","status":"paid","amount_due":0,"currency":"EUR","issued_at":"2026-10-01T00:00:00Z"}}"#).unwrap();
    }
    json.push_str("]}");
    (json, tenants * (members + 4))
}

#[divan::bench(args = SIZES)]
fn parse(bencher: Bencher, size: (usize, usize)) {
    let (json, entities) = generate(size);
    bencher
        .counter(ItemsCount::new(entities))
        .bench(|| Snapshot::from_json(divan::black_box(&json)).unwrap());
}

#[divan::bench(args = SIZES)]
fn parse_and_assess(bencher: Bencher, size: (usize, usize)) {
    let (json, entities) = generate(size);
    let policy = ClosurePolicy::prerequisite();
    bencher.counter(ItemsCount::new(entities)).bench(|| {
        let snapshot = Snapshot::from_json(divan::black_box(&json)).unwrap();
        let now = snapshot.taken_at;
        let actor = Actor::holder(&snapshot.account, now);
        assess(&snapshot, &actor, &policy, now).unwrap()
    });
}

#[divan::bench(args = SIZES)]
fn assess_only(bencher: Bencher, size: (usize, usize)) {
    let (json, entities) = generate(size);
    let snapshot = Snapshot::from_json(&json).unwrap();
    let now = snapshot.taken_at;
    let actor = Actor::holder(&snapshot.account, now);
    let policy = ClosurePolicy::cascade();
    bencher
        .counter(ItemsCount::new(entities))
        .bench(|| assess(divan::black_box(&snapshot), &actor, &policy, now).unwrap());
}
