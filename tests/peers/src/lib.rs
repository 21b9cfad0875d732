//! Offboard's blocker rules written a second time, independently, in general
//! policy engines, and random account snapshots to hold the two against each
//! other.
//!
//! - [`Rego`] evaluates `closure.rego` with the `regorus` crate. The test
//!   `tests/oracle.rs` checks that it finds exactly the blockers (code and
//!   subject) that `offboard::assess` finds, on random snapshots, actors and
//!   policies.
//! - `cedar::Cedar` (feature `cedar`) evaluates `closure.cedar` with the
//!   `cedar-policy` crate, one request per thing in the snapshot; the same
//!   tests hold it against Offboard when the feature is on.
//! - [`cases`] generates those inputs: every entity kind, every status, every
//!   policy choice a condition allows, actors of every relation, and times on
//!   both sides of each boundary (sign-in age, holds starting and ending).
//!
//! This crate is a test and benchmark harness. It is not published and no
//! other crate of the workspace depends on it, so the peer engine never enters
//! the library's build.

pub mod cases;
#[cfg(feature = "cedar")]
pub mod cedar;

use std::collections::BTreeMap;

/// The Rego encoding of the blocker rules.
pub const CLOSURE_REGO: &str = include_str!("../closure.rego");

/// One blocker, as the engines report it: its code, and its subject as
/// canonical JSON text (see [`canonical`]).
pub type Found = (String, String);

/// A subject as JSON text with its keys sorted, whatever order the engine
/// wrote them in (cedar-policy turns on serde_json's `preserve_order`, and
/// features are shared across the build).
pub fn canonical(subject: &serde_json::Value) -> String {
    match subject {
        serde_json::Value::Object(fields) => {
            let sorted: BTreeMap<&String, String> =
                fields.iter().map(|(k, v)| (k, canonical(v))).collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        other => other.to_string(),
    }
}

/// The Rego encoding, compiled once and evaluated per input.
#[derive(Debug)]
pub struct Rego {
    engine: regorus::Engine,
    rule: String,
}

impl Rego {
    /// Compiles `closure.rego`.
    pub fn new() -> Result<Rego, String> {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("closure.rego".to_owned(), CLOSURE_REGO.to_owned())
            .map_err(|e| e.to_string())?;
        Ok(Rego {
            engine,
            rule: "data.offboard.closure.blockers".to_owned(),
        })
    }

    /// The blockers the Rego rules find for these four documents, given as
    /// the same JSON texts `offboard::json::assess` takes (`now` unquoted).
    pub fn blockers(
        &mut self,
        snapshot: &str,
        actor: &str,
        policy: &str,
        now: &str,
    ) -> Result<Vec<Found>, String> {
        let now = serde_json::to_string(now).map_err(|e| e.to_string())?;
        let input =
            format!(r#"{{"snapshot":{snapshot},"actor":{actor},"policy":{policy},"now":{now}}}"#);
        self.engine
            .set_input_json(&input)
            .map_err(|e| e.to_string())?;
        let value = self
            .engine
            .eval_rule(self.rule.clone())
            .map_err(|e| e.to_string())?;
        let text = value.to_json_str().map_err(|e| e.to_string())?;
        let items: Vec<BTreeMap<String, serde_json::Value>> =
            serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        let mut found = items
            .into_iter()
            .map(|mut item| {
                let code = match item.remove("code") {
                    Some(serde_json::Value::String(code)) => code,
                    other => return Err(format!("a blocker without a code: {other:?}")),
                };
                let subject = item
                    .remove("subject")
                    .ok_or_else(|| format!("blocker {code} has no subject"))?;
                Ok((code, canonical(&subject)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        found.sort();
        Ok(found)
    }
}

/// The blockers Offboard itself finds, through the same entry point a host
/// uses (`offboard::json::assess`, JSON text in and out), in the form of
/// [`Rego::blockers`]. Duplicates are kept, so a rule that fires twice for one
/// subject shows up as a difference.
pub fn offboard_blockers(
    snapshot: &str,
    actor: &str,
    policy: &str,
    now: &str,
) -> Result<Vec<Found>, String> {
    let text = offboard::json::assess(snapshot, actor, policy, now)
        .map_err(|e| format!("{}: {e}", e.code()))?;
    let mut assessment: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let Some(serde_json::Value::Array(blockers)) =
        assessment.get_mut("blockers").map(std::mem::take)
    else {
        return Err(format!("no blockers array in {text}"));
    };
    let mut found = blockers
        .into_iter()
        .map(
            |blocker| match (blocker.get("code"), blocker.get("subject")) {
                (Some(serde_json::Value::String(code)), Some(subject)) => {
                    Ok((code.clone(), canonical(subject)))
                }
                _ => Err(format!("a blocker without code or subject: {blocker}")),
            },
        )
        .collect::<Result<Vec<_>, String>>()?;
    found.sort();
    Ok(found)
}
