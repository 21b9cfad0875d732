//! The audit chain: every accepted command appends events, each carrying the
//! SHA-256 hash of the one before, so a host can prove its stored log was not
//! edited. [`verify`] detects any edit, insertion, deletion or reordering; a
//! log cut short at its end is caught by comparing the verified head with the
//! head the closure state records ([`verify_with_head`]).
//!
//! Events carry ids, never personal data: the account and actors appear by
//! user id, effects by id.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::machine::{CommandKind, PhaseKind};
use crate::model::{ActorRole, UserId};
use crate::plan::EffectId;

/// The `previous` hash of the first event of every chain: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Position in the closure's log, from 0.
    pub sequence: u64,
    /// When the command was applied (the `now` the host passed in).
    #[serde(with = "crate::timestamp")]
    #[schemars(with = "DateTime<Utc>")]
    pub at: DateTime<Utc>,
    /// The closure.
    pub closure: String,
    /// Who gave the command.
    pub actor: UserId,
    /// In what capacity.
    pub actor_role: ActorRole,
    /// The command.
    pub command: CommandKind,
    /// The phase before.
    pub from: PhaseKind,
    /// The phase after.
    pub to: PhaseKind,
    /// What happened, as a stable snake_case word (e.g. `confirmation_failed`).
    pub event: String,
    /// Effects issued or settled by this step.
    pub effects: Vec<EffectId>,
    /// Hash of the previous event ([`GENESIS`] for the first).
    pub previous: String,
    /// SHA-256 of this event's canonical JSON without this field, in lower-case hex.
    pub hash: String,
}

/// The unhashed part of an event, serialised in this fixed field order.
#[derive(Serialize)]
struct Hashed<'a> {
    sequence: u64,
    #[serde(serialize_with = "crate::timestamp::serialize_ref")]
    at: &'a DateTime<Utc>,
    closure: &'a str,
    actor: &'a UserId,
    actor_role: ActorRole,
    command: CommandKind,
    from: PhaseKind,
    to: PhaseKind,
    event: &'a str,
    effects: &'a [EffectId],
    previous: &'a str,
}

/// Lower-case hex SHA-256 of `bytes`: the form of the audit hashes, and of
/// the token digest a host passes with [`Command::Request`](crate::machine::Command::Request).
pub fn digest_hex(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        // One digit per nibble: formatting each byte with `{:02x}` cost more
        // than the hash itself. A nibble is always a hex digit.
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

impl AuditEvent {
    /// The hash this event should carry, computed from its other fields.
    pub fn compute_hash(&self) -> String {
        let hashed = Hashed {
            sequence: self.sequence,
            at: &self.at,
            closure: &self.closure,
            actor: &self.actor,
            actor_role: self.actor_role,
            command: self.command,
            from: self.from,
            to: self.to,
            event: &self.event,
            effects: &self.effects,
            previous: &self.previous,
        };
        // Serialising plain data with string keys cannot fail.
        let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
        sha256_hex(&bytes)
    }
}

/// Where the next event of a chain goes: recorded in the closure state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditCursor {
    /// Sequence number of the next event.
    pub next_sequence: u64,
    /// Hash of the last event ([`GENESIS`] before the first).
    pub head: String,
}

impl Default for AuditCursor {
    fn default() -> Self {
        AuditCursor {
            next_sequence: 0,
            head: GENESIS.to_owned(),
        }
    }
}

/// What a verified log proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verified {
    /// Number of events checked.
    pub events: u64,
    /// Hash of the last event ([`GENESIS`] for an empty log).
    pub head: String,
}

/// Why a log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditError {
    /// An event's sequence number is not the one expected (insertion, deletion, reordering).
    #[error("event {index} has sequence {found}, expected {expected}")]
    Sequence {
        /// Position in the log given.
        index: u64,
        /// Sequence found.
        found: u64,
        /// Sequence expected.
        expected: u64,
    },
    /// An event does not point at the hash of the one before.
    #[error("event {sequence} does not follow the event before it")]
    BrokenLink {
        /// The event's sequence.
        sequence: u64,
    },
    /// An event's content does not match its hash (it was edited).
    #[error("event {sequence} was altered: its content does not match its hash")]
    Altered {
        /// The event's sequence.
        sequence: u64,
    },
    /// The log verifies but ends somewhere other than the state's head (cut short or extended).
    #[error("the log ends at {found}, but the closure state's head is {expected}")]
    HeadMismatch {
        /// Head of the log given.
        found: String,
        /// Head recorded in the state.
        expected: String,
    },
}

/// Verifies a whole log from its first event.
pub fn verify(events: &[AuditEvent]) -> Result<Verified, AuditError> {
    let mut head = GENESIS.to_owned();
    for (index, event) in (0u64..).zip(events) {
        if event.sequence != index {
            return Err(AuditError::Sequence {
                index,
                found: event.sequence,
                expected: index,
            });
        }
        if event.previous != head {
            return Err(AuditError::BrokenLink {
                sequence: event.sequence,
            });
        }
        if event.compute_hash() != event.hash {
            return Err(AuditError::Altered {
                sequence: event.sequence,
            });
        }
        head.clone_from(&event.hash);
    }
    Ok(Verified {
        events: events.len() as u64,
        head,
    })
}

/// Verifies a log and checks that it ends at `head` (from [`AuditCursor::head`]),
/// which also catches a log cut short at its end.
pub fn verify_with_head(events: &[AuditEvent], head: &str) -> Result<Verified, AuditError> {
    let verified = verify(events)?;
    if verified.head != head {
        return Err(AuditError::HeadMismatch {
            found: verified.head,
            expected: head.to_owned(),
        });
    }
    Ok(verified)
}
