//! Core stays pure: only the dependencies the design allows, chrono without
//! its clock, and no I/O, clock, environment or randomness in its sources.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use offboard_acceptance::{read, root};

#[test]
fn core_depends_only_on_the_allowed_crates() {
    let manifest = read("core/Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    let mut names: Vec<&str> = deps
        .lines()
        .filter_map(|line| line.split('=').next())
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect();
    names.sort_unstable();
    // sha2: the audit hash chain and confirmation-token digests need a real hash.
    // foldhash: the index's hash tables, without its `std` feature (which
    // would seed from the clock).
    assert_eq!(
        names,
        [
            "chrono",
            "foldhash",
            "schemars",
            "serde",
            "serde_json",
            "sha2",
            "thiserror"
        ]
    );
    let foldhash = deps.lines().find(|l| l.starts_with("foldhash")).unwrap();
    assert!(
        foldhash.contains("default-features = false") && !foldhash.contains("std"),
        "foldhash must not seed from the clock: {foldhash}"
    );
    let chrono = deps.lines().find(|l| l.starts_with("chrono")).unwrap();
    assert!(
        chrono.contains("default-features = false") && !chrono.contains("clock"),
        "chrono must not bring its clock: {chrono}"
    );
}

#[test]
fn core_sources_read_no_clock_environment_randomness_or_files() {
    let forbidden = [
        "std::fs",
        "std::env",
        "std::net",
        "std::process",
        "std::time",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "rand::",
        "println!",
        "eprintln!",
    ];
    let mut stack = vec![root().join("core/src")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may print; only the code that ships is held to this.
            let before_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
            // Doc examples may print too: they run in the doctest harness, not in core.
            let shipped: String = before_tests
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect();
            for word in forbidden {
                assert!(!shipped.contains(word), "{} uses {word}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "found only {checked} core source files");
}
