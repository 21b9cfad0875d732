//! What an assessment reports: blockers with remedies, warnings, consequences.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    ActorRelation, Contact, Currency, DomainName, InvoiceId, LegalHoldId, PaymentMethodId,
    RecordClass, SubscriptionId, TenantId, UserId,
};
use crate::policy::{CancelTiming, UnusedTime};

/// The assessment schema version this build writes.
pub const ASSESSMENT_VERSION: u32 = 2;

/// The answer to "can this actor close this account now, and what would happen?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Schema version of this document: [`ASSESSMENT_VERSION`].
    pub schema_version: u32,
    /// The account assessed.
    pub account: UserId,
    /// Who asked.
    pub actor: UserId,
    /// How the actor stands towards the account.
    pub actor_relation: ActorRelation,
    /// The name of the policy applied.
    pub policy: String,
    /// The instant the assessment is for.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub assessed_at: DateTime<Utc>,
    /// True when there are no blockers.
    pub can_close: bool,
    /// Everything standing in the way, all at once, in a stable order.
    pub blockers: Vec<Blocker>,
    /// Things worth knowing that do not block.
    pub warnings: Vec<Warning>,
    /// What closing would do, once the blockers are cleared.
    pub consequences: Consequences,
}

/// Something that stands in the way of the closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Blocker {
    /// Stable machine code.
    pub code: BlockerCode,
    /// What it concerns.
    pub subject: Subject,
    /// A sentence for the person.
    pub message: String,
    /// How to clear it, and who can.
    pub remedy: Remedy,
}

/// Stable blocker codes; the strings never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BlockerCode {
    /// The actor is neither the holder, its SSO super admin, nor support.
    ActorNotAllowed,
    /// The account is already closed.
    AccountClosed,
    /// The account is suspended; only support can close it.
    AccountSuspended,
    /// The account is locked for security review; only support can close it.
    AccountLocked,
    /// The account is under contract; customer success closes it.
    ContractAccount,
    /// The account is SSO-managed; its super admin closes it.
    SsoManaged,
    /// The actor's last re-authentication is missing or too old.
    ReauthenticationRequired,
    /// A legal hold is in force and the policy blocks on holds.
    LegalHold,
    /// The account is primary owner of a tenant with other members.
    SharedTenantOwner,
    /// A subscription is live.
    SubscriptionActive,
    /// An add-on is live.
    AddOnActive,
    /// A domain is still active on the platform.
    DomainActive,
    /// The registrar still delegates a domain to the platform.
    NameserversPointHere,
    /// A registration still auto-renews.
    RegistrarAutoRenew,
    /// A partial (CNAME) setup still points at the platform.
    PartialSetupLive,
    /// A payment method is on file.
    PaymentMethodOnFile,
    /// An invoice is open or uncollectible.
    InvoiceUnpaid,
    /// A balance is owed.
    BalanceOwed,
    /// A payment is disputed.
    DisputeOpen,
    /// At execution the plan would do more than was confirmed (a tenant
    /// newly deleted, members newly removed, a subscription newly cancelled,
    /// money newly moved): the closure halts until it is confirmed again.
    ScopeChanged,
}

impl BlockerCode {
    /// Every code, in the order blockers are reported.
    pub const ALL: [BlockerCode; 20] = [
        BlockerCode::ActorNotAllowed,
        BlockerCode::AccountClosed,
        BlockerCode::AccountSuspended,
        BlockerCode::AccountLocked,
        BlockerCode::ContractAccount,
        BlockerCode::SsoManaged,
        BlockerCode::ReauthenticationRequired,
        BlockerCode::LegalHold,
        BlockerCode::SharedTenantOwner,
        BlockerCode::SubscriptionActive,
        BlockerCode::AddOnActive,
        BlockerCode::DomainActive,
        BlockerCode::NameserversPointHere,
        BlockerCode::RegistrarAutoRenew,
        BlockerCode::PartialSetupLive,
        BlockerCode::PaymentMethodOnFile,
        BlockerCode::InvoiceUnpaid,
        BlockerCode::BalanceOwed,
        BlockerCode::DisputeOpen,
        BlockerCode::ScopeChanged,
    ];

    /// The code as its snake_case string.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerCode::ActorNotAllowed => "actor_not_allowed",
            BlockerCode::AccountClosed => "account_closed",
            BlockerCode::AccountSuspended => "account_suspended",
            BlockerCode::AccountLocked => "account_locked",
            BlockerCode::ContractAccount => "contract_account",
            BlockerCode::SsoManaged => "sso_managed",
            BlockerCode::ReauthenticationRequired => "reauthentication_required",
            BlockerCode::LegalHold => "legal_hold",
            BlockerCode::SharedTenantOwner => "shared_tenant_owner",
            BlockerCode::SubscriptionActive => "subscription_active",
            BlockerCode::AddOnActive => "add_on_active",
            BlockerCode::DomainActive => "domain_active",
            BlockerCode::NameserversPointHere => "nameservers_point_here",
            BlockerCode::RegistrarAutoRenew => "registrar_auto_renew",
            BlockerCode::PartialSetupLive => "partial_setup_live",
            BlockerCode::PaymentMethodOnFile => "payment_method_on_file",
            BlockerCode::InvoiceUnpaid => "invoice_unpaid",
            BlockerCode::BalanceOwed => "balance_owed",
            BlockerCode::DisputeOpen => "dispute_open",
            BlockerCode::ScopeChanged => "scope_changed",
        }
    }
}

