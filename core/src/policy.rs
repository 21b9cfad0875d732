//! Closure policies: what blocks a closure, what the closure clears itself,
//! and the clocks around it. A policy is data the host chooses; two presets
//! follow the two source documents the product was specified from.
//!
//! ```
//! use offboard::{ClosurePolicy, Rule};
//! let mut policy = ClosurePolicy::prerequisite();
//! policy.validate()?;
//! // External DNS is outside the platform's reach: the closure cannot clear it.
//! policy.conditions.registrar_nameservers = Rule::Clear;
//! assert_eq!(policy.validate().unwrap_err().code(), offboard::ErrorCode::InvalidPolicy);
//! # Ok::<(), offboard::Error>(())
//! ```

use std::fmt;

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Document, Error};
use crate::model::{parse_versioned, RecordClass};

/// The policy schema version this build reads and writes.
pub const POLICY_VERSION: u32 = 3;

/// The longest grace period, cooldown, window or retention accepted, in days
/// (100 years): beyond it date arithmetic stops being meaningful.
pub const MAX_DAYS: u32 = 36_525;

/// A closure policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClosurePolicy {
    /// Schema version of this document; must be [`POLICY_VERSION`].
    pub schema_version: u32,
    /// A name for the policy, shown in assessments.
    pub name: String,
    /// What each condition does: block the closure, get cleared by it, or warn.
    pub conditions: Conditions,
    /// What happens to tenants the account owns that have other members.
    pub shared_tenants: SharedTenantRule,
    /// Who may close which accounts, and how fresh their sign-in must be.
    pub authorization: Authorization,
    /// How subscriptions the closure cancels are ended and settled.
    pub billing: BillingDisposition,
    /// Days between confirmation and execution during which the holder can
    /// cancel. Zero makes the closure immediate and irreversible.
    pub grace_period_days: u32,
    /// How the person confirms.
    pub confirmation: ConfirmationPolicy,
    /// Hours after a cancelled closure before a new request is accepted.
    pub cooldown_hours: u32,
    /// Days after the closure during which invoices can still be downloaded.
    pub invoice_download_days: u32,
    /// How long each record class is kept, counted from the closure request.
    pub retention: Retention,
    /// When the account's identifiers (username, email) may be reused.
    pub identifier_reuse: IdentifierReuse,
    /// What happens around the grace period.
    pub lifecycle: Lifecycle,
    /// How failed effects are retried.
    pub retry: RetryPolicy,
    /// The data-protection law whose response deadline applies.
    pub statutory_regime: StatutoryRegime,
}

/// What happens around the grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// Revoke sessions and tokens and block writes as soon as the closure is
    /// confirmed (restored on cancel), so nothing new is created and orphaned.
    pub lock_on_confirm: bool,
    /// Send a reminder this many days before the grace period ends (each
    /// shorter than the grace period).
    pub reminder_days_before: Vec<u32>,
}

/// How failed effects are retried: exponential backoff from `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1); past it the closure fails.
    pub max_attempts: u32,
    /// Delay before the first retry, in seconds (at least 1); doubled each time.
    pub base_delay_seconds: u32,
    /// The longest delay, in seconds.
    pub max_delay_seconds: u32,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> TimeDelta {
        let doubled = u64::from(self.base_delay_seconds)
            .saturating_mul(1u64 << retry.saturating_sub(1).min(32));
        TimeDelta::seconds(
            i64::try_from(doubled.min(u64::from(self.max_delay_seconds))).unwrap_or(i64::MAX),
        )
    }
}

/// Data-protection regimes and their response deadlines for erasure requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StatutoryRegime {
    /// GDPR Art. 12(3): one month from receipt (extendable by two more).
    Gdpr,
    /// CCPA: 45 days from receipt (extendable by 45 more).
    Ccpa,
    /// No statutory deadline is tracked.
    None,
}

impl StatutoryRegime {
    /// The regime's name, as in the JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatutoryRegime::Gdpr => "gdpr",
            StatutoryRegime::Ccpa => "ccpa",
            StatutoryRegime::None => "none",
        }
    }

    /// The fewest days the response deadline can be after the request
    /// (GDPR: one month, which is 28 days in February; CCPA: 45 days), or
    /// `None` when no deadline is tracked.
    pub fn min_deadline_days(self) -> Option<u32> {
        match self {
            StatutoryRegime::Gdpr => Some(28),
            StatutoryRegime::Ccpa => Some(45),
            StatutoryRegime::None => None,
        }
    }

    /// The response deadline for a request received at `received`.
    pub fn deadline(self, received: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            StatutoryRegime::Gdpr => received.checked_add_months(Months::new(1)),
            StatutoryRegime::Ccpa => add_days(received, 45),
            StatutoryRegime::None => None,
        }
    }

    /// The deadline after the one extension the regime allows (GDPR: two
    /// more months; CCPA: 45 more days).
    pub fn extended(self, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            StatutoryRegime::Gdpr => due.checked_add_months(Months::new(2)),
            StatutoryRegime::Ccpa => add_days(due, 45),
            StatutoryRegime::None => None,
        }
    }
}

