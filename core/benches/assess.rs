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

use divan::counter::ItemsCount;
use divan::Bencher;
use offboard::{assess, Actor, ClosurePolicy, Snapshot};

mod common;
use common::generate;

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
