//! Legal holds and the record classes they cover.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{LegalHoldId, UserId};

/// Classes of record kept about an account, each with its own retention rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordClass {
    /// Profile and contact details: name, email, addresses, sign-in data.
    PersonalData,
    /// What the account created: projects, files, messages, settings.
    Content,
    /// Invoices and payment records (tax records).
    Invoices,
    /// The audit trail of the account and of its closure.
    AuditLog,
}

impl RecordClass {
    /// Every class, in a fixed order.
    pub const ALL: [RecordClass; 4] = [
        RecordClass::PersonalData,
        RecordClass::Content,
        RecordClass::Invoices,
        RecordClass::AuditLog,
    ];
}

impl fmt::Display for RecordClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordClass::PersonalData => "personal data",
            RecordClass::Content => "content",
            RecordClass::Invoices => "invoices",
            RecordClass::AuditLog => "audit log",
        })
    }
}

/// A legal obligation to keep some records despite the closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LegalHold {
    /// Hold id.
    pub id: LegalHoldId,
    /// The record classes it covers (at least one).
    pub classes: Vec<RecordClass>,
    /// Why the records are held.
    pub reason: HoldReason,
    /// Who placed the hold.
    pub placed_by: UserId,
    /// When it was placed.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub placed_at: DateTime<Utc>,
    /// When it lapses; absent for an open-ended hold.
    #[serde(default)]
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub until: Option<DateTime<Utc>>,
}

impl LegalHold {
    /// Whether the hold is in force at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.placed_at <= now && self.until.is_none_or(|until| now < until)
    }

    /// Whether the hold covers `class`.
    pub fn covers(&self, class: RecordClass) -> bool {
        self.classes.contains(&class)
    }
}

/// Grounds for a legal hold (GDPR Art. 17(3) exceptions and their kin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Pending or expected litigation.
    Litigation,
    /// An ongoing abuse or fraud investigation.
    AbuseInvestigation,
    /// A request from a regulator or law enforcement.
    RegulatoryRequest,
    /// A tax audit.
    TaxAudit,
    /// Another legal obligation.
    Other,
}