/// What a condition does to a closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The person must clear it before the closure can go ahead.
    Block,
    /// The closure clears it itself (cancels, deletes, disables).
    Clear,
    /// It does not block; the assessment warns about it.
    Warn,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Block => "block",
            Rule::Clear => "clear",
            Rule::Warn => "warn",
        })
    }
}

/// The rule for each condition a closure can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// A live subscription or add-on (block or clear).
    pub active_subscription: Rule,
    /// A domain still active on the platform (block or clear).
    pub active_domain: Rule,
    /// The registrar still delegates a domain to the platform's nameservers
    /// (block or warn: the registrar is outside the platform's reach).
    pub registrar_nameservers: Rule,
    /// Registrar auto-renew still on (block or clear).
    pub registrar_auto_renew: Rule,
    /// A partial (CNAME) setup whose records still point here (block or warn).
    pub partial_setup: Rule,
    /// A payment method on file (block or clear, which deletes it).
    pub payment_method: Rule,
    /// An open or uncollectible invoice, or a balance owed (block or warn).
    pub unpaid_balance: Rule,
    /// A disputed payment (block or warn).
    pub open_dispute: Rule,
    /// A legal hold in force (block or warn; either way held records are kept).
    pub legal_hold: Rule,
}

/// The conditions of [`Conditions`], one per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// See [`Conditions::active_subscription`].
    ActiveSubscription,
    /// See [`Conditions::active_domain`].
    ActiveDomain,
    /// See [`Conditions::registrar_nameservers`].
    RegistrarNameservers,
    /// See [`Conditions::registrar_auto_renew`].
    RegistrarAutoRenew,
    /// See [`Conditions::partial_setup`].
    PartialSetup,
    /// See [`Conditions::payment_method`].
    PaymentMethod,
    /// See [`Conditions::unpaid_balance`].
    UnpaidBalance,
    /// See [`Conditions::open_dispute`].
    OpenDispute,
    /// See [`Conditions::legal_hold`].
    LegalHold,
}

impl Condition {
    /// Every condition.
    pub const ALL: [Condition; 9] = [
        Condition::ActiveSubscription,
        Condition::ActiveDomain,
        Condition::RegistrarNameservers,
        Condition::RegistrarAutoRenew,
        Condition::PartialSetup,
        Condition::PaymentMethod,
        Condition::UnpaidBalance,
        Condition::OpenDispute,
        Condition::LegalHold,
    ];

    /// The field name in [`Conditions`].
    pub const fn field(self) -> &'static str {
        match self {
            Condition::ActiveSubscription => "active_subscription",
            Condition::ActiveDomain => "active_domain",
            Condition::RegistrarNameservers => "registrar_nameservers",
            Condition::RegistrarAutoRenew => "registrar_auto_renew",
            Condition::PartialSetup => "partial_setup",
            Condition::PaymentMethod => "payment_method",
            Condition::UnpaidBalance => "unpaid_balance",
            Condition::OpenDispute => "open_dispute",
            Condition::LegalHold => "legal_hold",
        }
    }

    /// The rules that make sense for this condition, with the reason the
    /// others do not.
    pub const fn allowed(self) -> (&'static [Rule], &'static str) {
        const BLOCK_CLEAR: &[Rule] = &[Rule::Block, Rule::Clear];
        const BLOCK_WARN: &[Rule] = &[Rule::Block, Rule::Warn];
        match self {
            Condition::ActiveSubscription => (BLOCK_CLEAR, "a subscription left running after the closure keeps billing someone who can no longer sign in"),
            Condition::ActiveDomain => (BLOCK_CLEAR, "a domain left active would be served for an account that no longer exists"),
            Condition::RegistrarAutoRenew => (BLOCK_CLEAR, "a registration left on auto-renew keeps billing after the closure"),
            Condition::PaymentMethod => (BLOCK_CLEAR, "payment details must not outlive the account"),
            Condition::RegistrarNameservers => (BLOCK_WARN, "the nameservers are set at the holder's registrar, which the platform cannot change"),
            Condition::PartialSetup => (BLOCK_WARN, "the records live at the holder's DNS provider, which the platform cannot change"),
            Condition::UnpaidBalance => (BLOCK_WARN, "the closure cannot settle a debt; writing it off is a decision for billing, not for a closure"),
            Condition::OpenDispute => (BLOCK_WARN, "a dispute is settled by the card network, not by the closure"),
            Condition::LegalHold => (BLOCK_WARN, "nothing but the party that placed a hold may lift it"),
        }
    }
}

impl Conditions {
    /// The rule for `condition`.
    pub fn rule(&self, condition: Condition) -> Rule {
        let mut copy = *self;
        *copy.rule_mut(condition)
    }

