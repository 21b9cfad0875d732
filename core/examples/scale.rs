//! Parses and assesses one generated snapshot, for counting instructions:
//!
//! ```text
//! CARGO_PROFILE_RELEASE_DEBUG=1 cargo build --release -p offboard --example scale
//! valgrind --tool=callgrind target/release/examples/scale 1000 100
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'assess::assess|Snapshot::from_json'
//! ```
//!
//! Arguments: tenants and members per tenant (see `benches/common`).

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
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("two numbers: tenants members"));
    let tenants = args.next().unwrap_or(100);
    let members = args.next().unwrap_or(100);
    let (json, entities) = common::generate((tenants, members));
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
