//! Effects: what the host must do, as data. Core performs nothing itself.
//!
//! Each [`Effect`] has an id that doubles as its idempotency key: it is derived
//! from the closure, the request generation and the action, so the same
//! closure asking for the same action gets the same key, and a host (or the
//! downstream service) can drop a repeat. The host performs an effect, then
//! reports its [`Outcome`](crate::machine::Outcome) with
//! [`Command::ReportOutcome`](crate::machine::Command::ReportOutcome).
//!
//! The execution plan is derived from the assessment's consequences, so what
//! the person was shown and what the closure does come from one computation.
//! It runs in stages, each only after the one before has fully succeeded:
//! billing before the tenants that own it, members before their tenants, the
//! identifiers quarantined before the account is deleted, the account last.
//! The `completed` notice goes out once that last stage has fully succeeded.
//!
//! **Records are destroyed only by [`Action::Purge`].** Deleting a tenant or
//! the account ends access and detaches what they held; the host keeps those
//! records, class by class, until the machine issues the class's purge, which
//! it does only when the class's retention has run out and no legal hold in
//! the closure's hold set covers it. So a hold on `content` keeps a deleted
//! tenant's content until the hold ends, then it is purged.
//!
//! **The point of no return** is the first irreversible effect: the stage
//! that deletes a tenant, or the account where no tenant is deleted. Once it
//! is issued the closure only goes forward (see
//! [`ClosureState::point_of_no_return`](crate::machine::ClosureState::point_of_no_return)).

use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::assess::Consequences;
use crate::audit::sha256_hex;
use crate::model::{DomainName, PaymentMethodId, RecordClass, SubscriptionId, TenantId, UserId};
use crate::policy::{CancelTiming, UnusedTime};

/// An effect id, which is also its idempotency key: `ef_` and 32 hex digits.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct EffectId(String);

