//! The account snapshot: what the host knows about one account at one instant.
//!
//! ```
//! let json = r#"{
//!   "schema_version": 1,
//!   "taken_at": "2026-11-23T10:00:00Z",
//!   "account": {
//!     "id": "u_ada", "email": "ada@example.com", "display_name": "Ada",
//!     "kind": {"type": "self_serve"}, "identity": {"type": "password"},
//!     "status": "active"
//!   }
//! }"#;
//! let snapshot = offboard::Snapshot::from_json(json)?;
//! snapshot.validate()?;
//! assert!(snapshot.tenants.is_empty());
//! # Ok::<(), offboard::Error>(())
//! ```

mod account;
mod billing;
mod domain;
mod hold;
mod ids;
mod tenant;
pub(crate) mod validate;

pub use account::{
    Account, AccountKind, AccountStatus, Actor, ActorRelation, ActorRole, Contact, Identity,
};
pub(crate) use billing::format_minor;
pub use billing::{
    Balance, Currency, CurrencyError, Invoice, InvoiceStatus, PaymentMethod, PaymentMethodKind,
    Subscription, SubscriptionStatus,
};
pub use domain::{Domain, DomainSetup, Registration};
pub use hold::{HoldReason, LegalHold, RecordClass};
pub(crate) use ids::check_id;
pub use ids::{
    DomainName, DomainNameError, IdError, InvoiceId, LegalHoldId, PaymentMethodId, SubscriptionId,
    TenantId, UserId, MAX_ID_LEN,
};
pub use tenant::{Member, Role, Tenant};
pub(crate) use validate::Index;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Document, Error};

/// The snapshot schema version this build reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Everything the host knows about one account at one instant.
///
/// Entities owned by a tenant name it in their `tenant` field; entities owned
/// by the account directly leave it out. Every tenant listed must have the
/// account among its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Schema version of this document; must be [`SNAPSHOT_VERSION`].
    pub schema_version: u32,
    /// When the host took the snapshot.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub taken_at: DateTime<Utc>,
    /// The account.
    pub account: Account,
    /// The account's own balance with the platform, if it has one.
    #[serde(default)]
    pub balance: Option<Balance>,
    /// Tenants the account is a member of.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// Subscriptions and add-ons of the account and its tenants.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// Domains of the account and its tenants.
    #[serde(default)]
    pub domains: Vec<Domain>,
    /// Payment methods of the account and its tenants.
    #[serde(default)]
    pub payment_methods: Vec<PaymentMethod>,
    /// Invoices of the account and its tenants.
    #[serde(default)]
    pub invoices: Vec<Invoice>,
    /// Legal holds on the account's records.
    #[serde(default)]
    pub legal_holds: Vec<LegalHold>,
}

impl Snapshot {
    /// Parses a snapshot from JSON and checks its schema version.
    ///
    /// Cross-references (duplicate ids, dangling references) are checked by
    /// [`Snapshot::validate`], which [`assess`](crate::assess()) runs itself.
    pub fn from_json(text: &str) -> Result<Snapshot, Error> {
        parse_versioned(
            text,
            Document::Snapshot,
            SNAPSHOT_VERSION,
            |s: &Snapshot| s.schema_version,
        )
    }

    /// The snapshot as JSON, as [`Snapshot::from_json`] reads it back.
    pub fn to_json(&self) -> String {
        crate::json::to_json(self)
    }

    /// Checks the snapshot's cross-references: unique ids, references that
    /// resolve, tenants that include the account, primary owners that are owners.
    pub fn validate(&self) -> Result<(), Error> {
        Index::build(self).map(|_| ())
    }
}

/// Parses a versioned document. The version is checked after a successful
/// parse (the fast path); when the parse fails, the version is probed so that
/// a document from another version gets `unsupported_version` rather than a
/// confusing complaint about some field that changed.
pub(crate) fn parse_versioned<T: serde::de::DeserializeOwned>(
    text: &str,
    document: Document,
    supported: u32,
    version_of: impl Fn(&T) -> u32,
) -> Result<T, Error> {
    #[derive(Deserialize)]
    struct Probe {
        schema_version: u64,
    }
    let unsupported = |found: String| Error::UnsupportedVersion {
        document,
        found,
        supported,
    };
    crate::error::check_size(document, text)?;
    match serde_json::from_str::<T>(text) {
        Ok(value) if version_of(&value) == supported => Ok(value),
        Ok(value) => Err(unsupported(version_of(&value).to_string())),
        Err(err) => {
            if err.is_data() {
                // Only a whole-number version can be "another version"; anything
                // else is a plain schema mismatch, reported as such below.
                if let Ok(Probe { schema_version }) = serde_json::from_str::<Probe>(text) {
                    if schema_version != u64::from(supported) {
                        return Err(unsupported(schema_version.to_string()));
                    }
                }
            }
            Err(Error::from_json(document, &err))
        }
    }
}