    /// The rule for `condition`, to change it (`validate` then checks the
    /// condition allows it).
    pub fn rule_mut(&mut self, condition: Condition) -> &mut Rule {
        match condition {
            Condition::ActiveSubscription => &mut self.active_subscription,
            Condition::ActiveDomain => &mut self.active_domain,
            Condition::RegistrarNameservers => &mut self.registrar_nameservers,
            Condition::RegistrarAutoRenew => &mut self.registrar_auto_renew,
            Condition::PartialSetup => &mut self.partial_setup,
            Condition::PaymentMethod => &mut self.payment_method,
            Condition::UnpaidBalance => &mut self.unpaid_balance,
            Condition::OpenDispute => &mut self.open_dispute,
            Condition::LegalHold => &mut self.legal_hold,
        }
    }
}

/// Tenants the account is primary owner of that have other members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SharedTenantRule {
    /// Block until the holder transfers ownership or deletes the tenant.
    BlockUntilTransferred,
    /// The closure deletes the tenant and removes its other members.
    DeleteAndRemoveMembers,
}

/// Who may close which accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Accounts under contract.
    pub contract_accounts: ContractRule,
    /// SSO-managed accounts.
    pub sso_accounts: SsoRule,
    /// Maximum age, in minutes, of the actor's last re-authentication;
    /// absent to not require one.
    #[serde(default)]
    pub max_reauth_age_minutes: Option<u32>,
    /// Whether the host's system may request the closure of an inactive
    /// account (with the reason `inactivity`). Only the system or support
    /// can then confirm or cancel it.
    #[serde(default)]
    pub inactivity_closure: bool,
}

/// Who may close an account under contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContractRule {
    /// Only through customer success (a support operator acts).
    CustomerSuccessOnly,
    /// The holder may close it like any other.
    SelfService,
}

/// Who may close an SSO-managed account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SsoRule {
    /// Only the SSO super admin (or a support operator).
    SuperAdminOnly,
    /// The holder may close it too.
    SelfService,
}

/// How subscriptions the closure cancels are ended and settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BillingDisposition {
    /// When the service ends.
    pub cancel: CancelTiming,
    /// What happens to time paid for but not used.
    pub unused_time: UnusedTime,
}

/// When a cancelled subscription ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelTiming {
    /// At once.
    Immediately,
    /// At the end of the current billing period; nothing renews.
    AtPeriodEnd,
}

/// What happens to unused paid time when a subscription ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnusedTime {
    /// Prorated as a credit note.
    Credit,
    /// Prorated and refunded to the payment method.
    Refund,
    /// Not compensated.
    None,
}

/// How the person confirms the closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmationPolicy {
    /// The confirmation method.
    pub method: ConfirmationMethod,
    /// Wrong attempts allowed before a lockout (at least 1).
    pub max_attempts: u32,
    /// How long a lockout lasts, in minutes.
    pub lockout_minutes: u32,
}

/// Confirmation methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConfirmationMethod {
    /// Type a phrase: the account's email, its display name, or fixed text.
    TypedPhrase {
        /// Which phrase.
        phrase: Phrase,
    },
    /// Present a token the host sent out (by email, say); the host keeps its digest.
    Token {
        /// Minutes the token stays valid (at least 1).
        valid_minutes: u32,
    },
}

/// The phrase of a typed confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phrase {
    /// The account's email address.
    Email,
    /// The account's display name.
    DisplayName,
    /// Fixed text, such as `delete my account`.
    Fixed(String),
}

/// How long each record class is kept after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Profile and contact details.
    pub personal_data: Period,
    /// What the account created.
    pub content: Period,
    /// Invoices and payment records.
    pub invoices: Period,
    /// The audit trail.
    pub audit_log: Period,
    /// The legal ground for keeping personal data past the statutory
    /// regime's response deadline (GDPR Art. 17(3)). Required when
    /// `personal_data` can outlast the deadline; absent otherwise.
    #[serde(default)]
    pub personal_data_basis: Option<RetentionBasis>,
}

/// Why personal data may be kept after an erasure request's deadline
/// (the exceptions of GDPR Art. 17(3) a host may rely on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetentionBasis {
    /// A legal obligation to keep it (Art. 17(3)(b)): tax, anti-money-laundering law.
    LegalObligation,
    /// The establishment, exercise or defence of legal claims (Art. 17(3)(e)):
    /// chargebacks, disputes, fraud claims.
    LegalClaims,
    /// Archiving or statistics in the public interest (Art. 17(3)(d)).
    PublicInterest,
}

impl Retention {
    /// The period for `class`.
    pub fn period(&self, class: RecordClass) -> Period {
        match class {
            RecordClass::PersonalData => self.personal_data,
            RecordClass::Content => self.content,
            RecordClass::Invoices => self.invoices,
            RecordClass::AuditLog => self.audit_log,
        }
    }
}

/// A length of time in days or calendar years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A number of days.
    Days(u32),
    /// A number of calendar years.
    Years(u32),
}

impl Period {
    /// `from` plus this period, or `None` past the representable range.
    pub fn after(self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Period::Days(days) => from.checked_add_signed(TimeDelta::days(i64::from(days))),
            Period::Years(years) => from.checked_add_months(Months::new(years.checked_mul(12)?)),
        }
    }

    /// The shortest this period can be, in days (a year is at least 365).
    pub fn min_days(self) -> u64 {
        match self {
            Period::Days(days) => u64::from(days),
            Period::Years(years) => u64::from(years) * 365,
        }
    }

    /// The longest this period can be, in days (a year is at most 366).
    pub fn max_days(self) -> u64 {
        match self {
            Period::Days(days) => u64::from(days),
            Period::Years(years) => u64::from(years) * 366,
        }
    }
}

