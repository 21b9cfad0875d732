//! The OpenAPI 3.1 document of the API, generated from the code: the paths,
//! methods and who may call them from [`crate::api::ENDPOINTS`] (the table
//! the authorization middleware enforces), the bodies' JSON Schemas from the
//! Rust types (`schemars`, as the library's own schemas are). The committed
//! copy, `examples/service/openapi.json`, is compared with this by a test;
//! `offboard-service --openapi` prints it and `./scripts/regenerate.sh`
//! writes it.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::api::{Access, Endpoint, DEFAULT_PAGE, ENDPOINTS, MAX_PAGE, REQUEST_ID};

/// A body's schema, registered in the document's components.
type Body = fn(&mut SchemaGenerator) -> Schema;

fn body<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What an endpoint takes and answers.
struct Shape {
    request: Option<Body>,
    status: u16,
    response: Option<Body>,
    /// Takes `If-Match` (required for the confirm).
    versioned: Option<bool>,
    /// A list in pages.
    paged: bool,
}

const fn shape(request: Option<Body>, status: u16, response: Option<Body>) -> Shape {
    Shape {
        request,
        status,
        response,
        versioned: None,
        paged: false,
    }
}

fn shape_of(endpoint: &Endpoint) -> Option<Shape> {
    use crate::adapters::Mode;
    use crate::api::{
        AdapterBody, AdvanceBody, AuditBody, BillingCustomer, ClockBody, ConfirmBody, Empty,
        Health, HoldBody, Page, RequestBody, SweepAnswer, SweepBody,
    };
    use crate::store::{AccountSummary, Applied, ClosureView, EffectRow, Stats};
    let command = |request: Option<Body>, status| Shape {
        versioned: Some(false),
        ..shape(request, status, Some(body::<Applied>))
    };
    Some(match (endpoint.method, endpoint.path) {
        ("GET", "/health") => shape(None, 200, Some(body::<Health>)),
        ("GET", "/v1/policy") => shape(None, 200, Some(body::<offboard::ClosurePolicy>)),
        ("GET", "/v1/accounts") => Shape {
            paged: true,
            ..shape(None, 200, Some(body::<Page<AccountSummary>>))
        },
        ("GET", "/v1/accounts/{account}/assessment") => {
            shape(None, 200, Some(body::<offboard::Assessment>))
        }
        ("POST", "/v1/accounts/{account}/closure") => command(Some(body::<RequestBody>), 201),
        ("GET", "/v1/accounts/{account}/closure") => shape(None, 200, Some(body::<ClosureView>)),
        ("POST", "/v1/accounts/{account}/closure/confirm") => Shape {
            versioned: Some(true),
            ..command(Some(body::<ConfirmBody>), 200)
        },
        ("POST", "/v1/accounts/{account}/closure/cancel") => command(Some(body::<Empty>), 200),
        ("GET", "/v1/accounts/{account}/closure/audit") => {
            shape(None, 200, Some(body::<AuditBody>))
        }
        ("PUT", "/v1/ops/accounts/{account}") => shape(Some(body::<offboard::Snapshot>), 204, None),
        ("GET", "/v1/ops/accounts/{account}") => shape(None, 200, Some(body::<offboard::Snapshot>)),
        ("PUT", "/v1/ops/accounts/{account}/billing-customer") => {
            shape(Some(body::<BillingCustomer>), 204, None)
        }
        ("GET", "/v1/ops/accounts/{account}/billing-customer") => {
            shape(None, 200, Some(body::<BillingCustomer>))
        }
        ("POST", "/v1/ops/accounts/{account}/holds") => command(Some(body::<HoldBody>), 200),
        ("DELETE", "/v1/ops/accounts/{account}/holds/{hold}") => command(None, 200),
        ("POST", "/v1/ops/accounts/{account}/closure/retry") => command(Some(body::<Empty>), 200),
        ("POST", "/v1/ops/accounts/{account}/closure/abort") => command(Some(body::<Empty>), 200),
        ("PUT", "/v1/ops/adapters/{adapter}") => {
            shape(Some(body::<Mode>), 200, Some(body::<AdapterBody>))
        }
        ("GET", "/v1/ops/clock") => shape(None, 200, Some(body::<ClockBody>)),
        ("POST", "/v1/ops/clock") => shape(Some(body::<AdvanceBody>), 200, Some(body::<ClockBody>)),
        ("GET", "/v1/ops/effects") => Shape {
            paged: true,
            ..shape(None, 200, Some(body::<Page<EffectRow>>))
        },
        ("GET", "/v1/ops/stats") => shape(None, 200, Some(body::<Stats>)),
        ("POST", "/v1/ops/sweeps/inactivity") => {
            shape(Some(body::<SweepBody>), 200, Some(body::<SweepAnswer>))
        }
        _ => return None,
    })
}

fn json_content(schema: Schema) -> Value {
    json!({ "application/json": { "schema": schema.to_value() } })
}