impl fmt::Display for BlockerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The entity a blocker or warning concerns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Subject {
    /// The account itself.
    Account {
        /// Account id.
        id: UserId,
    },
    /// The person acting.
    Actor {
        /// Actor id.
        id: UserId,
    },
    /// A tenant.
    Tenant {
        /// Tenant id.
        id: TenantId,
    },
    /// A subscription or add-on.
    Subscription {
        /// Subscription id.
        id: SubscriptionId,
    },
    /// A domain.
    Domain {
        /// Domain name.
        name: DomainName,
    },
    /// A payment method.
    PaymentMethod {
        /// Payment method id.
        id: PaymentMethodId,
    },
    /// An invoice.
    Invoice {
        /// Invoice id.
        id: InvoiceId,
    },
    /// A balance, on the account (no tenant) or on a tenant.
    Balance {
        /// The tenant whose balance it is; absent for the account's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant: Option<TenantId>,
    },
    /// A legal hold.
    LegalHold {
        /// Hold id.
        id: LegalHoldId,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Account { id } => write!(f, "account {id}"),
            Subject::Actor { id } => write!(f, "actor {id}"),
            Subject::Tenant { id } => write!(f, "tenant {id}"),
            Subject::Subscription { id } => write!(f, "subscription {id}"),
            Subject::Domain { name } => write!(f, "domain {name}"),
            Subject::PaymentMethod { id } => write!(f, "payment method {id}"),
            Subject::Invoice { id } => write!(f, "invoice {id}"),
            Subject::Balance { tenant: None } => f.write_str("account balance"),
            Subject::Balance { tenant: Some(id) } => write!(f, "balance of tenant {id}"),
            Subject::LegalHold { id } => write!(f, "legal hold {id}"),
        }
    }
}

/// How to clear a blocker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Remedy {
    /// What to do.
    pub action: RemedyAction,
    /// Who can do it.
    pub by: Responsible,
    /// A sentence for the person.
    pub message: String,
}

/// Things that clear blockers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemedyAction {
    /// Ask the account holder to close it themselves.
    AskAccountHolder,
    /// Contact the platform's support.
    ContactSupport,
    /// Contact the account's customer-success manager.
    ContactCustomerSuccess,
    /// Ask the SSO super admin to close the account.
    AskSsoSuperAdmin,
    /// Sign in again.
    Reauthenticate,
    /// Transfer ownership of the tenant to another member (or delete it).
    TransferTenantOwnership,
    /// Cancel the subscription or add-on.
    CancelSubscription,
    /// Remove the domain from the platform.
    RemoveDomain,
    /// Change the nameservers at the registrar.
    ChangeNameservers,
    /// Turn off auto-renew of the registration.
    DisableAutoRenew,
    /// Point the DNS records at the origin instead of the platform.
    RepointDnsRecords,
    /// Delete the payment method.
    DeletePaymentMethod,
    /// Pay the invoice.
    PayInvoice,
    /// Settle the balance owed.
    SettleBalance,
    /// Wait for the dispute to be resolved.
    ResolveDispute,
    /// Request the closure again and confirm the new plan (or cancel it).
    ConfirmAgain,
}

/// Who can carry out a remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Responsible {
    /// The account holder.
    AccountHolder,
    /// Whoever is acting now.
    Actor,
    /// An owner of the tenant (the holder is one).
    TenantOwner {
        /// The tenant.
        tenant: TenantId,
    },
    /// The SSO super admin.
    SsoSuperAdmin {
        /// The super admin's user id.
        user: UserId,
    },
    /// The account's customer-success contact.
    CustomerSuccess {
        /// Who to contact.
        contact: Contact,
    },
    /// The platform's support team.
    Support,
}

/// Something worth knowing that does not block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// Stable machine code.
    pub code: WarningCode,
    /// What it concerns.
    pub subject: Subject,
    /// A sentence for the person.
    pub message: String,
}

/// Stable warning codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningCode {
    /// The closure cannot be undone once confirmed (no grace period).
    Irreversible,
    /// Confirming signs the account out everywhere and stops it writing.
    SignedOutOnConfirmation,
    /// Invoices stop being downloadable at a given time.
    InvoicesDownloadWindow,
    /// Members of a deleted tenant lose access.
    CoMembersLoseAccess,
    /// A credit balance will not be usable after the closure.
    CreditBalance,
    /// A legal hold keeps some records past the closure.
    LegalHold,
    /// The registrar still delegates a domain to the platform.
    NameserversPointHere,
    /// A partial (CNAME) setup still points at the platform.
    PartialSetupLive,
    /// An invoice is unpaid.
    InvoiceUnpaid,
    /// A balance is owed.
    BalanceOwed,
    /// A payment is disputed.
    DisputeOpen,
}

