//! How the messages a person reads name things: by their display names
//! (the workspace's name, the plan, the invoice's date and amount), never by
//! internal ids, which stay in the structured fields (`subject`, `remedy.by`)
//! for the host. One date format, one word per thing ("workspace"), and
//! counts that agree with their nouns.

use chrono::{DateTime, Datelike, Utc};

use crate::model::validate::Map;
use crate::model::{
    format_minor, Invoice, PaymentMethod, PaymentMethodId, Snapshot, Subscription, SubscriptionId,
    TenantId,
};

/// A date as messages write it: `1 January 2038`.
/// Written by hand: chrono's `format("%-d %B %Y")` parses its pattern on
/// every call, which made the date most of an invoice's name.
pub(crate) fn date(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS
        .get(at.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", at.day(), at.year())
}

/// `1 invoice`, `3 invoices`, `0 other members`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A workspace's name as a sentence writes it: `an unnamed workspace` for
/// one named with nothing but spaces.
pub(crate) fn workspace_name(name: &str) -> String {
    match name.trim() {
        "" => "an unnamed workspace".to_owned(),
        name => name.to_owned(),
    }
}

/// Names from one snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names<'a> {
    snapshot: Option<&'a Snapshot>,
    /// Where each workspace sits in `snapshot.tenants`, when the caller has
    /// the snapshot's index: a lookup then, not a scan per name (a scan made
    /// naming every invoice of a large snapshot quadratic).
    tenants: Option<&'a Map<&'a TenantId, usize>>,
}

impl<'a> Names<'a> {
    /// Names from `snapshot`; without one, things are named by their kind.
    pub(crate) fn new(snapshot: Option<&'a Snapshot>) -> Names<'a> {
        Names {
            snapshot,
            tenants: None,
        }
    }

    /// Names from `snapshot`, finding its workspaces through `tenants`
    /// (the snapshot's index).
    pub(crate) fn indexed(
        snapshot: &'a Snapshot,
        tenants: &'a Map<&'a TenantId, usize>,
    ) -> Names<'a> {
        Names {
            snapshot: Some(snapshot),
            tenants: Some(tenants),
        }
    }

    /// The workspace's name, or `a workspace` when the snapshot lacks it
    /// (or names it with nothing but spaces).
    pub(crate) fn workspace(&self, id: &TenantId) -> String {
        self.snapshot
            .and_then(|s| match self.tenants {
                Some(index) => index.get(id).and_then(|&at| s.tenants.get(at)),
                None => s.tenants.iter().find(|t| t.id == *id),
            })
            .map_or_else(|| "a workspace".to_owned(), |t| workspace_name(&t.name))
    }

    /// ` of Acme Robotics` for a workspace's things, nothing for the account's own.
    fn of(&self, tenant: Option<&TenantId>) -> String {
        tenant.map_or_else(String::new, |id| format!(" of {}", self.workspace(id)))
    }

    fn find_subscription(&self, id: &SubscriptionId) -> Option<&'a Subscription> {
        self.snapshot
            .and_then(|s| s.subscriptions.iter().find(|sub| sub.id == *id))
    }

    /// `the Team (annual) subscription of Acme Robotics`, `the Extra storage add-on`.
    pub(crate) fn subscription(&self, id: &SubscriptionId) -> String {
        match self.find_subscription(id) {
            Some(sub) => self.subscription_of(sub),
            None => "a subscription".to_owned(),
        }
    }

    /// The same, for a subscription at hand.
    pub(crate) fn subscription_of(&self, sub: &Subscription) -> String {
        let kind = if sub.is_add_on() {
            "add-on"
        } else {
            "subscription"
        };
        // A plan already called "... add-on" or "... subscription" is not
        // named twice.
        let plan = sub.plan.trim();
        let named = if plan.is_empty() {
            kind.to_owned()
        } else if plan.to_lowercase().ends_with(kind) {
            plan.to_owned()
        } else {
            format!("{plan} {kind}")
        };
        let article = if plan.is_empty() && sub.tenant.is_none() {
            "your"
        } else {
            "the"
        };
        format!("{article} {named}{}", self.of(sub.tenant.as_ref()))
    }

    /// `the card on file`, `the card of Acme Robotics`.
    pub(crate) fn payment_method(&self, id: &PaymentMethodId) -> String {
        self.snapshot
            .and_then(|s| s.payment_methods.iter().find(|m| m.id == *id))
            .map_or_else(
                || "a payment method".to_owned(),
                |m| self.payment_method_of(m),
            )
    }

    /// The same, for a payment method at hand.
    pub(crate) fn payment_method_of(&self, method: &PaymentMethod) -> String {
        match &method.tenant {
            Some(tenant) => format!("the {} of {}", method.kind, self.workspace(tenant)),
            None => format!("the {} on file", method.kind),
        }
    }

    /// `the invoice of 1 November 2026 (49.00 USD)`.
    pub(crate) fn invoice_of(&self, invoice: &Invoice) -> String {
        format!(
            "the invoice of {} ({}){}",
            date(invoice.issued_at),
            format_minor(i128::from(invoice.amount_due), invoice.currency),
            self.of(invoice.tenant.as_ref())
        )
    }

    /// `your account balance`, `the balance of Acme Robotics`.
    pub(crate) fn balance(&self, tenant: Option<&TenantId>) -> String {
        match tenant {
            None => "your account balance".to_owned(),
            Some(id) => format!("the balance of {}", self.workspace(id)),
        }
    }
}