/// When identifiers of a closed account may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentifierReuse {
    /// After a quarantine of this many days from the closure.
    AfterDays(u32),
    /// Never.
    Never,
}

/// Adds whole days to a time, or `None` past the representable range.
pub(crate) fn add_days(at: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    at.checked_add_signed(TimeDelta::days(i64::from(days)))
}

impl ClosurePolicy {
    /// The **cascade** preset, after the "close my account" help article:
    /// closing deletes every tenant the account owns with its subscriptions,
    /// at once and irreversibly. Only what the platform cannot undo itself
    /// (external DNS, disputes, holds) is left to the person or blocks.
    pub fn cascade() -> ClosurePolicy {
        ClosurePolicy {
            schema_version: POLICY_VERSION,
            name: "cascade".to_owned(),
            conditions: Conditions {
                active_subscription: Rule::Clear,
                active_domain: Rule::Clear,
                registrar_nameservers: Rule::Warn,
                registrar_auto_renew: Rule::Clear,
                partial_setup: Rule::Warn,
                payment_method: Rule::Clear,
                unpaid_balance: Rule::Warn,
                open_dispute: Rule::Block,
                legal_hold: Rule::Warn,
            },
            shared_tenants: SharedTenantRule::DeleteAndRemoveMembers,
            authorization: Authorization {
                contract_accounts: ContractRule::SelfService,
                sso_accounts: SsoRule::SelfService,
                max_reauth_age_minutes: Some(15),
                inactivity_closure: false,
            },
            billing: BillingDisposition {
                cancel: CancelTiming::Immediately,
                unused_time: UnusedTime::None,
            },
            grace_period_days: 0,
            confirmation: ConfirmationPolicy {
                method: ConfirmationMethod::TypedPhrase {
                    phrase: Phrase::Email,
                },
                max_attempts: 5,
                lockout_minutes: 15,
            },
            cooldown_hours: 0,
            invoice_download_days: 30,
            retention: Retention {
                // 28 days: inside GDPR's one month in every month, so no
                // further legal basis is needed.
                personal_data: Period::Days(28),
                content: Period::Days(30),
                invoices: Period::Years(10),
                audit_log: Period::Years(2),
                personal_data_basis: None,
            },
            identifier_reuse: IdentifierReuse::AfterDays(90),
            lifecycle: Lifecycle {
                lock_on_confirm: false,
                reminder_days_before: Vec::new(),
            },
            retry: RetryPolicy {
                max_attempts: 5,
                base_delay_seconds: 30,
                max_delay_seconds: 3600,
            },
            statutory_regime: StatutoryRegime::Gdpr,
        }
    }

    /// The **prerequisite** preset, after the "delete your account" docs page:
    /// contract accounts go through customer success, SSO accounts through
    /// their super admin, every per-domain prerequisite (subscriptions, the
    /// domain itself, nameservers, auto-renew, CNAME records, payment details)
    /// must be cleared by the person first, and personal data is purged
    /// within one year unless a legal obligation applies.
    pub fn prerequisite() -> ClosurePolicy {
        ClosurePolicy {
            schema_version: POLICY_VERSION,
            name: "prerequisite".to_owned(),
            conditions: Conditions {
                active_subscription: Rule::Block,
                active_domain: Rule::Block,
                registrar_nameservers: Rule::Block,
                registrar_auto_renew: Rule::Block,
                partial_setup: Rule::Block,
                payment_method: Rule::Block,
                unpaid_balance: Rule::Block,
                open_dispute: Rule::Block,
                legal_hold: Rule::Warn,
            },
            shared_tenants: SharedTenantRule::DeleteAndRemoveMembers,
            authorization: Authorization {
                contract_accounts: ContractRule::CustomerSuccessOnly,
                sso_accounts: SsoRule::SuperAdminOnly,
                max_reauth_age_minutes: Some(15),
                inactivity_closure: false,
            },
            billing: BillingDisposition {
                cancel: CancelTiming::Immediately,
                unused_time: UnusedTime::None,
            },
            grace_period_days: 14,
            confirmation: ConfirmationPolicy {
                method: ConfirmationMethod::TypedPhrase {
                    phrase: Phrase::Email,
                },
                max_attempts: 5,
                lockout_minutes: 60,
            },
            cooldown_hours: 24,
            invoice_download_days: 0,
            retention: Retention {
                personal_data: Period::Days(365),
                content: Period::Days(30),
                invoices: Period::Years(10),
                audit_log: Period::Years(2),
                // A year past GDPR's month: kept for chargebacks and disputes.
                personal_data_basis: Some(RetentionBasis::LegalClaims),
            },
            identifier_reuse: IdentifierReuse::AfterDays(90),
            lifecycle: Lifecycle {
                lock_on_confirm: true,
                reminder_days_before: vec![3, 1],
            },
            retry: RetryPolicy {
                max_attempts: 5,
                base_delay_seconds: 30,
                max_delay_seconds: 3600,
            },
            statutory_regime: StatutoryRegime::Gdpr,
        }
    }

