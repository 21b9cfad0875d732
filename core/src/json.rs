//! The JSON contract: every entry point as text in, text out. The WASM and C
//! bindings call these and only translate; there is no rule in a binding.
//!
//! Times are RFC 3339 strings; every other argument is the JSON of the
//! matching type (its JSON Schema comes from `offboard::schema`, behind the
//! `schema` feature). Errors are
//! [`Error`]s; [`error_report`] renders one as JSON for a binding to carry.
//!
//! ```
//! let snapshot = include_str!("../data/lone-user.json");
//! let actor = r#"{"id": "u_lena", "role": "user", "reauthenticated_at": "2026-11-23T10:00:00Z"}"#;
//! let policy = offboard::json::preset("cascade")?;
//! let report = offboard::json::assess(snapshot, actor, &policy, "2026-11-23T10:00:00Z")?;
//! assert!(report.contains(r#""can_close":true"#));
//! # Ok::<(), offboard::Error>(())
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assess::Blocker;
use crate::audit::{AuditError, AuditEvent, AuditKey};
use crate::error::{Document, Error, ErrorCode};
use crate::machine::{Closure, ClosureState, Command, Context};
use crate::model::{Actor, Snapshot, UserId};
use crate::policy::ClosurePolicy;

fn parse<T: serde::de::DeserializeOwned>(document: Document, text: &str) -> Result<T, Error> {
    crate::error::check_size(document, text)?;
    serde_json::from_str(text).map_err(|e| Error::from_json(document, &e))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Our output types are plain data with string keys: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Parses an RFC 3339 time such as `2026-11-23T10:00:00Z`.
pub fn parse_time(path: &str, text: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::invalid(
                path,
                format!(
                    "`{}` is not an RFC 3339 time: {e}",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })
}

/// A preset policy as JSON: `cascade` or `prerequisite`.
pub fn preset(name: &str) -> Result<String, Error> {
    ClosurePolicy::named(name).map(|p| to_json(&p))
}

/// [`crate::assess()`] over JSON: snapshot, actor and policy documents and an
/// RFC 3339 time in, the assessment out.
pub fn assess(snapshot: &str, actor: &str, policy: &str, now: &str) -> Result<String, Error> {
    assess_with(snapshot, actor, &ClosurePolicy::from_json(policy)?, now)
}

/// [`assess`] with a policy the caller has already parsed (the C binding
/// keeps one behind a handle).
pub fn assess_with(
    snapshot: &str,
    actor: &str,
    policy: &ClosurePolicy,
    now: &str,
) -> Result<String, Error> {
    let snapshot = Snapshot::from_json(snapshot)?;
    let actor: Actor = parse(Document::Actor, actor)?;
    let now = parse_time("now", now)?;
    crate::assess(&snapshot, &actor, policy, now).map(|report| to_json(&report))
}

/// A new, idle closure state for `account` under the host's id `closure`.
pub fn new_state(closure: &str, account: &str) -> Result<String, Error> {
    let account = UserId::new(account).map_err(|e| Error::invalid("account", e.to_string()))?;
    ClosureState::new(closure, account).map(|s| to_json(&s))
}

/// [`crate::machine::step`] over JSON. `snapshot` may be absent for commands
/// that do not need one. Returns the [`Step`](crate::machine::Step).
pub fn step(
    state: &str,
    command: &str,
    actor: &str,
    policy: &str,
    snapshot: Option<&str>,
    now: &str,
) -> Result<String, Error> {
    step_with(
        state,
        command,
        actor,
        &ClosurePolicy::from_json(policy)?,
        snapshot,
        now,
    )
}

/// An audit key from its id and its secret in hex (at least 64 hex digits,
/// 32 bytes): how hosts that speak JSON pass one.
pub fn audit_key(id: &str, secret_hex: &str) -> Result<AuditKey, Error> {
    let bad = || {
        Error::invalid(
            "audit_key.secret",
            "an audit key's secret is given as hex digits (two per byte)",
        )
    };
    let digits = secret_hex.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(bad());
    }
    let mut secret = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        let text = std::str::from_utf8(pair).map_err(|_| bad())?;
        secret.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
    }
    AuditKey::new(id, secret)
}

/// [`step_with`] on a keyed audit chain (see [`crate::audit`]): the events
/// are sealed with `key`, and the chain must already be keyed with it (or
/// be empty).
#[allow(clippy::too_many_arguments)]
pub fn step_keyed(
    state: &str,
    command: &str,
    actor: &str,
    policy: &ClosurePolicy,
    snapshot: Option<&str>,
    now: &str,
    key: Option<&AuditKey>,
) -> Result<String, Error> {
    let state = ClosureState::from_json(state)?;
    let command: Command = parse(Document::Command, command)?;
    let actor: Actor = parse(Document::Actor, actor)?;
    let snapshot = snapshot.map(Snapshot::from_json).transpose()?;
    let now = parse_time("now", now)?;
    let ctx = Context {
        now,
        actor: &actor,
        policy,
        snapshot: snapshot.as_ref(),
        audit_key: key,
    };
    crate::machine::step(&state, &command, &ctx).map(|s| to_json(&s))
}

