//! The audit chain: every accepted command appends events, each carrying the
//! hash of the one before, so a host can prove its stored log was not edited.
//! [`verify`] detects any edit, insertion, deletion or reordering; a log cut
//! short at its end is caught by comparing the verified head with the head
//! the closure state records ([`verify_with_head`]).
//!
//! **Every field is covered.** An event's hash is taken over a canonical
//! encoding of all its fields but the hash itself (JSON with object keys
//! sorted, no whitespace), so changing any field, nested ones included, is
//! detected. The command is covered by the digest of its payload
//! ([`AuditEvent::command_digest`]) and each effect by the digest of its
//! action ([`AuditedEffect::digest`]); hold ids, failure reasons and the
//! confirmed plan's digest are fields of the typed [`Event`].
//!
//! **What each mode proves.**
//! - *Plain* (no key): a SHA-256 hash chain. It proves the log is internally
//!   consistent and matches a head kept elsewhere: an accidental edit or a
//!   partial tampering is detected. It does **not** stop whoever can write
//!   both the log and the state from re-hashing a forged log and updating
//!   the head; anchor a [`Checkpoint`] outside the host's database for that.
//! - *Keyed* (an [`AuditKey`] passed in the step's context, like the time,
//!   never read from the environment): every hash is an HMAC-SHA-256 under
//!   the key, so without the key nobody can produce a chain that verifies:
//!   a forged or re-hashed log is detected by anyone who holds the key
//!   ([`verify_keyed`]). It proves nothing to someone without the key, and
//!   whoever holds the key can forge: keep it out of the database the log is
//!   stored in.
//!
//! Events carry ids, never personal data: the account and actors appear by
//! user id, effects by id and action digest, the command by digest.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::assess::BlockerCode;
use crate::machine::{CommandKind, PhaseKind, RequestReason};
use crate::model::{ActorRelation, ActorRole, LegalHoldId, UserId};
use crate::plan::{Action, EffectId};

/// The `previous` hash of the first event of every chain: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The audit-event schema version this build writes.
pub const AUDIT_VERSION: u32 = 2;

/// One audited transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Schema version of this event: [`AUDIT_VERSION`].
    pub schema_version: u32,
    /// Position in the closure's log, from 0.
    pub sequence: u64,
    /// When the command was applied (the `now` the host passed in).
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub at: DateTime<Utc>,
    /// The closure.
    pub closure: String,
    /// The account being closed.
    pub account: UserId,
    /// Who gave the command.
    pub actor: UserId,
    /// In what capacity.
    pub actor_role: ActorRole,
    /// The command.
    pub command: CommandKind,
    /// SHA-256 (hex) of the command's canonical JSON, payload included (a
    /// hold, an outcome and its reason, a token digest), with what the
    /// person typed withheld (the confirmation value and the exit comment,
    /// which are personal data): the command is covered without its text
    /// being kept.
    pub command_digest: String,
    /// The phase before.
    pub from: PhaseKind,
    /// The phase after.
    pub to: PhaseKind,
    /// What happened.
    pub event: Event,
    /// Effects issued or settled by this step, with their actions' digests.
    pub effects: Vec<AuditedEffect>,
    /// The id of the [`AuditKey`] the hash is keyed with; absent for a plain
    /// hash chain.
    pub key: Option<String>,
    /// Hash of the previous event ([`GENESIS`] for the first).
    pub previous: String,
    /// SHA-256 (or, keyed, HMAC-SHA-256) of this event's canonical encoding
    /// without this field, in lower-case hex.
    pub hash: String,
}

/// An effect as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditedEffect {
    /// The effect's id (its idempotency key).
    pub id: EffectId,
    /// Its action's `type` tag, e.g. `delete_tenant`.
    pub action: String,
    /// SHA-256 (hex) of the action's canonical JSON: what exactly was asked.
    pub digest: String,
}

impl AuditedEffect {
    pub(crate) fn of(id: &EffectId, action: &Action) -> AuditedEffect {
        AuditedEffect {
            id: id.clone(),
            action: action.kind().to_owned(),
            digest: canonical_digest(action),
        }
    }
}

/// An action as the audit log records it where no effect was issued for it
/// (a plan item that grew, changed or was dropped): its kind and the digest
/// of its canonical JSON, so the log proves which action it was without
/// keeping the ids it names (co-members, domains) past the purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditedAction {
    /// The action's `type` tag, e.g. `remove_members`.
    pub action: String,
    /// SHA-256 (hex) of the action's canonical JSON.
    pub digest: String,
}

