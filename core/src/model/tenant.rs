//! Tenants: organisations, workspaces or networks the account belongs to.

use serde::{Deserialize, Serialize};

use super::billing::Balance;
use super::ids::{TenantId, UserId};

/// A tenant the account is a member of, with all its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Tenant id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// The primary owner: the member who answers for the tenant. Must be a
    /// member with the `owner` role.
    pub primary_owner: UserId,
    /// Every member, the account holder included.
    pub members: Vec<Member>,
    /// The tenant's balance with the platform, if it has one.
    #[serde(default)]
    pub balance: Option<Balance>,
}

/// One member of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The member's user id.
    pub user: UserId,
    /// The member's role in this tenant.
    pub role: Role,
}

/// A member's role in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Full control, including deleting the tenant and transferring it.
    Owner,
    /// Manages members and settings.
    Admin,
    /// Manages billing.
    Billing,
    /// Uses the tenant.
    Member,
}
