//! Raw bytes through the C ABI: split at NUL bytes into the text arguments of
//! `offboard_assess` and `offboard_step`, with lengths from the data. Every
//! call must return a status, write outputs only on success, and the outputs
//! must free cleanly.
#![no_main]

use std::ffi::c_char;

use libfuzzer_sys::fuzz_target;
use offboard_abi::{
    offboard_assess, offboard_policy_free, offboard_policy_preset, offboard_step,
    offboard_string_free, OffboardStatus,
};

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(4, |b| *b == 0).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or(b"");
    let text = |bytes: &[u8]| -> (*const c_char, usize) { (bytes.as_ptr().cast(), bytes.len()) };
    let (a, b, c, d) = (text(part(0)), text(part(1)), text(part(2)), text(part(3)));
    let now = text(b"2026-11-23T10:00:00Z");
    // SAFETY: every pointer comes with the length of the slice it points into.
    unsafe {
        let mut policy = std::ptr::null_mut();
        let name = text(b"cascade");
        assert_eq!(
            offboard_policy_preset(name.0, name.1, &mut policy),
            OffboardStatus::Ok
        );
        let mut out: *mut c_char = std::ptr::null_mut();
        let mut out_len = 0usize;
        let status = offboard_assess(a.0, a.1, b.0, b.1, policy, c.0, c.1, &mut out, &mut out_len);
        assert!(status == OffboardStatus::Ok || out.is_null());
        offboard_string_free(out);
        out = std::ptr::null_mut();
        let status = offboard_step(
            a.0,
            a.1,
            b.0,
            b.1,
            c.0,
            c.1,
            policy,
            d.0,
            d.1,
            now.0,
            now.1,
            &mut out,
            &mut out_len,
        );
        assert!(status == OffboardStatus::Ok || out.is_null());
        offboard_string_free(out);
        assert_eq!(offboard_policy_free(policy), OffboardStatus::Ok);
    }
});