impl AuditedAction {
    pub(crate) fn of(action: &Action) -> AuditedAction {
        AuditedAction {
            action: action.kind().to_owned(),
            digest: canonical_digest(action),
        }
    }

    pub(crate) fn all(actions: &[Action]) -> Vec<AuditedAction> {
        actions.iter().map(AuditedAction::of).collect()
    }
}

/// What happened in one audited transition: one variant per kind of event,
/// with what is worth proving about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Event {
    /// A closure was requested.
    Requested {
        /// On what authority.
        relation: ActorRelation,
        /// Why.
        reason: RequestReason,
    },
    /// The request was made again (a new token, or after a halt).
    ReRequested {
        /// On what authority.
        relation: ActorRelation,
        /// Why.
        reason: RequestReason,
    },
    /// A wrong confirmation.
    ConfirmationFailed,
    /// Too many wrong confirmations: locked until `until`.
    LockedOut {
        /// The end of the lockout.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        until: DateTime<Utc>,
    },
    /// Confirmed: the plan is frozen.
    Confirmed {
        /// When it runs.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        execute_at: DateTime<Utc>,
        /// The policy's fingerprint.
        policy: String,
        /// SHA-256 (hex) of the confirmed plan's canonical JSON.
        plan: String,
    },
    /// Cancelled.
    Cancelled {
        /// The fingerprint of the policy the cancel ran under (a cancel is
        /// let through the policy pin; its cooldown is this policy's).
        policy: String,
    },
    /// Reminders went out.
    ReminderSent {
        /// Days before execution, of each reminder sent.
        days_before: Vec<u32>,
    },
    /// Effects whose retry time came were issued again.
    EffectsReissued,
    /// Halted: something stands in the way.
    Halted {
        /// The blockers' codes.
        blockers: Vec<BlockerCode>,
        /// When the plan grew: the items it would add.
        added: Vec<AuditedAction>,
        /// When the plan grew: the items it would do on other terms, as
        /// they would now be.
        changed: Vec<AuditedAction>,
    },
    /// The plan at execution does less than the confirmed one, or protects
    /// longer; it runs, and this says how it differs.
    PlanAdjusted {
        /// What the confirmed plan had and this one does not.
        removed: Vec<AuditedAction>,
        /// Protections as they now run (more invoices in the archive, a
        /// window counted from a later execution).
        adjusted: Vec<AuditedAction>,
    },
    /// An operator carried the closure over to another policy.
    PolicyMigrated {
        /// The fingerprint before.
        from: String,
        /// The fingerprint after.
        to: String,
    },
    /// The statutory deadline was extended.
    DeadlineExtended {
        /// The new deadline.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        due: DateTime<Utc>,
    },
    /// Execution began.
    ExecutionStarted {
        /// Stages in the plan.
        stages: u32,
        /// SHA-256 (hex) of the plan's canonical JSON, as it runs.
        plan: String,
    },
    /// An effect was reported done.
    EffectSucceeded,
    /// An effect failed and will be retried.
    EffectRetryScheduled {
        /// Why, as the host reported it.
        reason: String,
        /// When it is issued again.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        retry_at: DateTime<Utc>,
    },
    /// An effect failed for good (or ran out of retries).
    EffectFailed {
        /// Why, as the host reported it.
        reason: String,
    },
    /// The next stage was issued.
    StageStarted {
        /// Its index.
        stage: u32,
    },
    /// The account is closed.
    Closed,
    /// Purges were issued.
    PurgeIssued,
    /// Every class is purged.
    Purged,
    /// An operator retried failed effects.
    Retried,
    /// An operator gave the closure up.
    Aborted,
    /// A hold was placed through the machine.
    HoldPlaced {
        /// The hold.
        hold: LegalHoldId,
    },
    /// Holds new to the hold set came in a snapshot.
    HoldRecorded {
        /// The holds.
        holds: Vec<LegalHoldId>,
    },
    /// Known holds were widened by a snapshot.
    HoldWidened {
        /// The holds.
        holds: Vec<LegalHoldId>,
    },
    /// A hold was released, the snapshot's shorter version adopted.
    HoldNarrowed {
        /// The hold.
        hold: LegalHoldId,
    },
    /// A hold was released.
    HoldReleased {
        /// The hold.
        hold: LegalHoldId,
    },
    /// Purges in flight were called back by a hold.
    PurgeRecalled,
}

