//! Any bytes as a stored state and a policy (split at the first NUL byte):
//! asking when to tick next gives a time, `null` or a typed error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::json;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let (Some(state), Some(policy)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(state), Ok(policy)) = (std::str::from_utf8(state), std::str::from_utf8(policy)) else {
        return;
    };
    if let Ok(answer) = json::next_tick(state, policy) {
        let _: serde_json::Value =
            serde_json::from_str(&answer).expect("an answer the core wrote parses");
    }
});
