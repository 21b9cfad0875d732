//! Any bytes as a policy: parsing and validating, then using an accepted
//! policy on a sample account, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::{assess, Actor, ClosurePolicy, Snapshot};

const SAMPLE: &str = include_str!("../../../examples/data/domain-owner.json");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = ClosurePolicy::from_json(text) else {
        return;
    };
    let Ok(snapshot) = Snapshot::from_json(SAMPLE) else {
        return;
    };
    let now = snapshot.taken_at;
    let _ = assess(
        &snapshot,
        &Actor::holder(&snapshot.account, now),
        &policy,
        now,
    );
});