impl Event {
    /// The event's `kind` tag, as its JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Requested { .. } => "requested",
            Event::ReRequested { .. } => "re_requested",
            Event::ConfirmationFailed => "confirmation_failed",
            Event::LockedOut { .. } => "locked_out",
            Event::Confirmed { .. } => "confirmed",
            Event::Cancelled { .. } => "cancelled",
            Event::ReminderSent { .. } => "reminder_sent",
            Event::EffectsReissued => "effects_reissued",
            Event::Halted { .. } => "halted",
            Event::PlanAdjusted { .. } => "plan_adjusted",
            Event::PolicyMigrated { .. } => "policy_migrated",
            Event::DeadlineExtended { .. } => "deadline_extended",
            Event::ExecutionStarted { .. } => "execution_started",
            Event::EffectSucceeded => "effect_succeeded",
            Event::EffectRetryScheduled { .. } => "effect_retry_scheduled",
            Event::EffectFailed { .. } => "effect_failed",
            Event::StageStarted { .. } => "stage_started",
            Event::Closed => "closed",
            Event::PurgeIssued => "purge_issued",
            Event::Purged => "purged",
            Event::Retried => "retried",
            Event::Aborted => "aborted",
            Event::HoldPlaced { .. } => "hold_placed",
            Event::HoldRecorded { .. } => "hold_recorded",
            Event::HoldWidened { .. } => "hold_widened",
            Event::HoldNarrowed { .. } => "hold_narrowed",
            Event::HoldReleased { .. } => "hold_released",
            Event::PurgeRecalled => "purge_recalled",
        }
    }

    /// Every kind, for the schema drift test.
    pub const KINDS: [&'static str; 28] = [
        "requested",
        "re_requested",
        "confirmation_failed",
        "locked_out",
        "confirmed",
        "cancelled",
        "reminder_sent",
        "effects_reissued",
        "halted",
        "plan_adjusted",
        "policy_migrated",
        "deadline_extended",
        "execution_started",
        "effect_succeeded",
        "effect_retry_scheduled",
        "effect_failed",
        "stage_started",
        "closed",
        "purge_issued",
        "purged",
        "retried",
        "aborted",
        "hold_placed",
        "hold_recorded",
        "hold_widened",
        "hold_narrowed",
        "hold_released",
        "purge_recalled",
    ];
}

/// A host's secret for a keyed chain: an id (recorded in each event, so a
/// verifier knows which key) and at least 32 bytes of secret. Its `Debug`
/// output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey {
    id: String,
    secret: Vec<u8>,
}

impl AuditKey {
    /// The shortest secret accepted, in bytes.
    pub const MIN_SECRET_LEN: usize = 32;