fn header(name: &str, description: &str, required: bool) -> Value {
    json!({ "name": name, "in": "header", "required": required,
            "description": description, "schema": { "type": "string" } })
}

/// The document, or the endpoints the generator has no shape for.
pub fn document() -> Result<Value, Vec<String>> {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12.
    let mut settings = SchemaSettings::draft2020_12().for_serialize();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    let error = body::<crate::error::ErrorBody>(&mut generator).to_value();
    let mut paths = Map::new();
    let mut missing = Vec::new();
    for endpoint in ENDPOINTS {
        let Some(shape) = shape_of(endpoint) else {
            missing.push(format!("{} {}", endpoint.method, endpoint.path));
            continue;
        };
        let mut parameters: Vec<Value> = endpoint
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if let Some(required) = shape.versioned {
            parameters.push(header(
                "If-Match",
                "the closure version the command was decided on (its ETag); another answers 412",
                required,
            ));
        }
        if endpoint.method == "POST" {
            parameters.push(header(
                "Idempotency-Key",
                "a retry with the same key gets the first answer; 1 to 255 visible ASCII characters",
                false,
            ));
        }
        if shape.paged {
            parameters.push(json!({ "name": "limit", "in": "query", "required": false,
                "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE } }));
            parameters.push(json!({ "name": "after", "in": "query", "required": false,
                "description": "the `next` cursor of the page before", "schema": { "type": "string" } }));
        }
        parameters.push(header(
            REQUEST_ID,
            "an id for the request, answered back",
            false,
        ));
        let mut responses = Map::new();
        let mut ok = Map::new();
        ok.insert("description".into(), json!("done"));
        if let Some(response) = shape.response {
            ok.insert("content".into(), json_content(response(&mut generator)));
        }
        responses.insert(shape.status.to_string(), Value::Object(ok));
        if endpoint.access != Access::Anyone {
            responses.insert(
                "401".into(),
                json!({ "description": "no token, or one that is not valid",
                "content": { "application/json": { "schema": error.clone() } } }),
            );
            responses.insert("403".into(), json!({ "description": "a caller this endpoint does not admit (`forbidden`), or a command the policy refuses them (`not_allowed`)",
                "content": { "application/json": { "schema": error.clone() } } }));
        }
        responses.insert(
            "default".into(),
            json!({ "description": "an error, with its code",
            "content": { "application/json": { "schema": error.clone() } } }),
        );
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(endpoint.summary));
        operation.insert("operationId".into(), json!(operation_id(endpoint)));
        operation.insert(
            "x-offboard-access".into(),
            json!(endpoint.access.describe()),
        );
        operation.insert("parameters".into(), Value::Array(parameters));
        operation.insert("responses".into(), Value::Object(responses));
        let security = if endpoint.access == Access::Anyone {
            json!([])
        } else {
            json!([{ "bearer": [] }])
        };
        operation.insert("security".into(), security);
        if let Some(request) = shape.request {
            operation.insert(
                "requestBody".into(),
                json!({ "required": true, "content": json_content(request(&mut generator)) }),
            );
        }
        if let Value::Object(item) = paths
            .entry(endpoint.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            item.insert(
                endpoint.method.to_ascii_lowercase(),
                Value::Object(operation),
            );
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "offboard-service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The reference account-closure service built on the offboard crate (examples/service)."
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }
            }
        }
    }))
}

fn operation_id(endpoint: &Endpoint) -> String {
    let words: Vec<&str> = endpoint
        .path
        .split('/')
        .filter(|p| !p.is_empty() && *p != "v1" && !p.starts_with('{'))
        .collect();
    format!(
        "{}_{}",
        endpoint.method.to_ascii_lowercase(),
        words.join("_").replace('-', "_")
    )
}

/// The document as committed: pretty JSON with a final newline.
pub fn text() -> Result<String, Vec<String>> {
    let mut text = serde_json::to_string_pretty(&document()?).unwrap_or_default();
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_in_the_document_with_who_may_call_it() {
        let doc = document().unwrap_or_else(|missing| panic!("no shape for {missing:?}"));
        for endpoint in ENDPOINTS {
            let operation = &doc["paths"][endpoint.path][endpoint.method.to_ascii_lowercase()];
            assert_eq!(
                operation["x-offboard-access"],
                endpoint.access.describe(),
                "{endpoint:?}"
            );
            let open = endpoint.access == Access::Anyone;
            assert_eq!(
                operation["security"].as_array().unwrap().is_empty(),
                open,
                "{endpoint:?}"
            );
        }
        // The confirm must name its version; other commands may.
        let confirm = &doc["paths"]["/v1/accounts/{account}/closure/confirm"]["post"];
        let if_match = confirm["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "If-Match")
            .unwrap();
        assert_eq!(if_match["required"], true);
        // Every reference resolves.
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target}"));
            assert!(
                schemas.contains_key(name),
                "{target} is not in the components"
            );
        }
    }

    #[test]
    fn the_committed_document_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == text().unwrap(),
            "examples/service/openapi.json drifted from the code: run ./scripts/regenerate.sh"
        );
    }
}