    /// The policy's fingerprint: `pf_` and 32 hex digits of the SHA-256 of
    /// its canonical JSON (object keys sorted, no whitespace), with the
    /// reminder days in descending order and without repeats (their order
    /// means nothing). A confirmed closure is pinned to the fingerprint of
    /// its policy; any change that means something (a rule, a period, its
    /// name) changes it.
    pub fn fingerprint(&self) -> String {
        let mut policy = self.clone();
        let days = &mut policy.lifecycle.reminder_days_before;
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        let digest = crate::audit::canonical_digest(&policy);
        format!("pf_{}", digest.get(..32).unwrap_or(&digest))
    }

    /// A preset by name: `cascade` or `prerequisite`.
    pub fn preset(name: &str) -> Option<ClosurePolicy> {
        match name {
            "cascade" => Some(ClosurePolicy::cascade()),
            "prerequisite" => Some(ClosurePolicy::prerequisite()),
            _ => None,
        }
    }

    /// A preset by name, or an `invalid_value` error naming the presets.
    pub fn named(name: &str) -> Result<ClosurePolicy, Error> {
        ClosurePolicy::preset(name).ok_or_else(|| {
            Error::invalid(
                "policy",
                format!("no preset named `{name}` (cascade or prerequisite)"),
            )
        })
    }

    /// What the person must type to confirm closing `account`, for the
    /// confirmation form's label: the email, the display name or the fixed
    /// phrase. `None` under the token method, where the person presents the
    /// token the host sent instead. The machine compares what was typed with
    /// this, ignoring case and surrounding spaces.
    pub fn confirmation_phrase<'a>(
        &'a self,
        account: &'a crate::model::Account,
    ) -> Option<&'a str> {
        match &self.confirmation.method {
            ConfirmationMethod::TypedPhrase { phrase } => Some(match phrase {
                Phrase::Email => account.email.as_str(),
                Phrase::DisplayName => account.display_name.as_str(),
                Phrase::Fixed(text) => text.as_str(),
            }),
            ConfirmationMethod::Token { .. } => None,
        }
    }

    /// The policy as JSON, as [`ClosurePolicy::from_json`] reads it back.
    pub fn to_json(&self) -> String {
        crate::json::to_json(self)
    }

    /// Parses a policy from JSON, checks its version and validates it.
    pub fn from_json(text: &str) -> Result<ClosurePolicy, Error> {
        let policy = parse_versioned(
            text,
            Document::Policy,
            POLICY_VERSION,
            |p: &ClosurePolicy| p.schema_version,
        )?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that the policy is coherent: every condition has a rule that
    /// makes sense for it, and the clocks fit together.
    pub fn validate(&self) -> Result<(), Error> {
        if self.schema_version != POLICY_VERSION {
            return Err(Error::UnsupportedVersion {
                document: Document::Policy,
                found: self.schema_version.to_string(),
                supported: POLICY_VERSION,
            });
        }
        if self.name.trim().is_empty() {
            return Err(Error::policy("name", "a policy needs a name"));
        }
        for condition in Condition::ALL {
            let rule = self.conditions.rule(condition);
            let (allowed, why) = condition.allowed();
            if !allowed.contains(&rule) {
                return Err(Error::policy(
                    format!("conditions.{}", condition.field()),
                    format!("`{rule}` is not possible here: {why}"),
                ));
            }
        }
        for (path, days) in [
            ("grace_period_days", self.grace_period_days),
            ("invoice_download_days", self.invoice_download_days),
        ] {
            if days > MAX_DAYS {
                return Err(Error::policy(path, format!("at most {MAX_DAYS} days")));
            }
        }
        if self.cooldown_hours > MAX_DAYS.saturating_mul(24) {
            return Err(Error::policy(
                "cooldown_hours",
                format!("at most {MAX_DAYS} days"),
            ));
        }
        if self.authorization.max_reauth_age_minutes == Some(0) {
            return Err(Error::policy(
                "authorization.max_reauth_age_minutes",
                "zero would refuse every actor; leave it out to not require re-authentication",
            ));
        }
        let billing = self.billing;
        if billing.cancel == CancelTiming::AtPeriodEnd && billing.unused_time != UnusedTime::None {
            return Err(Error::policy(
                "billing.unused_time",
                "a subscription that runs to its period end leaves no unused time to credit or refund",
            ));
        }
        let confirmation = &self.confirmation;
        if confirmation.max_attempts == 0 {
            return Err(Error::policy(
                "confirmation.max_attempts",
                "at least one attempt must be allowed",
            ));
        }
        match &confirmation.method {
            ConfirmationMethod::Token { valid_minutes: 0 } => {
                return Err(Error::policy(
                    "confirmation.method.valid_minutes",
                    "a token must stay valid at least one minute",
                ))
            }
            ConfirmationMethod::TypedPhrase {
                phrase: Phrase::Fixed(text),
            } if text.trim().is_empty() => {
                return Err(Error::policy(
                    "confirmation.method.phrase",
                    "a fixed phrase cannot be blank",
                ))
            }
            ConfirmationMethod::Token { .. } | ConfirmationMethod::TypedPhrase { .. } => {}
        }
        for class in RecordClass::ALL {
            let period = self.retention.period(class);
            let path = || format!("retention.{}", serde_name(class));
            if period.min_days() > u64::from(MAX_DAYS) {
                return Err(Error::policy(path(), format!("at most {MAX_DAYS} days")));
            }
            if period.min_days() < u64::from(self.grace_period_days) {
                return Err(Error::policy(
                    path(),
                    format!(
                        "{class} would be purged before the {}-day grace period ends, while the closure can still be cancelled",
                        self.grace_period_days
                    ),
                ));
            }
        }
        if let Some(deadline) = self.statutory_regime.min_deadline_days() {
            let kept = self.retention.personal_data.max_days();
            if kept > u64::from(deadline) && self.retention.personal_data_basis.is_none() {
                return Err(Error::policy(
                    "retention.personal_data",
                    format!(
                        "personal data kept {kept} days outlasts the {deadline}-day response deadline of {}: name the legal ground in retention.personal_data_basis, or shorten it",
                        self.statutory_regime.as_str()
                    ),
                ));
            }
        }
        let download_until =
            u64::from(self.grace_period_days) + u64::from(self.invoice_download_days);
        if self.retention.invoices.min_days() < download_until {
            return Err(Error::policy(
                "retention.invoices",
                "invoices would be purged while they are still offered for download",
            ));
        }
        for days in &self.lifecycle.reminder_days_before {
            if *days == 0 || *days >= self.grace_period_days {
                return Err(Error::policy(
                    "lifecycle.reminder_days_before",
                    format!("a reminder {days} day(s) before the end must fall inside the {}-day grace period", self.grace_period_days),
                ));
            }
        }
        let retry = self.retry;
        if retry.max_attempts == 0 {
            return Err(Error::policy(
                "retry.max_attempts",
                "at least one attempt must be allowed",
            ));
        }
        if retry.base_delay_seconds == 0 || retry.base_delay_seconds > retry.max_delay_seconds {
            return Err(Error::policy(
                "retry.base_delay_seconds",
                "the first delay must be at least 1 second and at most max_delay_seconds",
            ));
        }
        if let IdentifierReuse::AfterDays(days) = self.identifier_reuse {
            if days > MAX_DAYS {
                return Err(Error::policy(
                    "identifier_reuse.after_days",
                    format!("at most {MAX_DAYS} days"),
                ));
            }
        }
        Ok(())
    }
}

