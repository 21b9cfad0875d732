//! JSON Schemas of every document that crosses the boundary, generated from
//! the Rust types. The checked-in copies under `schema/` are compared with
//! these by the test suite; regenerate them with
//! `cargo run -p offboard-cli -- schema schema`.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

use crate::assess::Assessment;
use crate::audit::AuditEvent;
use crate::error::ErrorCode;
use crate::machine::{ClosureState, Command, Step};
use crate::model::{Actor, Snapshot};
use crate::plan::Effect;
use crate::policy::ClosurePolicy;

/// One generated schema: the file stem it is written under and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSchema {
    /// File stem, e.g. `snapshot` for `snapshot.schema.json`.
    pub name: &'static str,
    /// The schema document.
    pub schema: serde_json::Value,
}

/// Whether a document is read by the core (inputs) or written by it (outputs);
/// serde attributes such as `skip_serializing_if` differ between the two.
#[derive(Clone, Copy)]
enum Direction {
    Input,
    Output,
}

fn generate<T: JsonSchema>(name: &'static str, direction: Direction) -> NamedSchema {
    let settings = SchemaSettings::draft2020_12();
    let settings = match direction {
        Direction::Input => settings.for_deserialize(),
        Direction::Output => settings.for_serialize(),
    };
    let schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    NamedSchema { name, schema }
}

/// Every schema, in a fixed order: inputs (snapshot, policy, actor, closure
/// state, command), then outputs (assessment, step, effect, audit event,
/// error code). The closure state is both: the host stores what a step returns
/// and hands it back.
pub fn all() -> Vec<NamedSchema> {
    vec![
        generate::<Snapshot>("snapshot", Direction::Input),
        generate::<ClosurePolicy>("policy", Direction::Input),
        generate::<Actor>("actor", Direction::Input),
        generate::<ClosureState>("closure-state", Direction::Input),
        generate::<Command>("command", Direction::Input),
        generate::<Assessment>("assessment", Direction::Output),
        generate::<Step>("step", Direction::Output),
        generate::<Effect>("effect", Direction::Output),
        generate::<AuditEvent>("audit-event", Direction::Output),
        generate::<ErrorCode>("error-code", Direction::Output),
    ]
}

/// The file name a schema is stored under: `<name>.schema.json`.
pub fn file_name(schema: &NamedSchema) -> String {
    format!("{}.schema.json", schema.name)
}

/// The exact text stored for a schema: pretty JSON with a final newline.
pub fn to_text(schema: &NamedSchema) -> String {
    let mut text = serde_json::to_string_pretty(&schema.schema).unwrap_or_default();
    text.push('\n');
    text
}
