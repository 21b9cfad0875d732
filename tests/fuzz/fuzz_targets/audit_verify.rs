//! Any bytes as an audit log and a head (split at the first NUL byte):
//! verifying it, plain and keyed, gives a verification report or a typed
//! error, never a panic, and a report always parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offboard::json;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let Some(Ok(events)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let head = parts.next().and_then(|h| std::str::from_utf8(h).ok());
    let key = json::audit_key("k_fuzz", &"07".repeat(32)).expect("a valid key");
    for key in [None, Some(&key)] {
        if let Ok(report) = json::verify_keyed(events, head, key) {
            let _: serde_json::Value =
                serde_json::from_str(&report).expect("a report the core wrote parses");
        }
    }
});
