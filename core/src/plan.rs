//! Effects: what the host must do, as data. Core performs nothing itself.
//!
//! Each [`Effect`] has an id that doubles as its idempotency key: it is derived
//! from the account, the closure, the attempt and the action's stable fields
//! (see [`EffectId`]), so the same attempt asking for the same action gets
//! the same key and a host (or the downstream service) can drop a repeat,
//! while another account, closure or attempt never shares it. The host performs an effect, then
//! reports its [`Outcome`](crate::machine::Outcome) with
//! [`Command::ReportOutcome`](crate::machine::Command::ReportOutcome).
//!
//! The execution plan is derived from the assessment's consequences, so what
//! the person was shown and what the closure does come from one computation.
//! It runs in stages, each only after the one before has fully succeeded:
//! billing (and refunds, while the payment methods exist) before the tenants
//! that own it, a co-owner made primary owner before the account leaves,
//! members before their tenants, the
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
use serde::{Deserialize, Serialize};

use crate::assess::names::{count, date};
use crate::assess::Names;
use crate::assess::{
    Blocker, BlockerCode, Consequences, Remedy, RemedyAction, Responsible, Subject,
};
use crate::audit::sha256_hex;
use crate::model::{
    format_minor, Currency, DomainName, PaymentMethodId, RecordClass, SubscriptionId, TenantId,
    UserId,
};
use crate::policy::{CancelTiming, UnusedTime};

/// The version of the effect-key encoding, written into every key: bumped
/// only by a deliberate change of what a key covers.
pub const EFFECT_KEY_VERSION: u32 = 2;

/// An effect id, which is also its idempotency key: `ef_` and 32 hex digits
/// (128 bits of a SHA-256 digest).
///
/// **What makes a key unique.** The digest covers a versioned, canonical
/// encoding ([`EFFECT_KEY_VERSION`]) of the account id, the closure id, the
/// closure's attempt identity ([`AttemptId`], new at every request, never
/// repeated within a closure's state) and the action's stable fields, each
/// written as its length and its bytes so no two field lists encode alike.
/// The encoding names fields by literals of its own, not by their Rust or
/// serde names, so a rename changes no key; the golden test in this module
/// pins the keys of one sample closure.
///
/// **What the host must guarantee:** closure ids unique per account (never
/// two live states with one id for one account). A host that starts a fresh
/// state under an old closure id still gets fresh keys, as the attempt
/// identity covers the time of the request, but only unique ids make that a
/// guarantee rather than a consequence of the clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct EffectId(String);

