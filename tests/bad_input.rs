//! Replays the bad-input corpus (`tests/fixtures/bad/`): each file must be
//! refused with the error code its name starts with, a clear message, and no
//! panic. The Node and C suites replay the same files.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use offboard::{assess, Actor, ClosurePolicy, Error, ErrorCode, Snapshot};
use offboard_acceptance::json_files;

fn expected_code(path: &std::path::Path) -> ErrorCode {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let code = stem.split("--").next().unwrap_or_default();
    ErrorCode::ALL
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or_else(|| panic!("{}: `{code}` is not an error code", path.display()))
}

fn snapshot_then_assess(text: &str) -> Result<(), Error> {
    let snapshot = Snapshot::from_json(text)?;
    let now = snapshot.taken_at;
    let actor = Actor::holder(&snapshot.account, now);
    assess(&snapshot, &actor, &ClosurePolicy::prerequisite(), now).map(|_| ())
}

fn replay(folder: &str, run: fn(&str) -> Result<(), Error>) -> BTreeSet<&'static str> {
    let files = json_files(folder);
    assert!(files.len() >= 10, "the corpus in {folder} looks empty");
    let mut seen = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = expected_code(&path);
        let err = run(&text).expect_err(&format!("{} was accepted", path.display()));
        assert_eq!(err.code(), expected, "{}: {err}", path.display());
        let message = err.to_string();
        assert!(
            message.len() > 20 && !message.contains("Error {"),
            "{}: unclear message {message:?}",
            path.display()
        );
        seen.insert(expected.as_str());
    }
    seen
}

#[test]
fn every_bad_snapshot_gets_its_code() {
    let seen = replay("tests/fixtures/bad/snapshot", snapshot_then_assess);
    // The codes a snapshot can earn; the policy and machine codes have their own tests.
    let expected: BTreeSet<&str> = [
        ErrorCode::MalformedJson,
        ErrorCode::SchemaMismatch,
        ErrorCode::UnsupportedVersion,
        ErrorCode::DuplicateId,
        ErrorCode::DanglingReference,
        ErrorCode::InvalidValue,
    ]
    .iter()
    .map(|c| c.as_str())
    .collect();
    assert_eq!(
        seen, expected,
        "every snapshot error code has a corpus case"
    );
}

#[test]
fn every_bad_policy_gets_its_code() {
    let seen = replay("tests/fixtures/bad/policy", |text| {
        ClosurePolicy::from_json(text).map(|_| ())
    });
    assert!(
        seen.contains("invalid_policy") && seen.contains("schema_mismatch"),
        "{seen:?}"
    );
}

#[test]
fn messages_point_at_the_problem() {
    let read =
        |name: &str| offboard_acceptance::read(&format!("tests/fixtures/bad/snapshot/{name}.json"));
    let err = snapshot_then_assess(&read("dangling_reference--subscription-of-missing-tenant"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "subscriptions[0].tenant refers to tenant `t_ghost`, which is not in the snapshot"
    );
    let err = snapshot_then_assess(&read("duplicate_id--domain-differing-in-case")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "two domain entries share the id `a.test` (at domains[1])"
    );
    let err = snapshot_then_assess(&read("unsupported_version--v2-with-new-fields")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the snapshot has schema version 2, but this build of offboard reads version 1"
    );
    let err = snapshot_then_assess(&read("schema_mismatch--negative-amount")).unwrap_err();
    assert!(
        err.to_string().contains("invalid value: integer `-100`"),
        "{err}"
    );
    // Deep nesting is refused at the first bracket the schema does not expect.
    let err = snapshot_then_assess(&read("schema_mismatch--deep-nesting")).unwrap_err();
    assert!(err.to_string().contains("line 1, column 35"), "{err}");
}

/// The expected result of a machine case: its directory name up to `--`.
fn expected_step(dir: &std::path::Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.split("--").next().unwrap_or_default().to_owned()
}

#[test]
fn every_machine_case_gets_its_code() {
    let root = offboard_acceptance::root().join("tests/fixtures/bad/step");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10);
    for dir in dirs {
        let file = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        let policy = ClosurePolicy::named(file("policy.txt").unwrap().trim()).unwrap();
        let snapshot = file("snapshot.txt")
            .map(|name| offboard_acceptance::read(&format!("examples/data/{}.json", name.trim())));
        let result = offboard::json::step_with(
            &file("state.json").unwrap(),
            &file("command.json").unwrap(),
            &file("actor.json").unwrap(),
            &policy,
            snapshot.as_deref(),
            file("now.txt").unwrap().trim(),
        );
        let got = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.code().as_str().to_owned(),
        };
        assert_eq!(got, expected_step(&dir), "{}: {result:?}", dir.display());
    }
}
