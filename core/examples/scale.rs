//! Runs the library once on generated input, for counting instructions with
//! callgrind (`scripts/bench.sh` does this and writes the counts into
//! `BENCHMARKS.md`):
//!
//! ```text
//! CARGO_PROFILE_RELEASE_DEBUG=1 cargo build --release -p offboard --example scale
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/scale assess 100000
//! callgrind_annotate --inclusive=yes cg.out | grep -E 'assess::assess \[|Snapshot::from_json \['
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/scale steps
//! callgrind_annotate --inclusive=yes cg.out | grep -E 'json::step_with \['
//! ```
//!
//! `assess N`: parse and assess a snapshot of about N entities (see
//! `benches/common`), policy `cascade`. `steps`: the four steps of
//! `benches/goals.rs` (request, confirm, tick into execution, report an
//! outcome) through `json::step_with`, each once. Both print the input sizes
//! the counts are divided by. `emit N` prints the snapshot of about N
//! entities, for the Node benchmarks.

// An example aborts on bad arguments with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/steps.rs"]
mod steps;

use offboard::{assess, Actor, ClosurePolicy, Snapshot};

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("steps") => steps(),
        Some("held-steps") => held_steps(),
        Some("emit") => {
            let entities = args
                .next()
                .map_or(1_000, |a| a.parse::<usize>().expect("a number of entities"));
            print!("{}", common::snapshot(entities).0);
        }
        Some("assess") | None => {
            let entities = args.next().map_or(10_000, |a| {
                a.parse::<usize>().expect("a number of entities")
            });
            parse_and_assess(entities);
        }
        Some(other) => {
            panic!("unknown mode {other}: use `assess N`, `steps`, `held-steps` or `emit N`")
        }
    }
}

/// A field of `/proc/self/status`, in kB (0 where there is none).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn parse_and_assess(entities: usize) {
    let (json, entities) = common::snapshot(entities);
    // Peak memory of parse + assess: the resident high-water mark is reset
    // once the input exists, so the peak counts only what they add. A fresh
    // process has no freed memory to hide an allocation in.
    let rss_before = status_kb("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let snapshot = Snapshot::from_json(&json).unwrap();
    let now = snapshot.taken_at;
    let report = assess(
        &snapshot,
        &Actor::holder(&snapshot.account, now),
        &ClosurePolicy::cascade(),
        now,
    )
    .unwrap();
    let tenants_deleted = report.consequences.counts.tenants_deleted;
    let members_removed = report.consequences.counts.members_removed;
    let added = status_kb("VmHWM:").saturating_sub(rss_before) * 1024;
    drop(report);
    drop(snapshot);
    println!(
        "entities={entities} bytes={} peak_added={added} tenants_deleted={tenants_deleted} members_removed={members_removed}",
        json.len(),
    );
}

fn steps() {
    // Building the sequence runs each step exactly once: that is what is counted.
    let inputs = steps::inputs(&steps::policy());
    let bytes: usize = inputs.iter().map(steps::StepInput::input_len).sum();
    println!("steps={} bytes={bytes}", inputs.len());
}

/// The same four steps through a [`Closure`](offboard::machine::Closure)
/// handle, as a host that keeps the closure in memory runs them: the
/// policy checked once, the snapshot and the commands already typed. Each
/// `Closure::step` runs once; the counts are divided by four.
fn held_steps() {
    use offboard::machine::{Closure, ClosureState, Command, Outcome};
    let policy = steps::policy();
    let snapshot = Snapshot::from_json(&steps::sample()).unwrap();
    let holder = Actor::holder(&snapshot.account, snapshot.taken_at);
    let system = Actor::system_as(offboard::model::UserId::new("host").unwrap());
    let now = snapshot.taken_at;
    let later = now + chrono::TimeDelta::days(3);
    let phrase = policy.confirmation_phrase(&snapshot.account).unwrap();
    let state = ClosureState::new("cl_1", snapshot.account.id.clone()).unwrap();
    let mut closure = Closure::new(state, policy.clone()).unwrap();
    let _ = closure
        .step(&Command::request(), &holder, Some(&snapshot), now)
        .unwrap();
    let _ = closure
        .step(&Command::confirm(phrase), &holder, Some(&snapshot), now)
        .unwrap();
    let ticked = closure
        .step(&Command::Tick, &system, Some(&snapshot), later)
        .unwrap();
    let effect = ticked.effects.first().unwrap().id.clone();
    let report = Command::report(effect, Outcome::Succeeded);
    held_report(&mut closure, &report, &system, later);
    println!("steps=4 version={}", closure.version());
}

/// The last of the four, the step a worker takes most (an outcome
/// reported), apart so that callgrind counts it alone.
#[inline(never)]
fn held_report(
    closure: &mut offboard::machine::Closure,
    report: &offboard::machine::Command,
    system: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) {
    let _ = closure.step(report, system, None, at).unwrap();
}