    /// A key named `id` with `secret` (at least [`AuditKey::MIN_SECRET_LEN`] bytes).
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<Vec<u8>>,
    ) -> Result<AuditKey, crate::Error> {
        let (id, secret) = (id.into(), secret.into());
        if id.trim().is_empty() || id.len() > 256 {
            return Err(crate::Error::invalid(
                "audit_key.id",
                "a key id is 1 to 256 bytes",
            ));
        }
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(crate::Error::invalid(
                "audit_key.secret",
                format!(
                    "an audit key's secret is at least {} bytes",
                    Self::MIN_SECRET_LEN
                ),
            ));
        }
        Ok(AuditKey { id, secret })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A check value of the secret: the first 16 hex digits of the HMAC of a
    /// fixed label under the key. Two keys with one id and different secrets
    /// have different checks; the check does not reveal the secret.
    pub fn check(&self) -> String {
        let mac = hmac_sha256_hex(&self.secret, b"offboard audit key check");
        mac.get(..16).unwrap_or(&mac).to_owned()
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditKey")
            .field("id", &self.id)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`, in lower-case hex.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        for (b, k) in block.iter_mut().zip(digest.iter()) {
            *b = *k;
        }
    } else {
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    to_hex(&outer.finalize())
}

/// The canonical encoding of a JSON value: object keys sorted, no whitespace.
pub(crate) fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push(':');
                if let Some(v) = map.get(*key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// `value`'s canonical JSON, without the top-level member `omit`: written
/// directly (`canonical.rs`, the default feature `canonical-writer`), or
/// through a `serde_json::Value` without that feature and for the few
/// values the direct writer leaves to it. Both give the same bytes.
fn canonical_bytes(value: &impl Serialize, omit: Option<&str>) -> Vec<u8> {
    #[cfg(feature = "canonical-writer")]
    if let Ok(bytes) = crate::canonical::to_vec(value, omit) {
        return bytes;
    }
    let mut value = serde_json::to_value(value).unwrap_or_default();
    if let (Some(map), Some(omit)) = (value.as_object_mut(), omit) {
        map.remove(omit);
    }
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out.into_bytes()
}

/// `value`'s canonical JSON.
#[cfg(test)]
pub(crate) fn canonical_json(value: &impl Serialize) -> String {
    // JSON is UTF-8 by construction; the fallback is never taken.
    String::from_utf8(canonical_bytes(value, None)).unwrap_or_default()
}

/// SHA-256 (hex) of `value`'s canonical JSON.
pub(crate) fn canonical_digest(value: &impl Serialize) -> String {
    sha256_hex(&canonical_bytes(value, None))
}

/// Lower-case hex SHA-256 of `bytes`: the form of the audit hashes, and of
/// the token digest a host passes with [`Command::Request`](crate::machine::Command::Request).
pub fn digest_hex(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(digest: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * digest.len());
    for byte in digest {
        // One digit per nibble, from a table: formatting each byte with
        // `{:02x}` cost more than the hash itself. A nibble indexes the
        // sixteen digits, so the lookup cannot miss.
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

impl AuditEvent {
    /// The canonical encoding the hash covers: every field but `hash`.
    fn canonical(&self) -> Vec<u8> {
        canonical_bytes(self, Some("hash"))
    }

    /// The hash this event should carry in a plain chain, computed from its
    /// other fields.
    pub fn compute_hash(&self) -> String {
        sha256_hex(&self.canonical())
    }

    /// The hash this event should carry in a chain keyed with `key`.
    pub fn compute_keyed_hash(&self, key: &AuditKey) -> String {
        hmac_sha256_hex(&key.secret, &self.canonical())
    }

    /// Fills in `hash`, plain or keyed (and `key` with the key's id).
    pub(crate) fn seal(&mut self, key: Option<&AuditKey>) {
        self.key = key.map(|k| k.id.clone());
        self.hash = match key {
            Some(key) => self.compute_keyed_hash(key),
            None => self.compute_hash(),
        };
    }
}

/// Where the next event of a chain goes: recorded in the closure state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditCursor {
    /// Sequence number of the next event.
    pub next_sequence: u64,
    /// Hash of the last event ([`GENESIS`] before the first).
    pub head: String,
    /// The id of the key the chain is keyed with, fixed by its first event;
    /// absent for a plain chain. Every later step must pass the same key.
    #[serde(default)]
    pub key: Option<String>,
    /// A check value of the key's secret ([`AuditKey::check`]): a step with
    /// the same key id but another secret is refused. It reveals nothing of
    /// the secret.
    #[serde(default)]
    pub key_check: Option<String>,
}

impl Default for AuditCursor {
    fn default() -> Self {
        AuditCursor {
            next_sequence: 0,
            head: GENESIS.to_owned(),
            key: None,
            key_check: None,
        }
    }
}

/// A point of a closure's chain to keep outside the host's database (a
/// ticket, a write-once store, a transparency log): a log later rewritten
/// before this point no longer contains this head at this sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The closure.
    pub closure: String,
    /// The sequence of the event checkpointed.
    pub sequence: u64,
    /// That event's hash.
    pub head: String,
    /// That event's time.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub at: DateTime<Utc>,
    /// The chain's key id, if keyed.
    pub key: Option<String>,
}

/// The checkpoint of a log's last event (none for an empty log).
pub fn checkpoint(events: &[AuditEvent]) -> Option<Checkpoint> {
    events.last().map(|e| Checkpoint {
        closure: e.closure.clone(),
        sequence: e.sequence,
        head: e.hash.clone(),
        at: e.at,
        key: e.key.clone(),
    })
}

/// What a verified log proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Verified {
    /// Number of events checked.
    pub events: u64,
    /// Hash of the last event ([`GENESIS`] for an empty log).
    pub head: String,
}

/// Why a log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
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
    /// An event is keyed and no key was given to check it.
    #[error("event {sequence} is keyed with `{key}`: verify the log with that key")]
    KeyRequired {
        /// The event's sequence.
        sequence: u64,
        /// The key's id.
        key: String,
    },
    /// An event is not keyed with the key given (or not keyed at all): in a
    /// chain checked with a key, that is a forgery.
    #[error("event {sequence} is not keyed with the key given")]
    WrongKey {
        /// The event's sequence.
        sequence: u64,
    },
    /// The log does not contain the checkpoint's event (it was rewritten
    /// before the checkpoint, or is of another closure).
    #[error("the log does not hold the checkpointed event {sequence}")]
    CheckpointMismatch {
        /// The checkpoint's sequence.
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

/// Verifies a whole plain log from its first event. A keyed event is
/// reported ([`AuditError::KeyRequired`]): check keyed logs with [`verify_keyed`].
pub fn verify(events: &[AuditEvent]) -> Result<Verified, AuditError> {
    verify_chain(events, None)
}

/// Verifies a whole log keyed with `key`: every event must be keyed with it
/// and carry the HMAC the key gives. A log forged or re-hashed without the
/// key does not verify.
pub fn verify_keyed(events: &[AuditEvent], key: &AuditKey) -> Result<Verified, AuditError> {
    verify_chain(events, Some(key))
}

fn verify_chain(events: &[AuditEvent], key: Option<&AuditKey>) -> Result<Verified, AuditError> {
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
        let expected = match (key, &event.key) {
            (None, None) => event.compute_hash(),
            (None, Some(id)) => {
                return Err(AuditError::KeyRequired {
                    sequence: event.sequence,
                    key: id.clone(),
                })
            }
            (Some(key), Some(id)) if *id == key.id => event.compute_keyed_hash(key),
            (Some(_), _) => {
                return Err(AuditError::WrongKey {
                    sequence: event.sequence,
                })
            }
        };
        if expected != event.hash {
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

/// Verifies a log keyed with `key` and checks that it ends at `head`.
pub fn verify_keyed_with_head(
    events: &[AuditEvent],
    key: &AuditKey,
    head: &str,
) -> Result<Verified, AuditError> {
    let verified = verify_chain(events, Some(key))?;
    if verified.head != head {
        return Err(AuditError::HeadMismatch {
            found: verified.head,
            expected: head.to_owned(),
        });
    }
    Ok(verified)
}

/// Verifies a log (keyed with `key`, if given) and checks that it still
/// holds the event `checkpoint` names.
pub fn verify_against_checkpoint(
    events: &[AuditEvent],
    checkpoint: &Checkpoint,
    key: Option<&AuditKey>,
) -> Result<Verified, AuditError> {
    let verified = verify_chain(events, key)?;
    let held = usize::try_from(checkpoint.sequence)
        .ok()
        .and_then(|i| events.get(i))
        .is_some_and(|e| e.hash == checkpoint.head && e.closure == checkpoint.closure);
    if held {
        Ok(verified)
    } else {
        Err(AuditError::CheckpointMismatch {
            sequence: checkpoint.sequence,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        to_hex(bytes)
    }

    /// FIPS 180-2's SHA-256 examples (one block, empty, two blocks) through
    /// the public digest: every nibble of the hex encoding an outside
    /// verifier recomputes is pinned, not only its self-consistency.
    #[test]
    fn digests_match_the_fips_180_2_vectors() {
        assert_eq!(
            digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            digest_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
            "0123456789abcdef"
        );
    }

    /// RFC 4231, test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_the_rfc_4231_vectors() {
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(hex(&[0x00, 0xff]), "00ff");
        // A key of exactly one block is used as it is, not hashed first
        // (the expected value is Python's hmac module's).
        assert_eq!(
            hmac_sha256_hex(&[0x0c; 64], b"a key exactly one block long"),
            "6fc31a8290ecb4ebd3668308ba201b548f70bb7b6a4a6511eb76249bbd07aeeb"
        );
    }

    #[test]
    fn the_canonical_encoding_sorts_keys_at_every_depth() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"b": {"d": 1, "c": [2, {"f": 3, "e": 4}]}, "a": "x"}"#)
                .unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x","b":{"c":[2,{"e":4,"f":3}],"d":1}}"#
        );
    }

    #[test]
    fn short_secrets_and_empty_ids_are_refused() {
        assert!(AuditKey::new("k", vec![0u8; 31]).is_err());
        assert!(AuditKey::new(" ", vec![0u8; 32]).is_err());
        assert_eq!(AuditKey::new("k", vec![0u8; 32]).unwrap().id(), "k");
    }
}
