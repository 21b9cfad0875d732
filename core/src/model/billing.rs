//! Billing: subscriptions and add-ons, payment methods, invoices, balances.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{InvoiceId, PaymentMethodId, SubscriptionId, TenantId};

/// A subscription or add-on as the billing provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Subscription id at the billing provider.
    pub id: SubscriptionId,
    /// The tenant that owns it; absent when the account owns it directly.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// Plan or product name.
    pub plan: String,
    /// For an add-on, the subscription it is attached to; absent for a plan.
    #[serde(default)]
    pub add_on_of: Option<SubscriptionId>,
    /// Status as the billing provider reports it.
    pub status: SubscriptionStatus,
    /// End of the current billing period.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub current_period_end: DateTime<Utc>,
    /// Whether it is already set to end at the period end instead of renewing.
    #[serde(default)]
    pub cancel_at_period_end: bool,
}

impl Subscription {
    /// Whether this is an add-on rather than a plan.
    pub fn is_add_on(&self) -> bool {
        self.add_on_of.is_some()
    }
}

/// Subscription statuses, as Stripe names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// In a free trial; converts to paid unless cancelled.
    Trialing,
    /// Paid and running.
    Active,
    /// A renewal payment failed; the provider is retrying.
    PastDue,
    /// Retries are exhausted; invoices are left open.
    Unpaid,
    /// Paused; can be resumed.
    Paused,
    /// Ended.
    Canceled,
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded and the subscription expired.
    IncompleteExpired,
}

impl SubscriptionStatus {
    /// Whether the subscription can still bill or be resumed: everything but
    /// `canceled` and `incomplete_expired`.
    pub fn is_live(self) -> bool {
        match self {
            SubscriptionStatus::Trialing
            | SubscriptionStatus::Active
            | SubscriptionStatus::PastDue
            | SubscriptionStatus::Unpaid
            | SubscriptionStatus::Paused
            | SubscriptionStatus::Incomplete => true,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired => false,
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past due",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::IncompleteExpired => "expired",
        })
    }
}

/// A stored payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    /// Payment method id.
    pub id: PaymentMethodId,
    /// The tenant that owns it; absent when the account owns it directly.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// What kind of instrument it is.
    pub kind: PaymentMethodKind,
}

/// Kinds of payment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodKind {
    /// A credit or debit card.
    Card,
    /// A bank account or direct debit mandate.
    BankAccount,
    /// A wallet (PayPal and the like).
    Wallet,
    /// Anything else.
    Other,
}

impl fmt::Display for PaymentMethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentMethodKind::Card => "card",
            PaymentMethodKind::BankAccount => "bank account",
            PaymentMethodKind::Wallet => "wallet",
            PaymentMethodKind::Other => "payment method",
        })
    }
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// Invoice id.
    pub id: InvoiceId,
    /// The tenant billed; absent when the account was billed directly.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The subscription it bills, if any.
    #[serde(default)]
    pub subscription: Option<SubscriptionId>,
    /// Invoice status.
    pub status: InvoiceStatus,
    /// Amount still due, in minor units (cents); never negative.
    pub amount_due: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// When it was issued.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub issued_at: DateTime<Utc>,
}

/// Invoice statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Paid in full.
    Paid,
    /// Issued and awaiting payment.
    Open,
    /// Judged unlikely to be paid, but still owed.
    Uncollectible,
    /// Cancelled; nothing is owed.
    Void,
    /// The payment is disputed (chargeback).
    Disputed,
}

impl InvoiceStatus {
    /// Whether money is still owed on an invoice in this status.
    pub fn is_unpaid(self) -> bool {
        match self {
            InvoiceStatus::Open | InvoiceStatus::Uncollectible => true,
            InvoiceStatus::Paid | InvoiceStatus::Void | InvoiceStatus::Disputed => false,
        }
    }
}

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Why a string cannot be a currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a currency is three upper-case letters (ISO 4217), like EUR or USD")]
pub struct CurrencyError;

impl Currency {
    /// Builds a currency code from three upper-case ASCII letters.
    pub fn new(code: &str) -> Result<Currency, CurrencyError> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(CurrencyError),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Currency, CurrencyError> {
        Currency::new(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed amount on an account: positive is credit in the customer's
/// favour, negative is money the customer owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Balance {
    /// Amount in minor units (cents); negative when owed.
    pub amount: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

impl Currency {
    /// How many decimals the currency's minor unit has (ISO 4217): 0 for
    /// the yen or the won, 3 for the Kuwaiti dinar, 2 for the rest. Amounts
    /// are in minor units, so `1500` is 15.00 EUR but 1500 JPY.
    pub fn decimals(&self) -> u32 {
        const NONE: [&str; 16] = [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
            "VUV", "XAF", "XOF", "XPF",
        ];
        const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        if NONE.contains(&self.as_str()) {
            0
        } else if THREE.contains(&self.as_str()) {
            3
        } else {
            2
        }
    }
}

/// Formats minor units in the currency's own decimals: `12.34 EUR`,
/// `1500 JPY`, `1.234 KWD`.
pub(crate) fn format_minor(amount: i128, currency: Currency) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    match currency.decimals() {
        0 => format!("{sign}{abs} {currency}"),
        decimals => {
            let unit = 10u128.pow(decimals);
            let width = decimals as usize;
            format!("{sign}{}.{:0width$} {currency}", abs / unit, abs % unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::new("EUR").unwrap().as_str(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_err());
    }

    #[test]
    fn live_and_unpaid_statuses() {
        assert!(SubscriptionStatus::PastDue.is_live());
        assert!(!SubscriptionStatus::Canceled.is_live());
        assert!(!SubscriptionStatus::IncompleteExpired.is_live());
        assert!(InvoiceStatus::Uncollectible.is_unpaid());
        assert!(!InvoiceStatus::Disputed.is_unpaid());
    }

    #[test]
    fn money_formatting() {
        let eur = Currency::new("EUR").unwrap();
        assert_eq!(format_minor(1234, eur), "12.34 EUR");
        assert_eq!(format_minor(-5, eur), "-0.05 EUR");
        assert_eq!(
            format_minor(1500, Currency::new("JPY").unwrap()),
            "1500 JPY"
        );
        assert_eq!(
            format_minor(1234, Currency::new("KWD").unwrap()),
            "1.234 KWD"
        );
        assert_eq!(
            format_minor(-7, Currency::new("KWD").unwrap()),
            "-0.007 KWD"
        );
    }
}
