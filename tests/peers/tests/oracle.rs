//! The independent oracle: on random snapshots, actors, policies and times,
//! the Rego encoding of the blocker rules (`closure.rego`, evaluated by
//! regorus) and Offboard's own `assess` must find the same blockers, code and
//! subject, with no blocker reported twice.
//!
//! With the feature `cedar`, the Cedar encoding (`closure.cedar`) is held to
//! the same cases.
//!
//! CI runs 2 000 cases, without Cedar. The long run:
//! `PROPTEST_CASES=1000000 cargo test --release -p offboard-peers --test oracle`
//! (add `--features cedar` for the Cedar peer).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::collections::BTreeSet;

use offboard_peers::cases::{Case, Raw};
use offboard_peers::{offboard_blockers, Found, Rego};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

thread_local! {
    static REGO: RefCell<Rego> = RefCell::new(Rego::new().expect("closure.rego compiles"));
}

#[cfg(feature = "cedar")]
thread_local! {
    static CEDAR: offboard_peers::cedar::Cedar =
        offboard_peers::cedar::Cedar::new().expect("closure.cedar parses");
}

/// Offboard's blockers for a generated case, which it must accept.
fn ours(case: &Case) -> Vec<Found> {
    offboard_blockers(&case.snapshot, &case.actor, &case.policy, &case.now).unwrap_or_else(|e| {
        panic!("the generator made an input Offboard refuses ({e}):\n{case:#?}")
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn rego_and_offboard_find_the_same_blockers(raw in Raw::strategy()) {
        let case = raw.build().unwrap();
        let ours = ours(&case);
        let theirs = REGO.with(|rego| {
            rego.borrow_mut().blockers(&case.snapshot, &case.actor, &case.policy, &case.now)
        }).unwrap();
        prop_assert_eq!(&ours, &theirs, "the engines disagree on\n{:#?}", case);
    }

    #[cfg(feature = "cedar")]
    #[test]
    fn cedar_and_offboard_find_the_same_blockers(raw in Raw::strategy()) {
        let case = raw.build().unwrap();
        let ours = ours(&case);
        let theirs = CEDAR.with(|cedar| {
            cedar.blockers(&case.snapshot, &case.actor, &case.policy, &case.now)
        }).unwrap();
        prop_assert_eq!(&ours, &theirs, "Cedar and Offboard disagree on\n{:#?}", case);
    }
}

/// The samples the README walks through agree too, and the random draw is
/// wide enough to raise every blocker code at least once (so agreement is
/// not agreement on empty sets).
#[test]
fn samples_agree_and_the_draw_reaches_every_blocker_code() {
    let mut rego = Rego::new().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/data");
    let now = "2026-11-23T10:00:00Z";
    let mut compared = 0;
    for preset in ["cascade", "prerequisite"] {
        let policy = std::fs::read_to_string(format!("{data}/policies/{preset}.json")).unwrap();
        for entry in std::fs::read_dir(data).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let snapshot = std::fs::read_to_string(&path).unwrap();
            let id = serde_json::from_str::<serde_json::Value>(&snapshot).unwrap()["account"]["id"]
                .clone();
            let actor = format!(r#"{{"id":{id},"role":"user","reauthenticated_at":"{now}"}}"#);
            let ours = offboard_blockers(&snapshot, &actor, &policy, now).unwrap();
            let theirs = rego.blockers(&snapshot, &actor, &policy, now).unwrap();
            assert_eq!(ours, theirs, "{} under {preset}", path.display());
            #[cfg(feature = "cedar")]
            {
                let cedar = CEDAR
                    .with(|c| c.blockers(&snapshot, &actor, &policy, now))
                    .unwrap();
                assert_eq!(ours, cedar, "Cedar, {} under {preset}", path.display());
            }
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} samples compared");

    // A fixed draw of 3 000 cases from a seeded runner, counted by code.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = Raw::strategy();
    let mut codes = BTreeSet::new();
    for _ in 0..3_000 {
        let case = strategy
            .new_tree(&mut runner)
            .unwrap()
            .current()
            .build()
            .unwrap();
        let found =
            offboard_blockers(&case.snapshot, &case.actor, &case.policy, &case.now).unwrap();
        codes.extend(found.into_iter().map(|(code, _)| code));
    }
    // `scope_changed` is the machine's, at execution: `assess` never raises it.
    let all: BTreeSet<String> = offboard::BlockerCode::ALL
        .iter()
        .filter(|code| **code != offboard::BlockerCode::ScopeChanged)
        .map(|code| code.as_str().to_owned())
        .collect();
    let missing: Vec<_> = all.difference(&codes).collect();
    assert!(missing.is_empty(), "the draw never raises {missing:?}");
}
