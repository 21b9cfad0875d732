//! Errors: one enum, one table of stable codes.
//!
//! Blockers are *not* errors: a closure that cannot proceed is a normal
//! [`Assessment`](crate::Assessment) with blockers in it. An [`Error`] means the
//! input itself cannot be used: it is not JSON, it does not fit the schema, it
//! contradicts itself, or the policy is incoherent.
//!
//! Every error maps to an [`ErrorCode`], whose string and number never change
//! once released and are never reused. Bindings carry the code across (the C
//! status, the `code` property of a JS `Error`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The largest document accepted, in bytes (256 MiB): room for snapshots of
/// a million entities (about 100 MB of JSON) with a wide margin, and a bound
/// on what one call can make the host allocate.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Refuses a document over [`MAX_INPUT_BYTES`] before it is parsed.
pub(crate) fn check_size(document: Document, text: &str) -> Result<(), Error> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::InputTooLarge {
            document,
            size: text.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// Which input document an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Document {
    /// An account snapshot.
    Snapshot,
    /// A closure policy.
    Policy,
    /// The actor (who is asking).
    Actor,
    /// A timestamp given as text.
    Timestamp,
    /// A closure state.
    State,
    /// A command.
    Command,
    /// An audit log.
    AuditLog,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Snapshot => "snapshot",
            Document::Policy => "policy",
            Document::Actor => "actor",
            Document::Timestamp => "timestamp",
            Document::State => "closure state",
            Document::Command => "command",
            Document::AuditLog => "audit log",
        })
    }
}

/// The kinds of entity a snapshot holds, used to name them in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityKind {
    /// A tenant (organisation, workspace).
    Tenant,
    /// A member of a tenant.
    Member,
    /// A subscription or add-on.
    Subscription,
    /// A domain.
    Domain,
    /// A payment method.
    PaymentMethod,
    /// An invoice.
    Invoice,
    /// A legal hold.
    LegalHold,
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntityKind::Tenant => "tenant",
            EntityKind::Member => "member",
            EntityKind::Subscription => "subscription",
            EntityKind::Domain => "domain",
            EntityKind::PaymentMethod => "payment method",
            EntityKind::Invoice => "invoice",
            EntityKind::LegalHold => "legal hold",
        })
    }
}

