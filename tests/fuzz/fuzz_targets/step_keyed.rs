//! Any bytes as a stored state, a command and an audit key's secret (split
//! at NUL bytes): a keyed step gives a new state or a typed error, never a
//! panic; a state it returns parses back, and events it writes from the
//! start of a chain verify under the key (and not as a plain chain).
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::audit::{verify, verify_keyed, AuditKey};
use offboard::json;
use offboard::machine::{ClosureState, Step};

const SAMPLE: &str = include_str!("../../../examples/data/team-owner.json");
const HOLDER: &str = r#"{"id":"u_omar","role":"user","reauthenticated_at":"2026-11-23T10:00:00Z"}"#;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let (Some(state), Some(command), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(state), Ok(command)) = (std::str::from_utf8(state), std::str::from_utf8(command))
    else {
        return;
    };
    // Short secrets are refused by `AuditKey::new`; that must not panic either.
    let Ok(key) = AuditKey::new("k1", secret) else {
        return;
    };
    let policy = offboard::ClosurePolicy::cascade();
    let Ok(text) = json::step_keyed(
        state,
        command,
        HOLDER,
        &policy,
        Some(SAMPLE),
        "2026-11-23T10:00:00Z",
        Some(&key),
    ) else {
        return;
    };
    let step: Step = serde_json::from_str(&text).expect("a step the core wrote parses");
    let next = serde_json::to_string(&step.state).expect("a state serialises");
    assert!(
        ClosureState::from_json(&next).is_ok(),
        "a state the core wrote parses back"
    );
    if step.audit.first().is_some_and(|e| e.sequence == 0) {
        assert!(verify_keyed(&step.audit, &key).is_ok(), "a keyed chain verifies under its key");
        assert!(verify(&step.audit).is_err(), "a keyed chain is not a plain one");
    }
});