fn serde_name(class: RecordClass) -> &'static str {
    match class {
        RecordClass::PersonalData => "personal_data",
        RecordClass::Content => "content",
        RecordClass::Invoices => "invoices",
        RecordClass::AuditLog => "audit_log",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn refused(policy: &ClosurePolicy, path: &str) {
        let err = policy.validate().unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidPolicy, "{err}");
        match &err {
            Error::InvalidPolicy { path: got, .. } => assert_eq!(got, path, "{err}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The setting a policy is refused at, or `None` when it is valid.
    fn refusal(policy: &ClosurePolicy) -> Option<String> {
        match policy.validate() {
            Ok(()) => None,
            Err(Error::InvalidPolicy { path, .. }) => Some(path),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    /// A valid policy with room in every direction: no grace period, no
    /// download window, every class kept the longest allowed, no statutory
    /// regime, so each case below meets only the limit it moves.
    fn roomy() -> ClosurePolicy {
        let mut policy = ClosurePolicy::cascade();
        policy.grace_period_days = 0;
        policy.invoice_download_days = 0;
        policy.lifecycle.reminder_days_before.clear();
        policy.statutory_regime = StatutoryRegime::None;
        policy.retention = Retention {
            personal_data: Period::Days(MAX_DAYS),
            content: Period::Days(MAX_DAYS),
            invoices: Period::Days(MAX_DAYS),
            audit_log: Period::Days(MAX_DAYS),
            personal_data_basis: Some(RetentionBasis::LegalObligation),
        };
        assert_eq!(refusal(&policy), None);
        policy
    }

    /// Every limit is inclusive: the value at it is accepted, the next one
    /// refused at its own setting (the boundaries a `>` turned `>=` moves).
    #[test]
    fn every_limit_is_inclusive_and_one_past_it_is_refused() {
        type Set = fn(&mut ClosurePolicy, u32);
        let cases: [(&str, Set, u32, u32); 8] = [
            (
                "grace_period_days",
                |p, v| p.grace_period_days = v,
                MAX_DAYS,
                MAX_DAYS + 1,
            ),
            (
                "invoice_download_days",
                |p, v| p.invoice_download_days = v,
                MAX_DAYS,
                MAX_DAYS + 1,
            ),
            (
                "cooldown_hours",
                |p, v| p.cooldown_hours = v,
                MAX_DAYS * 24,
                MAX_DAYS * 24 + 1,
            ),
            (
                "retention.content",
                |p, v| p.retention.content = Period::Days(v),
                MAX_DAYS,
                MAX_DAYS + 1,
            ),
            // Kept no shorter than the grace period (10 days here).
            (
                "retention.content",
                |p, v| {
                    p.grace_period_days = 10;
                    p.retention.content = Period::Days(v);
                },
                10,
                9,
            ),
            // Invoices outlast the grace period plus the download window:
            // 7 + 30, not 7 × 30, and exactly 37 is enough.
            (
                "retention.invoices",
                |p, v| {
                    p.grace_period_days = 7;
                    p.invoice_download_days = 30;
                    p.retention.invoices = Period::Days(v);
                },
                37,
                36,
            ),
            (
                "retry.base_delay_seconds",
                |p, v| {
                    p.retry.max_delay_seconds = 600;
                    p.retry.base_delay_seconds = v;
                },
                600,
                601,
            ),
            (
                "identifier_reuse.after_days",
                |p, v| {
                    p.identifier_reuse = IdentifierReuse::AfterDays(v);
                },
                MAX_DAYS,
                MAX_DAYS + 1,
            ),
        ];
        for (path, set, at, past) in cases {
            let mut policy = roomy();
            set(&mut policy, at);
            assert_eq!(refusal(&policy), None, "{path} = {at}");
            let mut policy = roomy();
            set(&mut policy, past);
            assert_eq!(refusal(&policy).as_deref(), Some(path), "{path} = {past}");
        }
    }

    /// Under a statutory regime, personal data kept past its response
    /// deadline needs a legal ground; the refusal names the regime and the
    /// longest a period can be (a year counted as 366 days).
    #[test]
    fn personal_data_kept_past_the_statutory_deadline_needs_a_ground() {
        for (regime, deadline) in [(StatutoryRegime::Gdpr, 28), (StatutoryRegime::Ccpa, 45)] {
            let mut policy = roomy();
            policy.statutory_regime = regime;
            policy.retention.personal_data_basis = None;
            policy.retention.personal_data = Period::Days(deadline);
            assert_eq!(refusal(&policy), None, "{regime:?}");
            policy.retention.personal_data = Period::Days(deadline + 1);
            refused(&policy, "retention.personal_data");
            policy.retention.personal_data = Period::Years(1);
            let message = policy.validate().unwrap_err().to_string();
            let name = serde_json::to_value(regime).unwrap();
            assert!(
                message.contains("kept 366 days")
                    && message.contains(&format!("deadline of {}", name.as_str().unwrap())),
                "{message}"
            );
            policy.retention.personal_data_basis = Some(RetentionBasis::LegalClaims);
            assert_eq!(refusal(&policy), None);
        }
        assert_eq!(
            (Period::Years(2).min_days(), Period::Years(2).max_days()),
            (730, 732)
        );
    }

    /// The names in messages and paths are the JSON's: each regime's and
    /// rule's text is its serde name, and a rule a condition cannot take is
    /// refused at `conditions.<the field's JSON key>`, the rule quoted.
    #[test]
    fn names_in_messages_are_the_json_names() {
        for regime in [
            StatutoryRegime::Gdpr,
            StatutoryRegime::Ccpa,
            StatutoryRegime::None,
        ] {
            assert_eq!(serde_json::to_value(regime).unwrap(), regime.as_str());
        }
        let keys = serde_json::to_value(ClosurePolicy::cascade().conditions).unwrap();
        let mut refusals = 0;
        for condition in Condition::ALL {
            assert!(
                keys.get(condition.field()).is_some(),
                "{}",
                condition.field()
            );
            for rule in [Rule::Block, Rule::Clear, Rule::Warn] {
                assert_eq!(serde_json::to_value(rule).unwrap(), rule.to_string());
                let mut policy = roomy();
                *policy.conditions.rule_mut(condition) = rule;
                if condition.allowed().0.contains(&rule) {
                    continue;
                }
                refusals += 1;
                let err = policy.validate().unwrap_err();
                let Error::InvalidPolicy { path, reason } = &err else {
                    panic!("unexpected {err:?}")
                };
                assert_eq!(path, &format!("conditions.{}", condition.field()));
                assert!(
                    reason.starts_with(&format!("`{rule}` is not possible")),
                    "{reason}"
                );
            }
        }
        assert!(refusals >= 5, "{refusals}");
    }

    #[test]
    fn presets_are_valid_and_named() {
        for name in ["cascade", "prerequisite"] {
            let policy = ClosurePolicy::preset(name).unwrap();
            policy.validate().unwrap();
            assert_eq!(policy.name, name);
        }
        assert!(ClosurePolicy::preset("lenient").is_none());
        assert_eq!(ClosurePolicy::cascade().grace_period_days, 0);
        assert_eq!(
            ClosurePolicy::prerequisite().retention.personal_data,
            Period::Days(365)
        );
    }

    #[test]
    fn every_condition_refuses_the_rules_that_make_no_sense() {
        for condition in Condition::ALL {
            let (allowed, _) = condition.allowed();
            for rule in [Rule::Block, Rule::Clear, Rule::Warn] {
                let mut policy = ClosurePolicy::prerequisite();
                *policy.conditions.rule_mut(condition) = rule;
                assert_eq!(policy.conditions.rule(condition), rule);
                if allowed.contains(&rule) {
                    policy.validate().unwrap();
                } else {
                    refused(&policy, &format!("conditions.{}", condition.field()));
                }
            }
        }
    }

    #[test]
    fn incoherent_settings_are_refused() {
        let base = ClosurePolicy::prerequisite;
        let mut p = base();
        p.billing = BillingDisposition {
            cancel: CancelTiming::AtPeriodEnd,
            unused_time: UnusedTime::Refund,
        };
        refused(&p, "billing.unused_time");
        p.billing.unused_time = UnusedTime::None;
        p.validate().unwrap();

        let mut p = base();
        p.confirmation.max_attempts = 0;
        refused(&p, "confirmation.max_attempts");
        let mut p = base();
        p.confirmation.method = ConfirmationMethod::Token { valid_minutes: 0 };
        refused(&p, "confirmation.method.valid_minutes");
        let mut p = base();
        p.confirmation.method = ConfirmationMethod::TypedPhrase {
            phrase: Phrase::Fixed("  ".into()),
        };
        refused(&p, "confirmation.method.phrase");
        let mut p = base();
        p.authorization.max_reauth_age_minutes = Some(0);
        refused(&p, "authorization.max_reauth_age_minutes");
        let mut p = base();
        p.name = " ".into();
        refused(&p, "name");

        let mut p = base();
        p.grace_period_days = 30;
        p.retention.content = Period::Days(29);
        refused(&p, "retention.content");
        let mut p = base();
        p.invoice_download_days = 400;
        p.retention.invoices = Period::Years(1);
        refused(&p, "retention.invoices");
        let mut p = base();
        p.grace_period_days = MAX_DAYS + 1;
        refused(&p, "grace_period_days");
        let mut p = base();
        p.cooldown_hours = u32::MAX;
        refused(&p, "cooldown_hours");
        let mut p = base();
        p.retention.audit_log = Period::Years(u32::MAX);
        refused(&p, "retention.audit_log");
        let mut p = base();
        p.identifier_reuse = IdentifierReuse::AfterDays(MAX_DAYS + 1);
        refused(&p, "identifier_reuse.after_days");
    }

    #[test]
    fn policies_round_trip_through_json() {
        for policy in [ClosurePolicy::cascade(), ClosurePolicy::prerequisite()] {
            let text = serde_json::to_string_pretty(&policy).unwrap();
            assert_eq!(ClosurePolicy::from_json(&text).unwrap(), policy);
        }
        let mut fixed = ClosurePolicy::cascade();
        fixed.confirmation.method = ConfirmationMethod::TypedPhrase {
            phrase: Phrase::Fixed("delete my account".into()),
        };
        let text = serde_json::to_string(&fixed).unwrap();
        assert!(
            text.contains(r#""phrase":{"fixed":"delete my account"}"#),
            "{text}"
        );
        assert_eq!(ClosurePolicy::from_json(&text).unwrap(), fixed);
    }

    #[test]
    fn policy_json_errors_are_typed() {
        let mut value = serde_json::to_value(ClosurePolicy::cascade()).unwrap();
        value["schema_version"] = 7.into();
        let err = ClosurePolicy::from_json(&value.to_string()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
        value["schema_version"] = POLICY_VERSION.into();
        value["conditions"]["active_subscription"] = "warn".into();
        assert_eq!(
            ClosurePolicy::from_json(&value.to_string())
                .unwrap_err()
                .code(),
            ErrorCode::InvalidPolicy
        );
        value["conditions"]["active_subscription"] = "sometimes".into();
        assert_eq!(
            ClosurePolicy::from_json(&value.to_string())
                .unwrap_err()
                .code(),
            ErrorCode::SchemaMismatch
        );
        assert_eq!(
            ClosurePolicy::from_json("{").unwrap_err().code(),
            ErrorCode::MalformedJson
        );
        let mut struct_policy = ClosurePolicy::cascade();
        struct_policy.schema_version = POLICY_VERSION + 1;
        assert_eq!(
            struct_policy.validate().unwrap_err().code(),
            ErrorCode::UnsupportedVersion
        );
    }

    #[test]
    fn periods_add_calendar_time() {
        let leap: DateTime<Utc> = "2028-02-29T12:00:00Z".parse().unwrap();
        assert_eq!(
            Period::Years(1).after(leap),
            Some("2029-02-28T12:00:00Z".parse().unwrap())
        );
        assert_eq!(
            Period::Days(1).after(leap),
            Some("2028-03-01T12:00:00Z".parse().unwrap())
        );
        assert_eq!(Period::Years(u32::MAX).after(leap), None);
        assert_eq!(Period::Years(2).min_days(), 730);
    }
}
