//! Any bytes as a snapshot: parsing and, when it parses, assessing under both
//! presets must give an assessment or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::{assess, Actor, ClosurePolicy, Snapshot};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(snapshot) = Snapshot::from_json(text) else {
        return;
    };
    let now = snapshot.taken_at;
    let actor = Actor::holder(&snapshot.account, now);
    for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
        if let Ok(report) = assess(&snapshot, &actor, &policy, now) {
            assert_eq!(report.can_close, report.blockers.is_empty());
        }
    }
});