/// What closing the account would do, once the blockers are cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Consequences {
    /// When the closure would execute: after the grace period from now.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub closes_at: DateTime<Utc>,
    /// Whether confirming signs the account out everywhere and stops it
    /// writing (`revoke_sessions`, `block_writes`) until the closure runs or
    /// is cancelled (which gives writing back).
    pub locked_on_confirmation: bool,
    /// Until when the holder could still cancel; absent when irreversible.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub cancellable_until: Option<DateTime<Utc>>,
    /// Summary counts of what follows.
    pub counts: Counts,
    /// Tenants deleted, with the other members removed from each.
    pub tenants_deleted: Vec<TenantDeletion>,
    /// Tenants the account leaves; they live on with their other members.
    pub tenants_left: Vec<TenantId>,
    /// Tenants the account leaves as their primary owner: who becomes
    /// primary owner in its place.
    pub primary_ownership_transferred: Vec<OwnershipTransfer>,
    /// Subscriptions and add-ons the closure cancels, and how.
    pub subscriptions_cancelled: Vec<SubscriptionCancellation>,
    /// Payment methods deleted.
    pub payment_methods_deleted: Vec<PaymentMethodId>,
    /// Credit balances paid back to the customer (under `unused_time: refund`).
    pub credits_refunded: Vec<CreditRefund>,
    /// Domains removed from the platform.
    pub domains_released: Vec<DomainName>,
    /// Registrations whose auto-renew the closure turns off.
    pub auto_renew_disabled: Vec<DomainName>,
    /// Invoices of the closed scope, and until when they can be downloaded.
    pub invoices: InvoiceArchive,
    /// When personal data is due to be purged; absent while an open-ended hold keeps it.
    /// Retention counts from the request: assessed just before requesting,
    /// as a host shows it, this is the date the machine uses. A closure
    /// asked again after a halt keeps its first request's clock, so its data
    /// may be purged earlier than a later assessment shows, never later.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub personal_data_purge_due: Option<DateTime<Utc>>,
    /// Each record class: when it is purged and what keeps it.
    pub retention: Vec<ClassRetention>,
    /// When the account's identifiers may be reused; absent for never.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub identifiers_reusable_at: Option<DateTime<Utc>>,
}

/// Counts of the consequences, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Tenants deleted.
    pub tenants_deleted: u64,
    /// Other members removed from deleted tenants.
    pub members_removed: u64,
    /// Tenants the account leaves.
    pub tenants_left: u64,
    /// Tenants whose primary ownership passes to a co-owner.
    pub primary_ownership_transferred: u64,
    /// Credit balances refunded.
    pub credits_refunded: u64,
    /// Plans cancelled.
    pub subscriptions_cancelled: u64,
    /// Add-ons cancelled.
    pub add_ons_cancelled: u64,
    /// Payment methods deleted.
    pub payment_methods_deleted: u64,
    /// Domains released.
    pub domains_released: u64,
    /// Registrations with auto-renew turned off.
    pub auto_renew_disabled: u64,
    /// Invoices in the archive.
    pub invoices: u64,
}

/// A tenant the closure deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantDeletion {
    /// The tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// The other members removed with it (the holder excluded).
    pub members_removed: Vec<UserId>,
}

/// A tenant the account leaves as its primary owner, and its new primary
/// owner. **The rule:** the first other member with the `owner` role, in the
/// order the snapshot lists the members (list them oldest first, and the
/// longest-standing co-owner takes over). A tenant with no other owner is
/// not left this way: it is deleted, or blocks until the holder transfers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OwnershipTransfer {
    /// The tenant.
    pub tenant: TenantId,
    /// The co-owner who becomes primary owner.
    pub to: UserId,
}

/// A credit balance the closure refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreditRefund {
    /// The tenant whose balance it is; absent for the account's own.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The amount, in minor units.
    pub amount: i64,
    /// Its currency.
    pub currency: Currency,
}

/// A subscription or add-on the closure cancels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancellation {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// Its tenant, if any.
    pub tenant: Option<TenantId>,
    /// Its plan.
    pub plan: String,
    /// Whether it is an add-on.
    pub add_on: bool,
    /// When service ends.
    pub timing: CancelTiming,
    /// The instant service ends.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub ends_at: DateTime<Utc>,
    /// What happens to unused paid time.
    pub unused_time: UnusedTime,
}

/// The invoices the person loses access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoiceArchive {
    /// How many invoices.
    pub count: u64,
    /// Until when they can be downloaded.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub downloadable_until: DateTime<Utc>,
}

/// When one record class is purged, and why it is kept until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassRetention {
    /// The record class.
    pub class: RecordClass,
    /// When it is due to be purged; absent while an open-ended hold keeps it.
    #[serde(with = "crate::timestamp::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<DateTime<Utc>>"))]
    pub purge_due: Option<DateTime<Utc>>,
    /// Legal holds in force that cover it (their ids only: reasons stay private).
    pub held_by: Vec<LegalHoldId>,
}
