//! Offboard for JavaScript. Every function takes and returns JSON text and
//! calls the matching function of [`offboard::json`]; the npm package's
//! `index.js` turns objects into text and back. A refused input throws a JS
//! `Error` whose `code` is the core's stable error code (and `number` its
//! number); a `blocked` error also carries `blockers`, each with its remedy.

use offboard::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The JS `Error` class.
    #[wasm_bindgen(js_name = Error)]
    type JsError;

    #[wasm_bindgen(constructor, js_class = "Error")]
    fn new(message: &str) -> JsError;

    #[wasm_bindgen(method, setter = code, js_class = "Error")]
    fn set_code(this: &JsError, code: &str);

    #[wasm_bindgen(method, setter = number, js_class = "Error")]
    fn set_number(this: &JsError, number: u32);

    #[wasm_bindgen(method, setter = blockers, js_class = "Error")]
    fn set_blockers(this: &JsError, blockers: JsValue);

    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> JsValue;
}

/// Converts a core error into a thrown JS `Error` with `code` and `number`.
fn throw(err: offboard::Error) -> JsValue {
    let report = json::ErrorReport::from(&err);
    let error = JsError::new(&report.message);
    error.set_code(report.code.as_str());
    error.set_number(report.number);
    if let Some(blockers) = report.blockers_json() {
        error.set_blockers(json_parse(&blockers));
    }
    error.into()
}

/// Assesses a snapshot: `assess(snapshotJson, actorJson, policyJson, nowRfc3339)` → assessment JSON.
#[wasm_bindgen]
pub fn assess(snapshot: &str, actor: &str, policy: &str, now: &str) -> Result<String, JsValue> {
    json::assess(snapshot, actor, policy, now).map_err(throw)
}

/// A new, idle closure state JSON for `account` under the host's id `closure`.
#[wasm_bindgen(js_name = newState)]
pub fn new_state(closure: &str, account: &str) -> Result<String, JsValue> {
    json::new_state(closure, account).map_err(throw)
}

/// The audit key named `id` with a hex secret, when both are given.
fn key(
    id: Option<String>,
    secret_hex: Option<String>,
) -> Result<Option<offboard::audit::AuditKey>, JsValue> {
    match (id, secret_hex) {
        (Some(id), Some(secret)) => json::audit_key(&id, &secret).map(Some).map_err(throw),
        (None, None) => Ok(None),
        _ => Err(throw(offboard::Error::InvalidValue {
            path: "audit_key".to_owned(),
            reason: "an audit key needs both its id and its secret".to_owned(),
        })),
    }
}

/// Applies a command: state, command, actor and policy JSON, an optional
/// snapshot JSON, an RFC 3339 time, and optionally an audit key (its id and
/// its secret in hex) for a keyed chain → step JSON.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn step(
    state: &str,
    command: &str,
    actor: &str,
    policy: &str,
    snapshot: Option<String>,
    now: &str,
    key_id: Option<String>,
    key_secret_hex: Option<String>,
) -> Result<String, JsValue> {
    let key = key(key_id, key_secret_hex)?;
    let policy = offboard::ClosurePolicy::from_json(policy).map_err(throw)?;
    json::step_keyed(
        state,
        command,
        actor,
        &policy,
        snapshot.as_deref(),
        now,
        key.as_ref(),
    )
    .map_err(throw)
}

/// When to tick next: an RFC 3339 time as JSON, or `null`.
#[wasm_bindgen(js_name = nextTick)]
pub fn next_tick(state: &str, policy: &str) -> Result<String, JsValue> {
    json::next_tick(state, policy).map_err(throw)
}

/// Verifies an audit log (JSON array), optionally against the state's head,
/// and with the chain's audit key (id and hex secret) when it is keyed.
#[wasm_bindgen(js_name = verifyAudit)]
pub fn verify_audit(
    events: &str,
    head: Option<String>,
    key_id: Option<String>,
    key_secret_hex: Option<String>,
) -> Result<String, JsValue> {
    let key = key(key_id, key_secret_hex)?;
    json::verify_keyed(events, head.as_deref(), key.as_ref()).map_err(throw)
}

/// A preset policy as JSON: `cascade` or `prerequisite`.
#[wasm_bindgen]
pub fn preset(name: &str) -> Result<String, JsValue> {
    json::preset(name).map_err(throw)
}

/// The closure state diagram (Mermaid).
#[wasm_bindgen]
pub fn diagram() -> String {
    offboard::machine::diagram()
}

/// Lower-case hex SHA-256 of a text: the digest of a confirmation token.
#[wasm_bindgen]
pub fn digest(text: &str) -> String {
    offboard::audit::digest_hex(text.as_bytes())
}

/// A closure held in the module between steps: the typed state, the
/// checked policy and the audit key, so a step parses only the command, the
/// actor and the snapshot, and answers only the change. The npm package's
/// `Closure` class keeps one.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ClosureHandle {
    inner: offboard::machine::Closure,
}

#[wasm_bindgen]
impl ClosureHandle {
    /// Holds the state JSON under the policy JSON, with the audit key (its id
    /// and hex secret) of a keyed chain, or neither.
    #[wasm_bindgen(constructor)]
    pub fn new(
        state: &str,
        policy: &str,
        key_id: Option<String>,
        key_secret_hex: Option<String>,
    ) -> Result<ClosureHandle, JsValue> {
        let key = key(key_id, key_secret_hex)?;
        let policy = offboard::ClosurePolicy::from_json(policy).map_err(throw)?;
        let mut inner = offboard::machine::Closure::from_json(state, policy).map_err(throw)?;
        if let Some(key) = key {
            inner = inner.with_audit_key(key);
        }
        Ok(ClosureHandle { inner })
    }

    /// Applies a command (command and actor JSON, the snapshot JSON or
    /// nothing, an RFC 3339 time) → the change JSON. Refused: an `Error` with
    /// the code, and the closure unchanged.
    pub fn step(
        &mut self,
        command: &str,
        actor: &str,
        snapshot: Option<String>,
        now: &str,
    ) -> Result<String, JsValue> {
        self.inner
            .step_json(command, actor, snapshot.as_deref(), now)
            .map_err(throw)
    }

    /// The state now, as JSON.
    pub fn state(&self) -> String {
        self.inner.state().to_json()
    }

    /// The phase's name now.
    pub fn phase(&self) -> String {
        self.inner.state().phase.kind().as_str().to_owned()
    }

    /// The audit head now (the hash of the last event).
    #[wasm_bindgen(js_name = auditHead)]
    pub fn audit_head(&self) -> String {
        self.inner.state().audit.head.clone()
    }

    /// When to tick next: an RFC 3339 time as JSON, or `null`.
    #[wasm_bindgen(js_name = nextTick)]
    pub fn next_tick(&self) -> String {
        // A time serialises as a JSON string; nothing here can fail.
        serde_json::to_string(&self.inner.next_tick()).unwrap_or_else(|_| "null".to_owned())
    }
}
