//! Domains and their registrar and DNS settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{DomainName, TenantId};

/// A domain on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// The domain name.
    pub name: DomainName,
    /// The tenant it belongs to; absent when the account owns it directly.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// Whether the platform still serves the domain (the zone is active).
    pub active: bool,
    /// How the domain points at the platform.
    pub setup: DomainSetup,
    /// Present when the domain is registered through the platform's registrar.
    #[serde(default)]
    pub registration: Option<Registration>,
}

/// How a domain is connected to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DomainSetup {
    /// Full setup: the registrar delegates the domain to the platform's nameservers.
    Full {
        /// Whether the registrar still lists the platform's nameservers.
        nameservers_point_here: bool,
    },
    /// Partial (CNAME) setup: DNS stays at another provider, with records
    /// pointing at the platform.
    Partial {
        /// Whether records at the DNS provider still point at the platform.
        cname_records_live: bool,
    },
}

/// Registration through the platform's own registrar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Whether the registration renews (and bills) automatically.
    pub auto_renew: bool,
    /// When the registration expires.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub expires_at: DateTime<Utc>,
}