impl EffectId {
    /// The key for `action` in generation `generation` of closure `closure`.
    pub fn derive(closure: &str, generation: u32, action: &Action) -> EffectId {
        let action = serde_json::to_string(action).unwrap_or_default();
        let digest = sha256_hex(format!("{closure}\n{generation}\n{action}").as_bytes());
        EffectId(format!("ef_{}", digest.get(..32).unwrap_or(&digest)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EffectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something the host must do.
#[must_use = "an effect does nothing until the host performs it and reports the outcome"]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// Id and idempotency key.
    pub id: EffectId,
    /// What to do.
    pub action: Action,
}

/// The actions a closure asks of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Sign the account out everywhere and revoke its API tokens.
    RevokeSessions,
    /// Refuse writes by the account (content made now would be orphaned).
    BlockWrites,
    /// Undo [`Action::BlockWrites`] after a cancelled closure (sessions stay revoked).
    RestoreAccess,
    /// Send a message.
    Notify {
        /// To whom.
        recipient: Recipient,
        /// Which message.
        message: Message,
    },
    /// Cancel a subscription or add-on.
    CancelSubscription {
        /// The subscription.
        subscription: SubscriptionId,
        /// When service ends.
        timing: CancelTiming,
        /// What happens to unused paid time.
        unused_time: UnusedTime,
    },
    /// Turn off a registration's auto-renew.
    DisableAutoRenew {
        /// The domain.
        domain: DomainName,
    },
    /// Remove a domain from the platform.
    ReleaseDomain {
        /// The domain.
        domain: DomainName,
    },
    /// Remove the other members of a tenant about to be deleted.
    RemoveMembers {
        /// The tenant.
        tenant: TenantId,
        /// The members removed.
        users: Vec<UserId>,
    },
    /// Take the account out of a tenant that lives on.
    LeaveTenant {
        /// The tenant.
        tenant: TenantId,
    },
    /// Delete a tenant: end its members' access and detach its records,
    /// which the host keeps until the purge of their class (irreversible:
    /// the closure's point of no return).
    DeleteTenant {
        /// The tenant.
        tenant: TenantId,
    },
    /// Delete a stored payment method (the card or account details; the
    /// payment records themselves are invoices, kept until their purge).
    DeletePaymentMethod {
        /// The payment method.
        payment_method: PaymentMethodId,
    },
    /// Keep the invoices downloadable (by a link sent to the holder) until a date.
    PublishInvoiceArchive {
        /// How many invoices.
        count: u64,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// Delete the account itself: it can no longer sign in or be used, and
    /// its records are detached and kept until the purge of their class
    /// (irreversible).
    DeleteAccount,
    /// Reserve the account's identifiers against reuse.
    QuarantineIdentifiers {
        /// Until when; absent for ever.
        until: Option<DateTime<Utc>>,
    },
    /// Purge one class of the account's records: the only effect that
    /// destroys records. Issued only when the class's retention has run out
    /// and no legal hold covers it.
    Purge {
        /// The record class.
        class: RecordClass,
    },
}

impl Action {
    /// Whether the action cannot be undone by the host: deleting a tenant or
    /// the account. The first such effect issued is the closure's point of
    /// no return.
    pub fn is_irreversible(&self) -> bool {
        match self {
            Action::DeleteTenant { .. } | Action::DeleteAccount => true,
            Action::RevokeSessions
            | Action::BlockWrites
            | Action::RestoreAccess
            | Action::Notify { .. }
            | Action::CancelSubscription { .. }
            | Action::DisableAutoRenew { .. }
            | Action::ReleaseDomain { .. }
            | Action::RemoveMembers { .. }
            | Action::LeaveTenant { .. }
            | Action::DeletePaymentMethod { .. }
            | Action::PublishInvoiceArchive { .. }
            | Action::QuarantineIdentifiers { .. }
            | Action::Purge { .. } => false,
        }
    }

    /// The action's `type` tag, as its JSON names it (`delete_tenant`, ...):
    /// what a host routes on and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::RevokeSessions => "revoke_sessions",
            Action::BlockWrites => "block_writes",
            Action::RestoreAccess => "restore_access",
            Action::Notify { .. } => "notify",
            Action::CancelSubscription { .. } => "cancel_subscription",
            Action::DisableAutoRenew { .. } => "disable_auto_renew",
            Action::ReleaseDomain { .. } => "release_domain",
            Action::RemoveMembers { .. } => "remove_members",
            Action::LeaveTenant { .. } => "leave_tenant",
            Action::DeleteTenant { .. } => "delete_tenant",
            Action::DeletePaymentMethod { .. } => "delete_payment_method",
            Action::PublishInvoiceArchive { .. } => "publish_invoice_archive",
            Action::DeleteAccount => "delete_account",
            Action::QuarantineIdentifiers { .. } => "quarantine_identifiers",
            Action::Purge { .. } => "purge",
        }
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// The account holder.
    Holder,
    /// The other members of a tenant the closure deletes.
    CoMembers {
        /// The tenant.
        tenant: TenantId,
    },
}

/// Notification messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    /// The closure is confirmed and will run at `execute_at`.
    Scheduled {
        /// When it runs.
        execute_at: DateTime<Utc>,
    },
    /// A reminder before the grace period ends.
    Reminder {
        /// When it runs.
        execute_at: DateTime<Utc>,
        /// Whole days left.
        days_left: u32,
    },
    /// The closure was cancelled.
    Cancelled,
    /// The closure stopped because something changed; it says what.
    Halted,
    /// The tenant will be deleted with the account, at `execute_at`.
    TenantWillBeDeleted {
        /// When.
        execute_at: DateTime<Utc>,
    },
    /// The closure is complete (the receipt).
    Completed,
    /// The statutory response deadline was extended, and until when.
    DeadlineExtended {
        /// The new deadline.
        due: DateTime<Utc>,
    },
}

/// The stages of an execution plan, in order, from the consequences the
/// assessment computed. Empty stages are dropped.
pub(crate) fn execution_stages(c: &Consequences) -> Vec<Vec<Action>> {
    let cancel = |add_ons: bool| {
        c.subscriptions_cancelled
            .iter()
            .filter(move |s| s.add_on == add_ons)
            .map(|s| Action::CancelSubscription {
                subscription: s.subscription.clone(),
                timing: s.timing,
                unused_time: s.unused_time,
            })
    };
    let mut stages = vec![
        // Add-ons go first: some providers refuse to cancel a plan with add-ons attached.
        cancel(true).collect::<Vec<_>>(),
        cancel(false)
            .chain(
                c.auto_renew_disabled
                    .iter()
                    .map(|d| Action::DisableAutoRenew { domain: d.clone() }),
            )
            .collect(),
        c.domains_released
            .iter()
            .map(|d| Action::ReleaseDomain { domain: d.clone() })
            .chain(
                c.tenants_deleted
                    .iter()
                    .filter(|t| !t.members_removed.is_empty())
                    .map(|t| Action::RemoveMembers {
                        tenant: t.tenant.clone(),
                        users: t.members_removed.clone(),
                    }),
            )
            .chain(
                c.tenants_left
                    .iter()
                    .map(|t| Action::LeaveTenant { tenant: t.clone() }),
            )
            .collect(),
        c.tenants_deleted
            .iter()
            .map(|t| Action::DeleteTenant {
                tenant: t.tenant.clone(),
            })
            .collect(),
        c.payment_methods_deleted
            .iter()
            .map(|p| Action::DeletePaymentMethod {
                payment_method: p.clone(),
            })
            .chain(
                (c.invoices.count > 0).then_some(Action::PublishInvoiceArchive {
                    count: c.invoices.count,
                    until: c.invoices.downloadable_until,
                }),
            )
            // Before the account goes: between the two, nobody may take its
            // username or email.
            .chain([Action::QuarantineIdentifiers {
                until: c.identifiers_reusable_at,
            }])
            .collect(),
        vec![Action::DeleteAccount],
    ];
    stages.retain(|stage| !stage.is_empty());
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_kind_is_its_json_type_tag() {
        let samples = [
            r#"{"type": "revoke_sessions"}"#,
            r#"{"type": "block_writes"}"#,
            r#"{"type": "restore_access"}"#,
            r#"{"type": "notify", "recipient": {"to": "holder"}, "message": {"kind": "cancelled"}}"#,
            r#"{"type": "cancel_subscription", "subscription": "sub_1", "timing": "immediately", "unused_time": "none"}"#,
            r#"{"type": "disable_auto_renew", "domain": "example.org"}"#,
            r#"{"type": "release_domain", "domain": "example.org"}"#,
            r#"{"type": "remove_members", "tenant": "t_1", "users": ["u_1"]}"#,
            r#"{"type": "leave_tenant", "tenant": "t_1"}"#,
            r#"{"type": "delete_tenant", "tenant": "t_1"}"#,
            r#"{"type": "delete_payment_method", "payment_method": "pm_1"}"#,
            r#"{"type": "publish_invoice_archive", "count": 3, "until": "2026-12-23T10:00:00Z"}"#,
            r#"{"type": "delete_account"}"#,
            r#"{"type": "quarantine_identifiers", "until": null}"#,
            r#"{"type": "purge", "class": "content"}"#,
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for text in samples {
            let action: Action = serde_json::from_str(text).unwrap();
            let json = serde_json::to_value(&action).unwrap();
            assert_eq!(json["type"], action.kind(), "{text}");
            kinds.insert(action.kind());
        }
        // One sample per variant: `kind` is an exhaustive match, so a new
        // variant without a sample here shows up as a missing count.
        assert_eq!(kinds.len(), 15);
    }
}
