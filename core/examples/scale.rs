//! Parses and assesses one generated snapshot, for counting instructions:
//!
//! ```text
//! CARGO_PROFILE_RELEASE_DEBUG=1 cargo build --release -p offboard --example scale
//! valgrind --tool=callgrind target/release/examples/scale 100000
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'assess::assess|Snapshot::from_json'
//! ```
//!
//! Argument: the number of entities (see `benches/common`).

// An example aborts on bad arguments with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../benches/common/mod.rs"]
mod common;

use offboard::{assess, Actor, ClosurePolicy, Snapshot};

fn main() {
    let entities = std::env::args().nth(1).map_or(10_000, |a| {
        a.parse::<usize>().expect("a number of entities")
    });
    let (json, entities) = common::snapshot(entities);
    let snapshot = Snapshot::from_json(&json).unwrap();
    let now = snapshot.taken_at;
    let report = assess(
        &snapshot,
        &Actor::holder(&snapshot.account, now),
        &ClosurePolicy::cascade(),
        now,
    )
    .unwrap();
    println!(
        "{entities} entities, {} bytes: {} tenants deleted, {} members removed",
        json.len(),
        report.consequences.counts.tenants_deleted,
        report.consequences.counts.members_removed
    );
}
