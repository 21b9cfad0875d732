//! The account being closed, and the person asking.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// The account whose closure is being considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account holder's user id.
    pub id: UserId,
    /// Email address; personal data, used for the typed confirmation.
    pub email: String,
    /// Display name; personal data.
    pub display_name: String,
    /// Self-serve or under contract.
    pub kind: AccountKind,
    /// How the holder signs in.
    pub identity: Identity,
    /// Standing of the account on the platform.
    pub status: AccountStatus,
}

/// Who the account belongs to commercially.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccountKind {
    /// Signed up and pays on its own.
    SelfServe,
    /// Under a negotiated contract, looked after by customer success.
    Contract {
        /// The customer-success contact who handles closure.
        customer_success: Contact,
    },
}

/// A named contact a remedy can point the person to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name of the person or team.
    pub name: String,
    /// Where to reach them.
    pub email: String,
}

/// How the account holder authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Identity {
    /// Own credentials (password, passkey, ...), managed by the holder.
    Password,
    /// Single sign-on through an identity provider, managed by a super admin.
    Sso {
        /// The identity provider, e.g. `okta`.
        provider: String,
        /// The super admin who manages this account at the provider.
        super_admin: UserId,
    },
}

/// The account's standing on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// In good standing.
    Active,
    /// Suspended by moderation; the holder may not close it to evade that.
    Suspended,
    /// Locked for security (e.g. suspected takeover) pending review.
    Locked,
    /// Already closed.
    Closed,
}

/// The person asking to close the account.
///
/// The re-authentication time belongs here rather than in the snapshot: it is
/// a property of the acting session, which may be an SSO super admin's or a
/// support operator's rather than the account holder's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Who is acting.
    pub id: UserId,
    /// In what capacity.
    pub role: ActorRole,
    /// When this person last proved their identity again (password, passkey,
    /// SSO round trip), if the host knows.
    #[serde(default)]
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub reauthenticated_at: Option<DateTime<Utc>>,
}

/// The capacity an actor acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    /// A platform user: the holder, a co-member, an SSO super admin, anyone.
    User,
    /// A support operator of the platform acting on the customer's behalf.
    SupportOperator,
    /// The host's own scheduler or worker: ticks and reports effect outcomes.
    System,
}

impl Actor {
    /// The account holder, freshly re-authenticated at `at`.
    pub fn holder(account: &Account, at: DateTime<Utc>) -> Actor {
        Actor {
            id: account.id.clone(),
            role: ActorRole::User,
            reauthenticated_at: Some(at),
        }
    }

    /// The host's own scheduler or worker, which ticks closures and reports
    /// effect outcomes (and may request closures where the policy lets it),
    /// under the id `system`. [`Actor::system_as`] names it otherwise, so
    /// that the audit trail tells several workers apart.
    pub fn system() -> Actor {
        Actor {
            id: UserId::system(),
            role: ActorRole::System,
            reauthenticated_at: None,
        }
    }

    /// The host's own scheduler or worker, under the id the host gives it.
    pub fn system_as(id: UserId) -> Actor {
        Actor {
            id,
            role: ActorRole::System,
            reauthenticated_at: None,
        }
    }

    /// A support operator, signed in afresh at `at`.
    pub fn support(id: UserId, at: DateTime<Utc>) -> Actor {
        Actor {
            id,
            role: ActorRole::SupportOperator,
            reauthenticated_at: Some(at),
        }
    }

    /// How this actor stands towards `account`.
    pub fn relation_to(&self, account: &Account) -> ActorRelation {
        match self.role {
            ActorRole::SupportOperator => ActorRelation::SupportOperator,
            ActorRole::System => ActorRelation::System,
            ActorRole::User if self.id == account.id => ActorRelation::Holder,
            ActorRole::User => match &account.identity {
                Identity::Sso { super_admin, .. } if *super_admin == self.id => {
                    ActorRelation::SsoSuperAdmin
                }
                Identity::Sso { .. } | Identity::Password => ActorRelation::Unrelated,
            },
        }
    }
}

/// How an [`Actor`] stands towards the account being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorRelation {
    /// The account holder.
    Holder,
    /// The SSO super admin who manages the account.
    SsoSuperAdmin,
    /// A support operator.
    SupportOperator,
    /// The host's scheduler or worker.
    System,
    /// Anyone else.
    Unrelated,
}

impl fmt::Display for ActorRelation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActorRelation::Holder => "account holder",
            ActorRelation::SsoSuperAdmin => "SSO super admin",
            ActorRelation::SupportOperator => "support operator",
            ActorRelation::System => "the host's system",
            ActorRelation::Unrelated => "not related to the account",
        })
    }
}
