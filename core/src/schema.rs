//! JSON Schemas of every document that crosses the boundary, generated from
//! the Rust types. The checked-in copies under `schema/` are compared with
//! these by the test suite; regenerate them with
//! `cargo run -p offboard-cli -- schema schema`.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

use crate::assess::Assessment;
use crate::audit::AuditEvent;
use crate::error::ErrorCode;
use crate::json::{ErrorReport, Verification};
use crate::machine::{Change, ClosureState, Command, Step};
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
/// state, command), then outputs (assessment, step, change, effect, audit event,
/// change, audit verification, error report, error code). The closure state is both: the host stores what a step returns
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
        generate::<Change>("change", Direction::Output),
        generate::<Effect>("effect", Direction::Output),
        generate::<AuditEvent>("audit-event", Direction::Output),
        generate::<Verification>("verification", Direction::Output),
        generate::<ErrorReport>("error-report", Direction::Output),
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

/// TypeScript declarations for every schema: one `export type` per named
/// definition and per document, converted from the JSON Schemas above, so
/// the npm package's types come from the same Rust types as everything else.
pub fn typescript() -> String {
    let mut defs = std::collections::BTreeMap::new();
    let mut roots = Vec::new();
    for named in all() {
        let schema = &named.schema;
        if let Some(map) = schema.get("$defs").and_then(|d| d.as_object()) {
            for (name, def) in map {
                defs.entry(name.clone()).or_insert_with(|| def.clone());
            }
        }
        let title = schema
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or(named.name)
            .to_owned();
        roots.push((title, schema.clone()));
    }
    let mut out = String::from(
        "// Generated from offboard's JSON Schemas (themselves generated from the Rust types).\n\
         // Do not edit: run ./scripts/regenerate.sh.\n",
    );
    let mut emitted = std::collections::BTreeSet::new();
    for (name, schema) in roots
        .iter()
        .map(|(n, s)| (n.clone(), s.clone()))
        .chain(defs)
    {
        if !emitted.insert(name.clone()) {
            continue;
        }
        out.push('\n');
        out.push_str(&doc_comment(&schema, ""));
        out.push_str(&format!("export type {name} = {};\n", ts_type(&schema, "")));
    }
    out
}

fn doc_comment(schema: &serde_json::Value, indent: &str) -> String {
    match schema.get("description").and_then(|d| d.as_str()) {
        Some(text) => {
            let lines: Vec<String> = text
                .lines()
                .map(|l| format!("{indent} * {l}").trim_end().to_owned())
                .collect();
            format!("{indent}/**\n{}\n{indent} */\n", lines.join("\n"))
        }
        None => String::new(),
    }
}

fn ts_type(schema: &serde_json::Value, indent: &str) -> String {
    use serde_json::Value;
    let Some(obj) = schema.as_object() else {
        return if schema == &Value::Bool(true) {
            "unknown".to_owned()
        } else {
            "never".to_owned()
        };
    };
    if let Some(reference) = obj.get("$ref").and_then(|r| r.as_str()) {
        return reference.rsplit('/').next().unwrap_or("unknown").to_owned();
    }
    if let Some(constant) = obj.get("const") {
        return constant.to_string();
    }
    if let Some(values) = obj.get("enum").and_then(|e| e.as_array()) {
        return values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let mut parts = Vec::new();
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = obj.get(key).and_then(|o| o.as_array()) {
            let union: Vec<String> = options.iter().map(|o| ts_type(o, indent)).collect();
            parts.push(if union.len() > 1 {
                format!("({})", union.join(" | "))
            } else {
                union.join("")
            });
        }
    }
    if let Some(all) = obj.get("allOf").and_then(|o| o.as_array()) {
        parts.extend(all.iter().map(|o| ts_type(o, indent)));
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let union: Vec<String> = types.iter().map(|t| primitive(t, obj, indent)).collect();
        parts.insert(
            0,
            if union.len() > 1 {
                format!("({})", union.join(" | "))
            } else {
                union.join("")
            },
        );
    } else if obj.contains_key("properties") {
        parts.insert(0, primitive("object", obj, indent));
    }
    match parts.len() {
        0 => "unknown".to_owned(),
        1 => parts.remove(0),
        _ => parts.join(" & "),
    }
}

fn primitive(kind: &str, obj: &serde_json::Map<String, serde_json::Value>, indent: &str) -> String {
    match kind {
        "string" => "string".to_owned(),
        "integer" | "number" => "number".to_owned(),
        "boolean" => "boolean".to_owned(),
        "null" => "null".to_owned(),
        "array" => match obj.get("items") {
            Some(items) => format!("Array<{}>", ts_type(items, indent)),
            None => "unknown[]".to_owned(),
        },
        "object" => {
            let Some(properties) = obj.get("properties").and_then(|p| p.as_object()) else {
                return match obj.get("additionalProperties") {
                    Some(serde_json::Value::Bool(false)) => "Record<string, never>".to_owned(),
                    Some(value @ serde_json::Value::Object(_)) => {
                        format!("Record<string, {}>", ts_type(value, indent))
                    }
                    _ => "Record<string, unknown>".to_owned(),
                };
            };
            let required: Vec<&str> = obj
                .get("required")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let inner = format!("{indent}  ");
            let mut out = String::from("{\n");
            for (key, value) in properties {
                out.push_str(&doc_comment(value, &inner));
                let optional = if required.contains(&key.as_str()) {
                    ""
                } else {
                    "?"
                };
                out.push_str(&format!(
                    "{inner}{key}{optional}: {};\n",
                    ts_type(value, &inner)
                ));
            }
            out.push_str(indent);
            out.push('}');
            out
        }
        _ => "unknown".to_owned(),
    }
}
