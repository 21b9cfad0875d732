//! Helpers shared by the acceptance tests: where the fixtures live and how to
//! load the sample accounts.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads a file below the repository root; a missing fixture fails the test.
pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Generated fixtures: with `OFFBOARD_REGENERATE=1` replaces the folder
/// `relative` below the root with `files` (path within it, text); either
/// way then fails unless every file holds exactly its text, naming
/// `regenerate`, the command that writes them.
pub fn write_or_check(relative: &str, files: &[(String, String)], regenerate: &str) {
    let dir = root().join(relative);
    if std::env::var_os("OFFBOARD_REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    for (name, text) in files {
        let path = dir.join(name);
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            &found,
            text,
            "{} is out of date: run {regenerate}",
            path.display()
        );
    }
}

/// The `.json` files of a folder below the root, sorted by name.
pub fn json_files(relative: &str) -> Vec<PathBuf> {
    let dir = root().join(relative);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()).unwrap_or_default())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The names of the sample accounts under `examples/data/`.
pub const SAMPLES: [&str; 5] = [
    "lone-user",
    "team-owner",
    "domain-owner",
    "contract",
    "sso-member",
];

/// The repository README's Rust tour runs as a doctest so it cannot rot
/// (the crate's own README is the core's doctest).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
