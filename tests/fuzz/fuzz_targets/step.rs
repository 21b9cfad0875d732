//! Any bytes as a stored state and a command (split at the first NUL byte):
//! a step gives a new state or a typed error, never a panic, and a state it
//! returns always parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::json;
use offboard::machine::{ClosureState, Step};

const SAMPLE: &str = include_str!("../../../examples/data/team-owner.json");
const HOLDER: &str = r#"{"id":"u_omar","role":"user","reauthenticated_at":"2026-11-23T10:00:00Z"}"#;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let (Some(state), Some(command)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(state), Ok(command)) = (std::str::from_utf8(state), std::str::from_utf8(command))
    else {
        return;
    };
    let policy = offboard::ClosurePolicy::cascade();
    for snapshot in [Some(SAMPLE), None] {
        if let Ok(text) = json::step_with(
            state,
            command,
            HOLDER,
            &policy,
            snapshot,
            "2026-11-23T10:00:00Z",
        ) {
            let step: Step = serde_json::from_str(&text).expect("a step the core wrote parses");
            let next = serde_json::to_string(&step.state).expect("a state serialises");
            assert!(
                ClosureState::from_json(&next).is_ok(),
                "a state the core wrote parses back"
            );
        }
    }
});
