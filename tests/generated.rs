//! Generated artifacts must match the code: the JSON Schemas under `schema/`
//! and the preset policies under `examples/data/policies/`. On a mismatch,
//! regenerate with the command in the failure message and review the diff.

// Test code fails by panicking: that is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use offboard::{schema, ClosurePolicy};
use offboard_acceptance::{json_files, read};

#[test]
fn schemas_match_the_code() {
    let regenerate = "regenerate with `./scripts/regenerate.sh`";
    let mut expected = BTreeSet::new();
    for s in schema::all() {
        let name = schema::file_name(&s);
        let stored = read(&format!("schema/{name}"));
        assert!(
            stored == schema::to_text(&s),
            "schema/{name} has drifted from the code; {regenerate}"
        );
        expected.insert(name);
    }
    let present: BTreeSet<String> = json_files("schema")
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    assert_eq!(
        present, expected,
        "schema/ holds files the code does not generate; {regenerate}"
    );
}

#[test]
fn preset_files_match_the_presets() {
    for name in ["cascade", "prerequisite"] {
        let stored =
            ClosurePolicy::from_json(&read(&format!("examples/data/policies/{name}.json")))
                .unwrap();
        assert!(
            stored == ClosurePolicy::preset(name).unwrap(),
            "examples/data/policies/{name}.json has drifted; regenerate with `cargo run -p offboard-cli -- policy {name}`"
        );
    }
}

#[test]
fn schemas_describe_the_documents() {
    let snapshot: serde_json::Value =
        serde_json::from_str(&read("schema/snapshot.schema.json")).unwrap();
    let required: Vec<&str> = snapshot["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["schema_version", "taken_at", "account"]);
    assert_eq!(
        snapshot["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    let assessment: serde_json::Value =
        serde_json::from_str(&read("schema/assessment.schema.json")).unwrap();
    let codes = assessment["$defs"]["BlockerCode"]["oneOf"]
        .as_array()
        .map(Vec::len)
        .unwrap_or_default()
        + assessment["$defs"]["BlockerCode"]["enum"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default();
    assert_eq!(
        codes,
        offboard::BlockerCode::ALL.len(),
        "every blocker code is in the schema"
    );
}

#[test]
fn readme_shows_the_current_diagram() {
    let readme = read("README.md");
    let diagram = offboard::machine::diagram();
    assert!(
        readme.contains(&format!("```mermaid\n{diagram}```")),
        "README.md's diagram has drifted; regenerate with `./scripts/regenerate.sh`"
    );
}

#[test]
fn typescript_declarations_match_the_code() {
    let stored = read("bindings-wasm/npm/types.d.ts");
    assert!(
        stored == schema::typescript(),
        "bindings-wasm/npm/types.d.ts has drifted; regenerate with `./scripts/regenerate.sh`"
    );
}

#[test]
fn every_audit_event_kind_is_in_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&read("schema/audit-event.schema.json")).unwrap();
    let variants = schema["$defs"]["Event"]["oneOf"].as_array().unwrap();
    let mut kinds: Vec<String> = variants
        .iter()
        .map(|v| {
            let kind = &v["properties"]["kind"];
            kind["const"]
                .as_str()
                .or_else(|| kind["enum"][0].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    kinds.sort();
    let mut ours: Vec<String> = offboard::audit::Event::KINDS
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    ours.sort();
    assert_eq!(
        kinds, ours,
        "the audit events in the schema and in the code"
    );
}

/// `Action::KINDS` (what the CLI's `--fail` accepts, what hosts route on)
/// lists exactly the action tags the effect schema knows.
#[test]
fn action_kinds_are_the_schemas_action_tags() {
    let effect = schema::all()
        .into_iter()
        .find(|s| s.name == "effect")
        .unwrap()
        .schema;
    let tags: BTreeSet<String> = effect["$defs"]["Action"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a["properties"]["type"]["const"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let kinds: BTreeSet<String> = offboard::plan::Action::KINDS
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    assert_eq!(
        kinds.len(),
        offboard::plan::Action::KINDS.len(),
        "a kind is listed twice"
    );
    assert_eq!(kinds, tags);
}
