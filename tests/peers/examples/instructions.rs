//! One end-to-end call of an engine on a generated snapshot, for callgrind:
//! `instructions offboard|rego N` builds the snapshot of about N entities
//! and the engine (Rego's policy compiled) first, then makes one call in
//! [`measured`], which `scripts/bench.sh instructions` counts alone
//! (`--toggle-collect=instructions::measured`). Both calls go from JSON
//! text to the blockers: Offboard's `json::assess`, and the Rego peer's
//! input document, evaluation and answer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use offboard_peers::Rego;

#[path = "../../../core/benches/common/mod.rs"]
mod common;

#[inline(never)]
fn measured(engine: &mut dyn FnMut() -> usize) -> usize {
    engine()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let engine = args.next().expect("offboard or rego");
    let entities: usize = args.next().expect("a size").parse().expect("a number");
    let policy = offboard::json::preset("prerequisite").unwrap();
    let now = "2026-11-23T10:00:00Z";
    let actor = format!(r#"{{"id":"u_a","role":"user","reauthenticated_at":"{now}"}}"#);
    let (text, count) = common::snapshot(entities);
    let found = match engine.as_str() {
        "offboard" => measured(&mut || {
            black_box(offboard::json::assess(black_box(&text), &actor, &policy, now).unwrap()).len()
        }),
        "rego" => {
            let mut rego = Rego::new().unwrap();
            measured(&mut || {
                black_box(
                    rego.blockers(black_box(&text), &actor, &policy, now)
                        .unwrap(),
                )
                .len()
            })
        }
        other => panic!("unknown engine {other}"),
    };
    println!("entities={count} bytes={} answer={found}", text.len());
}
