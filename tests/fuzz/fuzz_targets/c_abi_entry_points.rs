//! Raw bytes through the C ABI's other entry points: the first byte picks
//! one of `offboard_policy_from_json`, `offboard_state_new`,
//! `offboard_step_keyed`, `offboard_next_tick`, `offboard_audit_verify`,
//! `offboard_audit_verify_keyed` and `offboard_digest_hex`; the rest is
//! split at NUL bytes into its text arguments, with lengths from the data
//! (so invalid UTF-8, embedded garbage and empty texts all arrive). A policy
//! argument is parsed from the first part when it is a policy, or is the
//! cascade preset. Every call must return a status, write its outputs only
//! on success, and the outputs must free cleanly.
#![no_main]

use std::ffi::c_char;

use libfuzzer_sys::fuzz_target;
use offboard_abi::{
    offboard_audit_verify, offboard_audit_verify_keyed, offboard_digest_hex, offboard_next_tick,
    offboard_policy_free, offboard_policy_from_json, offboard_policy_preset, offboard_state_new,
    offboard_step_keyed, offboard_string_free, OffboardPolicy, OffboardStatus,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<&[u8]> = rest.splitn(6, |b| *b == 0).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or(b"");
    let text = |bytes: &[u8]| -> (*const c_char, usize) { (bytes.as_ptr().cast(), bytes.len()) };
    let p: Vec<(*const c_char, usize)> = (0..6).map(|i| text(part(i))).collect();
    let arg = |i: usize| p.get(i).copied().unwrap_or((std::ptr::null(), 0));
    let mut out: *mut c_char = std::ptr::null_mut();
    let mut out_len = 0usize;
    // SAFETY: every pointer comes with the length of the slice it points
    // into; out-parameters are live locals.
    unsafe {
        let mut parsed: *mut OffboardPolicy = std::ptr::null_mut();
        let status = offboard_policy_from_json(arg(0).0, arg(0).1, &mut parsed);
        assert!(status == OffboardStatus::Ok || parsed.is_null());
        let mut policy = parsed;
        if policy.is_null() {
            let name = text(b"cascade");
            assert_eq!(
                offboard_policy_preset(name.0, name.1, &mut policy),
                OffboardStatus::Ok
            );
        }
        let status = match which % 6 {
            0 => offboard_state_new(
                arg(1).0,
                arg(1).1,
                arg(2).0,
                arg(2).1,
                &mut out,
                &mut out_len,
            ),
            1 => offboard_step_keyed(
                arg(1).0,
                arg(1).1,
                arg(2).0,
                arg(2).1,
                arg(3).0,
                arg(3).1,
                policy,
                arg(4).0,
                arg(4).1,
                b"2026-11-23T10:00:00Z".as_ptr().cast(),
                20,
                arg(5).0,
                arg(5).1,
                b"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
                    .as_ptr()
                    .cast(),
                64,
                &mut out,
                &mut out_len,
            ),
            2 => offboard_next_tick(arg(1).0, arg(1).1, policy, &mut out, &mut out_len),
            3 => offboard_audit_verify(
                arg(1).0,
                arg(1).1,
                arg(2).0,
                arg(2).1,
                &mut out,
                &mut out_len,
            ),
            4 => offboard_audit_verify_keyed(
                arg(1).0,
                arg(1).1,
                arg(2).0,
                arg(2).1,
                arg(3).0,
                arg(3).1,
                arg(4).0,
                arg(4).1,
                &mut out,
                &mut out_len,
            ),
            _ => offboard_digest_hex(arg(1).0, arg(1).1, &mut out, &mut out_len),
        };
        assert!(status == OffboardStatus::Ok || out.is_null());
        if status == OffboardStatus::Ok {
            assert!(!out.is_null());
        }
        offboard_string_free(out);
        assert_eq!(offboard_policy_free(policy), OffboardStatus::Ok);
    }
});