/// [`step`] with a policy the caller has already parsed.
pub fn step_with(
    state: &str,
    command: &str,
    actor: &str,
    policy: &ClosurePolicy,
    snapshot: Option<&str>,
    now: &str,
) -> Result<String, Error> {
    step_keyed(state, command, actor, policy, snapshot, now, None)
}

/// The stateful step over JSON: what the C and WebAssembly handles call.
impl Closure {
    /// A closure from its state JSON, under a policy already parsed.
    pub fn from_json(state: &str, policy: ClosurePolicy) -> Result<Closure, Error> {
        Closure::new(ClosureState::from_json(state)?, policy)
    }

    /// [`Closure::step`] with the command, the actor and the snapshot (when
    /// given) as JSON and the time in RFC 3339; answers the
    /// [`Change`](crate::machine::Change) as JSON. The state stays in the
    /// handle: [`Closure::state`] and [`ClosureState::to_json`] read it.
    pub fn step_json(
        &mut self,
        command: &str,
        actor: &str,
        snapshot: Option<&str>,
        now: &str,
    ) -> Result<String, Error> {
        let command: Command = parse(Document::Command, command)?;
        let actor: Actor = parse(Document::Actor, actor)?;
        let snapshot = snapshot.map(Snapshot::from_json).transpose()?;
        let now = parse_time("now", now)?;
        self.step(&command, &actor, snapshot.as_ref(), now)
            .map(|change| to_json(&change))
    }
}

/// When the host should next tick the closure in `state`: an RFC 3339 time as
/// a JSON string, or `null`.
pub fn next_tick(state: &str, policy: &str) -> Result<String, Error> {
    next_tick_with(state, &ClosurePolicy::from_json(policy)?)
}

/// [`next_tick`] with a policy the caller has already parsed.
pub fn next_tick_with(state: &str, policy: &ClosurePolicy) -> Result<String, Error> {
    let state = ClosureState::from_json(state)?;
    Ok(to_json(&state.next_tick(policy)))
}

/// A policy as JSON.
pub fn policy_json(policy: &ClosurePolicy) -> String {
    to_json(policy)
}

/// The result of verifying an audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Verification {
    /// Whether the log is intact (and ends at the expected head, if one was given).
    pub valid: bool,
    /// Events checked.
    pub events: u64,
    /// Hash of the last event.
    pub head: Option<String>,
    /// What is wrong, when it is not valid.
    pub problem: Option<AuditError>,
}

/// Verifies an audit log (a JSON array of events), optionally against the
/// head the closure state records. A log that does not verify is a normal
/// answer (`valid: false` with the problem), not an error.
pub fn verify(events: &str, head: Option<&str>) -> Result<String, Error> {
    verify_keyed(events, head, None)
}

/// [`verify`] for a chain keyed with `key` (a plain chain when `None`).
pub fn verify_keyed(
    events: &str,
    head: Option<&str>,
    key: Option<&AuditKey>,
) -> Result<String, Error> {
    let events: Vec<AuditEvent> = parse(Document::AuditLog, events)?;
    let chain = match key {
        Some(key) => crate::audit::verify_keyed(&events, key),
        None => crate::audit::verify(&events),
    };
    let result = chain.and_then(|verified| match head {
        Some(head) if verified.head != head => Err(AuditError::HeadMismatch {
            found: verified.head,
            expected: head.to_owned(),
        }),
        _ => Ok(verified),
    });
    let report = match result {
        Ok(v) => Verification {
            valid: true,
            events: v.events,
            head: Some(v.head),
            problem: None,
        },
        Err(problem) => Verification {
            valid: false,
            events: events.len() as u64,
            head: None,
            problem: Some(problem),
        },
    };
    Ok(to_json(&report))
}

/// Every JSON Schema, as one object keyed by name (the `schema` feature).
#[cfg(feature = "schema")]
pub fn schemas() -> String {
    let map: serde_json::Map<String, serde_json::Value> = crate::schema::all()
        .into_iter()
        .map(|s| (s.name.to_owned(), s.schema))
        .collect();
    to_json(&map)
}

/// An error as a binding carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorReport {
    /// The stable code, e.g. `duplicate_id`.
    pub code: ErrorCode,
    /// The stable number of the code.
    pub number: u32,
    /// A sentence for people.
    pub message: String,
    /// For `blocked`: every blocker with its remedy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Blocker>>,
}

impl From<&Error> for ErrorReport {
    fn from(err: &Error) -> ErrorReport {
        let blockers = match err {
            Error::Blocked { blockers } => Some(blockers.clone()),
            _ => None,
        };
        ErrorReport {
            code: err.code(),
            number: err.code().number(),
            message: err.to_string(),
            blockers,
        }
    }
}

