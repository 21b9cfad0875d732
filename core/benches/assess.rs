//! Parse and assess cost against snapshot size.
//!
//! Run: `cargo bench -p offboard --bench assess`. Snapshots are generated
//! deterministically by `common::snapshot` (tenant blocks of members,
//! subscriptions, a domain, a payment method and invoices). The per-entity
//! time should stay flat as the size grows (linear cost).

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
use common::snapshot;

fn main() {
    for size in SIZES {
        let (json, entities) = snapshot(size);
        println!(
            "snapshot {size}: {entities} entities, {} bytes of JSON",
            json.len()
        );
    }
    divan::main();
}

/// Entity counts (see `common`): about 1 KB, 50 KB, 1 MB and 10 MB of JSON.
/// `benches/goals.rs` adds the 100 MB size.
const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

#[divan::bench(args = SIZES)]
fn parse(bencher: Bencher, size: usize) {
    let (json, entities) = snapshot(size);
    bencher
        .counter(ItemsCount::new(entities))
        .bench(|| Snapshot::from_json(divan::black_box(&json)).unwrap());
}

#[divan::bench(args = SIZES)]
fn parse_and_assess(bencher: Bencher, size: usize) {
    let (json, entities) = snapshot(size);
    let policy = ClosurePolicy::prerequisite();
    bencher.counter(ItemsCount::new(entities)).bench(|| {
        let snapshot = Snapshot::from_json(divan::black_box(&json)).unwrap();
        let now = snapshot.taken_at;
        let actor = Actor::holder(&snapshot.account, now);
        assess(&snapshot, &actor, &policy, now).unwrap()
    });
}

#[divan::bench(args = SIZES)]
fn assess_only(bencher: Bencher, size: usize) {
    let (json, entities) = snapshot(size);
    let snapshot = Snapshot::from_json(&json).unwrap();
    let now = snapshot.taken_at;
    let actor = Actor::holder(&snapshot.account, now);
    let policy = ClosurePolicy::cascade();
    bencher
        .counter(ItemsCount::new(entities))
        .bench(|| assess(divan::black_box(&snapshot), &actor, &policy, now).unwrap());
}