/// Everything that can make an input unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON at all (syntax error, truncated input, nesting too deep).
    #[error("the {document} is not valid JSON (line {line}, column {column}): {detail}")]
    MalformedJson {
        /// Which input.
        document: Document,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser reported.
        detail: String,
    },
    /// The JSON does not fit the schema: a wrong type, a missing or unknown
    /// field, or a value its type refuses (an empty id, a malformed currency).
    #[error("the {document} does not match its schema (line {line}, column {column}): {detail}")]
    SchemaMismatch {
        /// Which input.
        document: Document,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What does not fit.
        detail: String,
    },
    /// The document declares a schema version this build does not read.
    #[error("the {document} has schema version {found}, but this build of offboard reads version {supported}")]
    UnsupportedVersion {
        /// Which input.
        document: Document,
        /// The version found, as it appeared in the JSON.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// Two entities of the same kind share an id.
    #[error("two {kind} entries share the id `{id}` (at {path})")]
    DuplicateId {
        /// The kind of entity.
        kind: EntityKind,
        /// The repeated id.
        id: String,
        /// Where the second one is.
        path: String,
    },
    /// An entity refers to another that is not in the snapshot.
    #[error("{path} refers to {kind} `{id}`, which is not in the snapshot")]
    DanglingReference {
        /// Where the reference is.
        path: String,
        /// The kind of entity referred to.
        kind: EntityKind,
        /// The missing id.
        id: String,
    },
    /// A value fits its type but contradicts the rest of the input.
    #[error("{path}: {reason}")]
    InvalidValue {
        /// Where the value is.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The closure policy contradicts itself.
    #[error("the policy is incoherent: {path}: {reason}")]
    InvalidPolicy {
        /// Which setting.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The actor may not give this command.
    #[error("{actor} may not {command} this closure: {reason}")]
    NotAllowed {
        /// Who tried.
        actor: String,
        /// The command, e.g. `cancel`.
        command: String,
        /// Who may.
        reason: String,
    },
    /// The command does not apply in the closure's current phase.
    #[error("cannot {command} a closure in phase {phase}")]
    WrongState {
        /// The command, e.g. `confirm`.
        command: String,
        /// The phase, e.g. `executing`.
        phase: String,
    },
    /// Blockers stand in the way of the request, confirmation or execution.
    #[error("the closure is blocked by {}: {}", .blockers.len(), blocker_codes(.blockers))]
    Blocked {
        /// Every blocker, each with its remedy.
        blockers: Vec<crate::assess::Blocker>,
    },
    /// The confirmation token has expired; request again for a new one.
    #[error("the confirmation expired at {expired_at}; request the closure again for a new one")]
    ConfirmationExpired {
        /// When it expired.
        expired_at: chrono::DateTime<chrono::Utc>,
    },
    /// Too many wrong confirmations; confirmations are refused for a while.
    #[error("too many wrong confirmations: try again after {until}")]
    LockedOut {
        /// When confirmations are accepted again.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// A closure was cancelled recently; a new request waits for the cooldown.
    #[error("the closure was cancelled recently: a new request is possible after {until}")]
    Cooldown {
        /// When a new request is accepted.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// An outcome was reported for an effect the closure never issued.
    #[error("effect `{effect}` was not issued by this closure{detail}")]
    UnknownEffect {
        /// The id reported.
        effect: String,
        /// More detail, if any (e.g. not issued yet).
        detail: String,
    },
    /// `now` is earlier than a time this closure already accepted.
    #[error("time went backwards: now is {now}, but the closure already saw {seen}")]
    TimeWentBackwards {
        /// The `now` given.
        now: chrono::DateTime<chrono::Utc>,
        /// The latest time accepted before.
        seen: chrono::DateTime<chrono::Utc>,
    },
    /// A document is larger than [`MAX_INPUT_BYTES`]; it is refused before parsing.
    #[error("the {document} is {size} bytes, more than the limit of {limit} bytes")]
    InputTooLarge {
        /// Which input.
        document: Document,
        /// Its size in bytes.
        size: usize,
        /// The limit, [`MAX_INPUT_BYTES`].
        limit: usize,
    },
    /// The snapshot given with a step is of another account than the closure's.
    #[error("the snapshot is of `{snapshot}`, but this closure is for `{closure}`")]
    WrongAccount {
        /// The account the closure is for.
        closure: String,
        /// The account the snapshot describes.
        snapshot: String,
    },
    /// The closure has passed its point of no return (a tenant or the account
    /// has been deleted), so it can only go forward: retry, never abort.
    #[error("cannot {command} the closure: it has passed its point of no return ({effect} was issued); retry the failed effects instead")]
    PastPointOfNoReturn {
        /// The command refused, e.g. `abort`.
        command: String,
        /// The irreversible effect already issued.
        effect: String,
    },
    /// A date the step needs falls outside the supported range (a `now` or a
    /// period far in the future).
    #[error("{what} falls outside the supported range of dates")]
    DateOutOfRange {
        /// Which date, e.g. `the end of the cooldown`.
        what: String,
    },
    /// The step's policy is not the one the closure was confirmed under; an
    /// operator carries the closure over with `migrate_policy`.
    #[error("the closure was confirmed under policy {pinned}, and this step passes {given}; send migrate_policy to carry it over")]
    PolicyChanged {
        /// The fingerprint the closure is pinned to.
        pinned: String,
        /// The fingerprint of the policy passed.
        given: String,
    },
    /// The step's audit key is not the one the closure's chain is keyed
    /// with (or the chain is plain and a key was passed, or keyed and none was).
    #[error("the audit chain is {}, and this step passes {}", chain.as_deref().map_or("plain".to_owned(), |k| format!("keyed with `{k}`")), given.as_deref().map_or("no key".to_owned(), |k| format!("key `{k}`")))]
    AuditKeyMismatch {
        /// The chain's key id, if keyed.
        chain: Option<String>,
        /// The key id passed, if any.
        given: Option<String>,
    },
}

fn blocker_codes(blockers: &[crate::assess::Blocker]) -> String {
    let codes: Vec<&str> = blockers.iter().map(|b| b.code.as_str()).collect();
    codes.join(", ")
}

/// Stable, machine-readable error codes. The string ([`ErrorCode::as_str`])
/// and the number ([`ErrorCode::number`]) of a code never change and are never
/// reused; 0 is kept free for "no error" in the C binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// See [`Error::MalformedJson`].
    MalformedJson = 1,
    /// See [`Error::SchemaMismatch`].
    SchemaMismatch = 2,
    /// See [`Error::UnsupportedVersion`].
    UnsupportedVersion = 3,
    /// See [`Error::DuplicateId`].
    DuplicateId = 4,
    /// See [`Error::DanglingReference`].
    DanglingReference = 5,
    /// See [`Error::InvalidValue`].
    InvalidValue = 6,
    /// See [`Error::InvalidPolicy`].
    InvalidPolicy = 7,
    /// See [`Error::NotAllowed`].
    NotAllowed = 8,
    /// See [`Error::WrongState`].
    WrongState = 9,
    /// See [`Error::Blocked`].
    Blocked = 10,
    /// See [`Error::ConfirmationExpired`].
    ConfirmationExpired = 11,
    /// See [`Error::LockedOut`].
    LockedOut = 12,
    /// See [`Error::Cooldown`].
    Cooldown = 13,
    /// See [`Error::UnknownEffect`].
    UnknownEffect = 14,
    /// See [`Error::TimeWentBackwards`].
    TimeWentBackwards = 15,
    /// See [`Error::InputTooLarge`].
    InputTooLarge = 16,
    /// See [`Error::WrongAccount`].
    WrongAccount = 17,
    /// See [`Error::PastPointOfNoReturn`].
    PastPointOfNoReturn = 18,
    /// See [`Error::DateOutOfRange`].
    DateOutOfRange = 19,
    /// See [`Error::PolicyChanged`].
    PolicyChanged = 20,
    /// See [`Error::AuditKeyMismatch`].
    AuditKeyMismatch = 21,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::MalformedJson,
        ErrorCode::SchemaMismatch,
        ErrorCode::UnsupportedVersion,
        ErrorCode::DuplicateId,
        ErrorCode::DanglingReference,
        ErrorCode::InvalidValue,
        ErrorCode::InvalidPolicy,
        ErrorCode::NotAllowed,
        ErrorCode::WrongState,
        ErrorCode::Blocked,
        ErrorCode::ConfirmationExpired,
        ErrorCode::LockedOut,
        ErrorCode::Cooldown,
        ErrorCode::UnknownEffect,
        ErrorCode::TimeWentBackwards,
        ErrorCode::InputTooLarge,
        ErrorCode::WrongAccount,
        ErrorCode::PastPointOfNoReturn,
        ErrorCode::DateOutOfRange,
        ErrorCode::PolicyChanged,
        ErrorCode::AuditKeyMismatch,
    ];

    /// The code as a snake_case string, e.g. `"duplicate_id"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::SchemaMismatch => "schema_mismatch",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::DuplicateId => "duplicate_id",
            ErrorCode::DanglingReference => "dangling_reference",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::InvalidPolicy => "invalid_policy",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::WrongState => "wrong_state",
            ErrorCode::Blocked => "blocked",
            ErrorCode::ConfirmationExpired => "confirmation_expired",
            ErrorCode::LockedOut => "locked_out",
            ErrorCode::Cooldown => "cooldown",
            ErrorCode::UnknownEffect => "unknown_effect",
            ErrorCode::TimeWentBackwards => "time_went_backwards",
            ErrorCode::InputTooLarge => "input_too_large",
            ErrorCode::WrongAccount => "wrong_account",
            ErrorCode::PastPointOfNoReturn => "past_point_of_no_return",
            ErrorCode::DateOutOfRange => "date_out_of_range",
            ErrorCode::PolicyChanged => "policy_changed",
            ErrorCode::AuditKeyMismatch => "audit_key_mismatch",
        }
    }

    /// The code as a number, e.g. for a C status.
    pub const fn number(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::MalformedJson { .. } => ErrorCode::MalformedJson,
            Error::SchemaMismatch { .. } => ErrorCode::SchemaMismatch,
            Error::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            Error::DuplicateId { .. } => ErrorCode::DuplicateId,
            Error::DanglingReference { .. } => ErrorCode::DanglingReference,
            Error::InvalidValue { .. } => ErrorCode::InvalidValue,
            Error::InvalidPolicy { .. } => ErrorCode::InvalidPolicy,
            Error::NotAllowed { .. } => ErrorCode::NotAllowed,
            Error::WrongState { .. } => ErrorCode::WrongState,
            Error::Blocked { .. } => ErrorCode::Blocked,
            Error::ConfirmationExpired { .. } => ErrorCode::ConfirmationExpired,
            Error::LockedOut { .. } => ErrorCode::LockedOut,
            Error::Cooldown { .. } => ErrorCode::Cooldown,
            Error::UnknownEffect { .. } => ErrorCode::UnknownEffect,
            Error::TimeWentBackwards { .. } => ErrorCode::TimeWentBackwards,
            Error::InputTooLarge { .. } => ErrorCode::InputTooLarge,
            Error::WrongAccount { .. } => ErrorCode::WrongAccount,
            Error::PastPointOfNoReturn { .. } => ErrorCode::PastPointOfNoReturn,
            Error::DateOutOfRange { .. } => ErrorCode::DateOutOfRange,
            Error::PolicyChanged { .. } => ErrorCode::PolicyChanged,
            Error::AuditKeyMismatch { .. } => ErrorCode::AuditKeyMismatch,
        }
    }

    /// Maps a serde_json error on `document` to `MalformedJson` (syntax, end of
    /// input) or `SchemaMismatch` (the JSON is well formed but does not fit).
    pub(crate) fn from_json(document: Document, err: &serde_json::Error) -> Error {
        let line = err.line();
        let column = err.column();
        let detail = strip_position(&err.to_string());
        match err.classify() {
            serde_json::error::Category::Data => Error::SchemaMismatch {
                document,
                line,
                column,
                detail,
            },
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => Error::MalformedJson {
                document,
                line,
                column,
                detail,
            },
        }
    }

    /// An `invalid_value` error at `path` (a dotted field path, or an
    /// argument's name), with the reason in words: for hosts and tools that
    /// reject an input of their own with the library's code.
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidValue {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn date_out_of_range(what: impl Into<String>) -> Error {
        Error::DateOutOfRange { what: what.into() }
    }

    pub(crate) fn policy(path: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidPolicy {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// serde_json appends " at line L column C" to its messages; we report the
/// position in fields of our own, so drop the suffix from the text.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message.get(..cut).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_numbered_in_order() {
        let mut seen = std::collections::HashSet::new();
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(code.number() as usize, i + 1);
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn documents_over_the_limit_are_refused_before_parsing() {
        let huge = " ".repeat(MAX_INPUT_BYTES + 1);
        let err = crate::Snapshot::from_json(&huge).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InputTooLarge);
        assert_eq!(err.code().number(), 16);
        assert!(
            err.to_string()
                .starts_with("the snapshot is 268435457 bytes"),
            "{err}"
        );
        // The boundary itself is accepted (checked without parsing 256 MiB of blanks).
        assert!(check_size(Document::Snapshot, &huge[..MAX_INPUT_BYTES]).is_ok());
    }

    #[test]
    fn json_errors_are_classified() {
        let syntax = serde_json::from_str::<u32>("nope").unwrap_err();
        let eof = serde_json::from_str::<Vec<u32>>("[1,").unwrap_err();
        assert_eq!(
            Error::from_json(Document::Snapshot, &eof).code(),
            ErrorCode::MalformedJson
        );
        assert_eq!(
            Error::from_json(Document::Snapshot, &syntax).code(),
            ErrorCode::MalformedJson
        );
        let data = serde_json::from_str::<u32>("\"x\"").unwrap_err();
        let err = Error::from_json(Document::Policy, &data);
        assert_eq!(err.code(), ErrorCode::SchemaMismatch);
        assert!(!err.to_string().contains(" at line 1 column"), "{err}");
        assert!(err.to_string().contains("line 1, column 3"), "{err}");
    }
}