impl ErrorReport {
    /// The blockers as a JSON array, for a binding that attaches them to its error.
    pub fn blockers_json(&self) -> Option<String> {
        self.blockers.as_ref().map(to_json)
    }
}

/// An error as JSON: `{"code", "number", "message", "blockers"?}`.
pub fn error_report(err: &Error) -> String {
    to_json(&ErrorReport::from(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = include_str!("../data/team-owner.json");
    const NOW: &str = "2026-11-23T10:00:00Z";
    const HOLDER: &str =
        r#"{"id": "u_omar", "role": "user", "reauthenticated_at": "2026-11-23T10:00:00Z"}"#;
    const SYSTEM: &str = r#"{"id": "worker", "role": "system"}"#;

    #[test]
    fn assess_over_json_matches_assess_over_types() {
        let policy = preset("prerequisite").unwrap();
        let text = assess(SNAPSHOT, HOLDER, &policy, NOW).unwrap();
        let report: crate::Assessment = serde_json::from_str(&text).unwrap();
        let snapshot = Snapshot::from_json(SNAPSHOT).unwrap();
        let actor: Actor = serde_json::from_str(HOLDER).unwrap();
        let direct = crate::assess(
            &snapshot,
            &actor,
            &ClosurePolicy::prerequisite(),
            snapshot.taken_at,
        )
        .unwrap();
        assert_eq!(report, direct);
    }

    #[test]
    fn each_argument_reports_its_own_document() {
        let policy = preset("cascade").unwrap();
        let err = assess("{", HOLDER, &policy, NOW).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the snapshot is not valid JSON"),
            "{err}"
        );
        let err = assess(SNAPSHOT, r#"{"id": "u_omar"}"#, &policy, NOW).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the actor does not match its schema"),
            "{err}"
        );
        let err = assess(SNAPSHOT, HOLDER, &policy, "yesterday").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidValue);
        assert_eq!(
            preset("lenient").unwrap_err().code(),
            ErrorCode::InvalidValue
        );
        let err = step("{}", r#"{"type": "tick"}"#, SYSTEM, &policy, None, NOW).unwrap_err();
        assert!(err.to_string().contains("closure state"), "{err}");
        let state = new_state("cl", "u_omar").unwrap();
        let err = step(&state, r#"{"type": "explode"}"#, SYSTEM, &policy, None, NOW).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the command does not match its schema"),
            "{err}"
        );
    }

    #[test]
    fn a_lifecycle_over_json() {
        let policy = preset("cascade").unwrap();
        let state = new_state("cl_json", "u_omar").unwrap();
        let run = |state: &str, command: &str, actor: &str| -> crate::machine::Step {
            serde_json::from_str(
                &step(state, command, actor, &policy, Some(SNAPSHOT), NOW).unwrap(),
            )
            .unwrap()
        };
        let s = run(&state, r#"{"type": "request"}"#, HOLDER);
        let s = run(
            &serde_json::to_string(&s.state).unwrap(),
            r#"{"type": "confirm", "value": "omar@acme.test"}"#,
            HOLDER,
        );
        assert_eq!(s.state.phase.kind(), crate::machine::PhaseKind::Executing);
        // Executing waits on outcomes; the only time named is the second
        // after the statutory deadline (GDPR: one month).
        let next = next_tick(&serde_json::to_string(&s.state).unwrap(), &policy).unwrap();
        assert_eq!(next, "\"2026-12-23T10:00:01Z\"");
        let log = serde_json::to_string(&s.audit).unwrap();
        let verified: Verification = serde_json::from_str(&verify(&log, None).unwrap()).unwrap();
        assert!(
            !verified.valid,
            "the log starts mid-chain without the request's event"
        );
        assert_eq!(
            verified.problem,
            Some(AuditError::Sequence {
                index: 0,
                found: 1,
                expected: 0
            })
        );
    }

    #[test]
    fn blocked_errors_carry_their_blockers() {
        let policy = preset("prerequisite").unwrap();
        let state = new_state("cl", "u_omar").unwrap();
        let err = step(
            &state,
            r#"{"type": "request"}"#,
            HOLDER,
            &policy,
            Some(SNAPSHOT),
            NOW,
        )
        .unwrap_err();
        let report: serde_json::Value = serde_json::from_str(&error_report(&err)).unwrap();
        assert_eq!(report["code"], "blocked");
        assert_eq!(report["number"], 10);
        assert_eq!(report["blockers"].as_array().unwrap().len(), 5);
        let other: serde_json::Value =
            serde_json::from_str(&error_report(&preset("x").unwrap_err())).unwrap();
        assert!(other.get("blockers").is_none());
    }

    #[cfg(feature = "schema")]
    #[test]
    fn schemas_are_keyed_by_name() {
        let all: serde_json::Value = serde_json::from_str(&schemas()).unwrap();
        assert!(all["snapshot"]["$schema"].is_string());
        assert_eq!(all.as_object().unwrap().len(), crate::schema::all().len());
    }
}