impl EffectId {
    /// The key for `action` in attempt `attempt` of closure `closure` of `account`.
    pub fn derive(
        account: &UserId,
        closure: &str,
        attempt: &AttemptId,
        action: &Action,
    ) -> EffectId {
        let mut key = KeyEncoder::new("offboard effect key", EFFECT_KEY_VERSION);
        key.field(account.as_str());
        key.field(closure);
        key.field(attempt.as_str());
        action.encode_key(&mut key);
        let digest = key.digest();
        EffectId(format!("ef_{}", digest.get(..32).unwrap_or(&digest)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One attempt of a closure: `at_` and 32 hex digits. Each request that
/// starts an attempt (from idle, after a cancel or an abort) derives a new
/// one from the closure, the attempt before it, the attempt's number and the
/// time of the request, so an attempt identity never repeats within a state,
/// and a fresh state under an old closure id, requested at another time,
/// gets another. Effect keys include it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct AttemptId(String);

impl AttemptId {
    /// The attempt after `previous` (none for the first), number `number`,
    /// requested at `at`, of closure `closure` of `account`.
    pub fn derive(
        account: &UserId,
        closure: &str,
        previous: Option<&AttemptId>,
        number: u32,
        at: DateTime<Utc>,
    ) -> AttemptId {
        let mut key = KeyEncoder::new("offboard closure attempt", EFFECT_KEY_VERSION);
        key.field(account.as_str());
        key.field(closure);
        key.field(previous.map_or("", AttemptId::as_str));
        key.field(&number.to_string());
        key.time(at);
        let digest = key.digest();
        AttemptId(format!("at_{}", digest.get(..32).unwrap_or(&digest)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The canonical encoding digested into keys: a domain label and version,
/// then each field as its length in bytes, `:`, and the bytes.
pub(crate) struct KeyEncoder {
    bytes: Vec<u8>,
}

impl KeyEncoder {
    pub(crate) fn new(label: &str, version: u32) -> KeyEncoder {
        let mut encoder = KeyEncoder {
            bytes: Vec::with_capacity(256),
        };
        encoder.field(label);
        encoder.field(&version.to_string());
        encoder
    }

    pub(crate) fn field(&mut self, value: &str) {
        // The length in decimal, written without a `String` per field:
        // the digits least significant first, then turned around.
        let start = self.bytes.len();
        let mut n = value.len();
        loop {
            // A remainder of ten is one decimal digit: the cast cannot truncate.
            self.bytes.push(b'0' + (n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if let Some(digits) = self.bytes.get_mut(start..) {
            digits.reverse();
        }
        self.bytes.push(b':');
        self.bytes.extend_from_slice(value.as_bytes());
    }

    /// An instant, as RFC 3339 in UTC with the sub-second digits it has.
    pub(crate) fn time(&mut self, at: DateTime<Utc>) {
        self.field(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }

    /// An optional value: a presence marker, then the value if present, so
    /// no value can be mistaken for absence.
    fn optional(&mut self, value: Option<&str>) {
        match value {
            Some(value) => {
                self.field("some");
                self.field(value);
            }
            None => self.field("none"),
        }
    }

    fn optional_time(&mut self, at: Option<DateTime<Utc>>) {
        let at = at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        self.optional(at.as_deref());
    }

    /// A unit enum by its wire name (`at_period_end`, `content`): the
    /// documented JSON spelling, stable once released.
    fn name(&mut self, value: &impl Serialize) {
        let name = serde_json::to_value(value).unwrap_or_default();
        self.field(name.as_str().unwrap_or_default());
    }

    pub(crate) fn digest(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

impl fmt::Display for EffectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something the host must do.
#[must_use = "an effect does nothing until the host performs it and reports the outcome"]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// Id and idempotency key.
    pub id: EffectId,
    /// What to do.
    pub action: Action,
}

/// The actions a closure asks of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
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
    /// Make another owner the tenant's primary owner, before the account
    /// leaves a tenant it was primary owner of (see
    /// [`OwnershipTransfer`](crate::assess::OwnershipTransfer) for who is chosen).
    TransferPrimaryOwner {
        /// The tenant.
        tenant: TenantId,
        /// The new primary owner (already an owner of the tenant).
        to: UserId,
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
    /// Pay a credit balance back to the customer (under `unused_time:
    /// refund`), before the payment methods are deleted.
    RefundCredit {
        /// The tenant whose balance it is; absent for the account's own.
        tenant: Option<TenantId>,
        /// The amount, in minor units (positive).
        amount: i64,
        /// Its currency.
        currency: Currency,
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
    /// Writes the action's stable fields into a key: its kind, then each
    /// field in a fixed order, named by the encoding's own literals.
    pub(crate) fn encode_key(&self, key: &mut KeyEncoder) {
        key.field(self.kind());
        match self {
            Action::RevokeSessions
            | Action::BlockWrites
            | Action::RestoreAccess
            | Action::DeleteAccount => {}
            Action::Notify { recipient, message } => {
                match recipient {
                    Recipient::Holder => key.field("holder"),
                    Recipient::CoMembers { tenant } => {
                        key.field("co_members");
                        key.field(tenant.as_str());
                    }
                }
                message.encode_key(key);
            }
            Action::CancelSubscription {
                subscription,
                timing,
                unused_time,
            } => {
                key.field(subscription.as_str());
                key.name(timing);
                key.name(unused_time);
            }
            Action::DisableAutoRenew { domain } | Action::ReleaseDomain { domain } => {
                key.field(domain.as_str());
            }
            Action::RemoveMembers { tenant, users } => {
                key.field(tenant.as_str());
                key.field(&users.len().to_string());
                for user in users {
                    key.field(user.as_str());
                }
            }
            Action::LeaveTenant { tenant } | Action::DeleteTenant { tenant } => {
                key.field(tenant.as_str());
            }
            Action::TransferPrimaryOwner { tenant, to } => {
                key.field(tenant.as_str());
                key.field(to.as_str());
            }
            Action::RefundCredit {
                tenant,
                amount,
                currency,
            } => {
                key.optional(tenant.as_ref().map(TenantId::as_str));
                key.field(&amount.to_string());
                key.field(currency.as_str());
            }
            Action::DeletePaymentMethod { payment_method } => key.field(payment_method.as_str()),
            Action::PublishInvoiceArchive { count, until } => {
                key.field(&count.to_string());
                key.time(*until);
            }
            Action::QuarantineIdentifiers { until } => key.optional_time(*until),
            Action::Purge { class } => key.name(class),
        }
    }

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
            | Action::TransferPrimaryOwner { .. }
            | Action::RefundCredit { .. }
            | Action::DeletePaymentMethod { .. }
            | Action::PublishInvoiceArchive { .. }
            | Action::QuarantineIdentifiers { .. }
            | Action::Purge { .. } => false,
        }
    }

    /// Every action's `type` tag, in the order of [`Action`]'s variants.
    pub const KINDS: [&'static str; 17] = [
        "revoke_sessions",
        "block_writes",
        "restore_access",
        "notify",
        "cancel_subscription",
        "disable_auto_renew",
        "release_domain",
        "remove_members",
        "leave_tenant",
        "transfer_primary_owner",
        "refund_credit",
        "delete_tenant",
        "delete_payment_method",
        "publish_invoice_archive",
        "delete_account",
        "quarantine_identifiers",
        "purge",
    ];

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
            Action::TransferPrimaryOwner { .. } => "transfer_primary_owner",
            Action::RefundCredit { .. } => "refund_credit",
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
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
    /// The closure stopped because something changed; it says what. One
    /// notice per halt: `halted_at` tells two halts of one attempt apart.
    Halted {
        /// When it halted.
        halted_at: DateTime<Utc>,
    },
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

impl Message {
    fn encode_key(&self, key: &mut KeyEncoder) {
        match self {
            Message::Scheduled { execute_at } => {
                key.field("scheduled");
                key.time(*execute_at);
            }
            Message::Reminder {
                execute_at,
                days_left,
            } => {
                key.field("reminder");
                key.time(*execute_at);
                key.field(&days_left.to_string());
            }
            Message::Cancelled => key.field("cancelled"),
            Message::Halted { halted_at } => {
                key.field("halted");
                key.time(*halted_at);
            }
            Message::TenantWillBeDeleted { execute_at } => {
                key.field("tenant_will_be_deleted");
                key.time(*execute_at);
            }
            Message::Completed => key.field("completed"),
            Message::DeadlineExtended { due } => {
                key.field("deadline_extended");
                key.time(*due);
            }
        }
    }
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
    let mut stages =
        vec![
            // Add-ons go first: some providers refuse to cancel a plan with add-ons attached.
            cancel(true).collect::<Vec<_>>(),
            cancel(false)
                .chain(
                    c.auto_renew_disabled
                        .iter()
                        .map(|d| Action::DisableAutoRenew { domain: d.clone() }),
                )
                // Refunds go to the payment methods, deleted later.
                .chain(c.credits_refunded.iter().map(|r| Action::RefundCredit {
                    tenant: r.tenant.clone(),
                    amount: r.amount,
                    currency: r.currency,
                }))
                // A co-owner takes over before the account leaves.
                .chain(c.primary_ownership_transferred.iter().map(|t| {
                    Action::TransferPrimaryOwner {
                        tenant: t.tenant.clone(),
                        to: t.to.clone(),
                    }
                }))
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

/// How a fresh plan differs from the confirmed one, item by item (a
/// `remove_members` counts member by member). Items are matched by what they
/// act on (a subscription, a member of a tenant, a balance, the archive):
/// one matched with other terms is *changed*.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScopeDiff {
    /// Items acting on something the confirmed plan did not touch, among
    /// those that end, remove, transfer or pay (the scope).
    pub(crate) added: Vec<Action>,
    /// Items of the scope whose terms changed (another amount, another
    /// disposition of unused time), and protections that got shorter (an
    /// invoice window or a quarantine ending earlier): as confirmed, and as
    /// they would now be.
    pub(crate) changed: Vec<(Action, Action)>,
    /// What was confirmed and the fresh plan no longer needs.
    pub(crate) removed: Vec<Action>,
    /// Protections that changed without getting shorter (more invoices in
    /// the archive, a window counted from a later execution): the fresh
    /// version.
    pub(crate) adjusted: Vec<Action>,
}

/// The plan as items: each action, with `remove_members` split per member.
fn items(stages: &[Vec<Action>]) -> Vec<Action> {
    let mut out = Vec::new();
    for action in stages.iter().flatten() {
        match action {
            Action::RemoveMembers { tenant, users } => {
                out.extend(users.iter().map(|u| Action::RemoveMembers {
                    tenant: tenant.clone(),
                    users: vec![u.clone()],
                }));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// What an item acts on: two items with one identity are the same item,
/// perhaps on other terms.
fn identity(action: &Action) -> Vec<u8> {
    let mut key = KeyEncoder::new("offboard plan item", 1);
    key.field(action.kind());
    match action {
        Action::CancelSubscription { subscription, .. } => key.field(subscription.as_str()),
        Action::RefundCredit { tenant, .. } => key.optional(tenant.as_ref().map(TenantId::as_str)),
        Action::TransferPrimaryOwner { tenant, .. } => key.field(tenant.as_str()),
        Action::PublishInvoiceArchive { .. } | Action::QuarantineIdentifiers { .. } => {}
        other => other.encode_key(&mut key),
    }
    // Only compared, never stored: the length-prefixed encoding is already
    // one-to-one, so the bytes serve without a hash.
    key.bytes
}

/// Whether an item only protects the person: the invoice archive and the
/// identifier quarantine. A change to one asks for a new confirmation only
/// when it shortens the protection.
fn protective(action: &Action) -> bool {
    matches!(
        action,
        Action::PublishInvoiceArchive { .. } | Action::QuarantineIdentifiers { .. }
    )
}

/// Whether `fresh` protects for less time than `confirmed`.
fn shortened(confirmed: &Action, fresh: &Action) -> bool {
    match (confirmed, fresh) {
        (
            Action::PublishInvoiceArchive { until: was, .. },
            Action::PublishInvoiceArchive { until: now, .. },
        ) => now < was,
        (
            Action::QuarantineIdentifiers { until: was },
            Action::QuarantineIdentifiers { until: now },
        ) => match (was, now) {
            (None, Some(_)) => true,
            (Some(was), Some(now)) => now < was,
            (_, None) => false,
        },
        _ => false,
    }
}

/// Compares the fresh plan with the confirmed one.
pub(crate) fn scope_diff(confirmed: &[Vec<Action>], fresh: &[Vec<Action>]) -> ScopeDiff {
    use std::collections::btree_map::{BTreeMap, Entry};
    let (confirmed, fresh) = (items(confirmed), items(fresh));
    // Each item's identity once, the confirmed ones indexed by it (the
    // first of equal identities answers, as a scan would find it): the
    // comparison is n log n, not n squared, for a plan of thousands.
    let mut by_identity: BTreeMap<Vec<u8>, &Action> = BTreeMap::new();
    for item in &confirmed {
        if let Entry::Vacant(slot) = by_identity.entry(identity(item)) {
            slot.insert(item);
        }
    }
    let mut diff = ScopeDiff::default();
    let mut seen = std::collections::BTreeSet::new();
    for item in &fresh {
        let id = identity(item);
        match by_identity.get(&id).copied() {
            None if protective(item) => diff.adjusted.push(item.clone()),
            None => diff.added.push(item.clone()),
            Some(was) if was == item => {}
            Some(was) if protective(item) && !shortened(was, item) => {
                diff.adjusted.push(item.clone());
            }
            Some(was) => diff.changed.push((was.clone(), item.clone())),
        }
        seen.insert(id);
    }
    diff.removed = confirmed
        .iter()
        .filter(|c| !seen.contains(&identity(c)))
        .cloned()
        .collect();
    diff
}

/// The subject an action concerns.
fn subject_of(action: &Action, account: &UserId) -> Subject {
    match action {
        Action::DeleteTenant { tenant }
        | Action::RemoveMembers { tenant, .. }
        | Action::LeaveTenant { tenant }
        | Action::TransferPrimaryOwner { tenant, .. }
        | Action::Notify {
            recipient: Recipient::CoMembers { tenant },
            ..
        } => Subject::Tenant { id: tenant.clone() },
        Action::CancelSubscription { subscription, .. } => Subject::Subscription {
            id: subscription.clone(),
        },
        Action::DisableAutoRenew { domain } | Action::ReleaseDomain { domain } => Subject::Domain {
            name: domain.clone(),
        },
        Action::DeletePaymentMethod { payment_method } => Subject::PaymentMethod {
            id: payment_method.clone(),
        },
        Action::RefundCredit { tenant, .. } => Subject::Balance {
            tenant: tenant.clone(),
        },
        Action::RevokeSessions
        | Action::BlockWrites
        | Action::RestoreAccess
        | Action::Notify { .. }
        | Action::PublishInvoiceArchive { .. }
        | Action::DeleteAccount
        | Action::QuarantineIdentifiers { .. }
        | Action::Purge { .. } => Subject::Account {
            id: account.clone(),
        },
    }
}

/// What an action does, in words a person reads: things by their names.
fn describe(action: &Action, names: &Names<'_>) -> String {
    match action {
        Action::RevokeSessions => "sign the account out everywhere".to_owned(),
        Action::BlockWrites => "stop the account writing".to_owned(),
        Action::RestoreAccess => "give writing back".to_owned(),
        Action::Notify { .. } => "send a notice".to_owned(),
        Action::CancelSubscription {
            subscription,
            timing,
            unused_time,
        } => {
            let when = match timing {
                CancelTiming::Immediately => "now",
                CancelTiming::AtPeriodEnd => "at the end of its period",
            };
            let unused = match unused_time {
                UnusedTime::Refund => ", refunding the unused time",
                UnusedTime::Credit => ", crediting the unused time",
                UnusedTime::None => "",
            };
            format!("cancel {} {when}{unused}", names.subscription(subscription))
        }
        Action::DisableAutoRenew { domain } => format!("turn off auto-renew of {domain}"),
        Action::ReleaseDomain { domain } => format!("remove the domain {domain}"),
        Action::RemoveMembers { tenant, users } => format!(
            "remove {} from {}",
            match users.len() {
                1 => "one member".to_owned(),
                n => format!("{n} members"),
            },
            names.workspace(tenant)
        ),
        Action::TransferPrimaryOwner { tenant, .. } => {
            format!(
                "make another member the primary owner of {}",
                names.workspace(tenant)
            )
        }
        Action::LeaveTenant { tenant } => format!("leave {}", names.workspace(tenant)),
        Action::DeleteTenant { tenant } => {
            format!("delete the workspace {}", names.workspace(tenant))
        }
        Action::RefundCredit {
            amount,
            currency,
            tenant,
        } => format!(
            "refund {} from {}",
            format_minor(i128::from(*amount), *currency),
            names.balance(tenant.as_ref())
        ),
        Action::DeletePaymentMethod { payment_method } => {
            format!("delete {}", names.payment_method(payment_method))
        }
        Action::PublishInvoiceArchive { count: n, until } => format!(
            "keep {} downloadable until {}",
            count(
                usize::try_from(*n).unwrap_or(usize::MAX),
                "invoice",
                "invoices"
            ),
            date(*until)
        ),
        Action::DeleteAccount => "delete the account".to_owned(),
        Action::QuarantineIdentifiers { until } => match until {
            Some(until) => format!("reserve the account's identifiers until {}", date(*until)),
            None => "reserve the account's identifiers for ever".to_owned(),
        },
        Action::Purge { class } => format!("purge the {class}"),
    }
}

/// `actions` with the removals from one workspace merged into one, so that a
/// person reads "remove 2 members from Acme" once rather than "remove one
/// member from Acme" twice (the effects stay one per batch).
pub(crate) fn merge_removals(actions: &[Action]) -> Vec<Action> {
    let mut merged: Vec<Action> = Vec::with_capacity(actions.len());
    for action in actions {
        if let Action::RemoveMembers { tenant, users } = action {
            let earlier = merged.iter_mut().find_map(|m| match m {
                Action::RemoveMembers {
                    tenant: t,
                    users: u,
                } if t == tenant => Some(u),
                _ => None,
            });
            if let Some(earlier) = earlier {
                earlier.extend(users.iter().cloned());
                continue;
            }
        }
        merged.push(action.clone());
    }
    merged
}

/// The blocker that halts a closure whose plan grew by `action`: new, or,
/// with `was`, on other terms than the confirmed `was`.
pub(crate) fn scope_blocker(
    action: &Action,
    was: Option<&Action>,
    account: &UserId,
    names: &Names<'_>,
) -> Blocker {
    let subject = subject_of(action, account);
    let message = match was {
        Some(was) => format!(
            "The closure would now {} instead of {}, as you confirmed.",
            describe(action, names),
            describe(was, names)
        ),
        None => format!(
            "The closure would now also {}, which is not in the plan you confirmed.",
            describe(action, names)
        ),
    };
    Blocker {
        code: BlockerCode::ScopeChanged,
        message,
        subject,
        remedy: Remedy {
            action: RemedyAction::ConfirmAgain,
            by: Responsible::Actor,
            message: "Request the closure again and confirm the new plan, or cancel it.".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A protection changes the plan only when it gets shorter: an invoice
    /// window or a quarantine ending earlier (to the second), or a
    /// quarantine for ever becoming one that ends. Equal or later is not.
    #[test]
    fn only_a_shorter_protection_counts_as_shortened() {
        let archive = |until| Action::PublishInvoiceArchive {
            count: 3,
            until: at(until),
        };
        let quarantine = |until: Option<&str>| Action::QuarantineIdentifiers {
            until: until.map(at),
        };
        let (day, earlier, later) = (
            "2027-01-10T00:00:00Z",
            "2027-01-09T23:59:59Z",
            "2027-01-10T00:00:01Z",
        );
        assert!(shortened(&archive(day), &archive(earlier)));
        assert!(!shortened(&archive(day), &archive(day)));
        assert!(!shortened(&archive(day), &archive(later)));
        assert!(shortened(
            &quarantine(Some(day)),
            &quarantine(Some(earlier))
        ));
        assert!(!shortened(&quarantine(Some(day)), &quarantine(Some(day))));
        assert!(!shortened(&quarantine(Some(day)), &quarantine(Some(later))));
        assert!(shortened(&quarantine(None), &quarantine(Some(later))));
        assert!(!shortened(&quarantine(Some(day)), &quarantine(None)));
        assert!(!shortened(&quarantine(None), &quarantine(None)));
        // Different kinds never compare.
        assert!(!shortened(&archive(day), &quarantine(Some(earlier))));
    }

    /// A protection the confirmed plan did not have is an adjustment (it
    /// only protects the person), never an addition to the scope; a new
    /// cancellation is an addition; a shorter window is a change.
    #[test]
    fn new_protections_adjust_the_plan_and_new_scope_adds_to_it() {
        let archive = |until| Action::PublishInvoiceArchive {
            count: 1,
            until: at(until),
        };
        let cancel = Action::CancelSubscription {
            subscription: SubscriptionId::new("s_1").unwrap(),
            timing: CancelTiming::AtPeriodEnd,
            unused_time: UnusedTime::Refund,
        };
        let confirmed = vec![vec![Action::DeleteAccount]];
        let fresh = vec![
            vec![archive("2027-01-10T00:00:00Z"), cancel.clone()],
            vec![Action::DeleteAccount],
        ];
        let diff = scope_diff(&confirmed, &fresh);
        assert_eq!(diff.adjusted, [archive("2027-01-10T00:00:00Z")]);
        assert_eq!(diff.added, std::slice::from_ref(&cancel));
        assert!(diff.changed.is_empty() && diff.removed.is_empty());
        let confirmed = vec![vec![archive("2027-01-10T00:00:00Z")]];
        let fresh = vec![vec![archive("2027-01-01T00:00:00Z")]];
        let diff = scope_diff(&confirmed, &fresh);
        assert_eq!(diff.changed.len(), 1);
        assert!(diff.adjusted.is_empty() && diff.added.is_empty());
        // The blocker says, in words, what would now run.
        let account = UserId::new("u_a").unwrap();
        let blocker = scope_blocker(&cancel, None, &account, &Names::new(None));
        assert_eq!(
            blocker.message,
            "The closure would now also cancel a subscription at the end of its period, \
             refunding the unused time, which is not in the plan you confirmed."
        );
    }

    /// A plan of thousands of items compares item by item, in any order
    /// across stages: of 3 000 cancellations confirmed, one whose terms
    /// changed is a change, one gone is removed, one new is added, and the
    /// 2 997 others, though moved to another stage, are neither.
    #[test]
    fn a_large_plan_compares_item_by_item() {
        let cancel = |i: usize, timing| Action::CancelSubscription {
            subscription: SubscriptionId::new(format!("s_{i:05}")).unwrap(),
            timing,
            unused_time: UnusedTime::Refund,
        };
        let confirmed: Vec<Action> = (0..3000)
            .map(|i| cancel(i, CancelTiming::AtPeriodEnd))
            .collect();
        let mut fresh: Vec<Action> = (1..3000)
            .map(|i| {
                let timing = if i == 1234 {
                    CancelTiming::Immediately
                } else {
                    CancelTiming::AtPeriodEnd
                };
                cancel(i, timing)
            })
            .collect();
        fresh.push(cancel(3000, CancelTiming::AtPeriodEnd));
        fresh.reverse();
        let (head, tail) = fresh.split_at(1500);
        let diff = scope_diff(
            &[confirmed.clone(), vec![Action::DeleteAccount]],
            &[tail.to_vec(), head.to_vec(), vec![Action::DeleteAccount]],
        );
        assert_eq!(diff.removed, [cancel(0, CancelTiming::AtPeriodEnd)]);
        assert_eq!(diff.added, [cancel(3000, CancelTiming::AtPeriodEnd)]);
        assert_eq!(
            diff.changed,
            [(
                cancel(1234, CancelTiming::AtPeriodEnd),
                cancel(1234, CancelTiming::Immediately)
            )]
        );
        assert!(diff.adjusted.is_empty());
    }

    /// Ids display as their text, the form hosts put in an
    /// `Idempotency-Key` header or a log line.
    #[test]
    fn ids_display_as_their_text() {
        let account = UserId::new("u_a").unwrap();
        let start = "2026-11-23T10:00:00Z".parse().unwrap();
        let attempt = AttemptId::derive(&account, "cl_1", None, 1, start);
        assert!(attempt.as_str().starts_with("at_") && attempt.as_str().len() == 35);
        assert_eq!(attempt.to_string(), attempt.as_str());
        let effect = EffectId::derive(&account, "cl_1", &attempt, &Action::DeleteAccount);
        assert!(effect.as_str().starts_with("ef_") && effect.as_str().len() == 35);
        assert_eq!(format!("{effect}"), effect.as_str());
    }

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
            r#"{"type": "transfer_primary_owner", "tenant": "t_1", "to": "u_2"}"#,
            r#"{"type": "refund_credit", "tenant": null, "amount": 1500, "currency": "USD"}"#,
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
        assert_eq!(kinds.len(), 17);
    }
}
