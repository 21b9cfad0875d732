//! A billing system that speaks Stripe's HTTP API: the [`Downstream`] a
//! product on Stripe plugs in for `billing` (`--stripe-api URL
//! --stripe-key-file FILE`). Tested against `localstripe`, a stateful fake
//! Stripe server (`tests/stripe.rs`).
//!
//! - `cancel_subscription`: `DELETE /v1/subscriptions/{id}` at once, or
//!   `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`.
//! - `delete_payment_method`: `POST /v1/payment_methods/{id}/detach`.
//! - `publish_invoice_archive`: nothing to call; Stripe keeps the invoices
//!   (the archive link is the product's own page).
//! - `refund_credit`: refused for good, so support is asked: a credit
//!   refund needs the customer and the amount's source, which this adapter
//!   does not know.
//! - `purge` of personal data (which the identity system performs, this
//!   adapter acting first: [`Downstream::also_acts_on`]):
//!   `DELETE /v1/customers/{id}`, the customer the account's row in
//!   `billing_customers` names (`PUT /v1/ops/accounts/{id}/billing-customer`).
//!   Stripe keeps the invoices, which carry their own copy of the billing
//!   details, for the tax records; the customer object with the name, email
//!   and addresses goes. An account with no customer recorded has nothing
//!   to delete.
//!
//! Every call carries the effect's key as Stripe's `Idempotency-Key`, so a
//! retry after a timeout is not a second cancellation. A subscription that
//! no longer exists (404) is taken as cancelled: what was to end has ended.
//! 429, 5xx and transport errors are retryable; other 4xx are permanent.
//! The client is blocking (`ureq`), run on the blocking pool. It is built
//! without TLS here: talking to `api.stripe.com` needs `ureq`'s `rustls`
//! feature.

use std::time::Duration;

use offboard::model::RecordClass;
use offboard::plan::Action;
use offboard::policy::CancelTiming;

use crate::adapters::{Answer, Call, Downstream, Refusal};
use crate::store::Store;

/// The provider name in `billing_customers`.
pub const PROVIDER: &str = "stripe";

/// The purge this adapter also acts on.
const PURGE_PERSONAL_DATA: Action = Action::Purge {
    class: RecordClass::PersonalData,
};

/// Billing on Stripe.
#[derive(Debug, Clone)]
pub struct StripeBilling {
    base: String,
    secret_key: String,
    agent: ureq::Agent,
    customers: Option<Store>,
}

impl StripeBilling {
    /// A client of the Stripe API at `base` (`https://api.stripe.com`, or
    /// a localstripe) with the secret key `secret_key` (`sk_…`).
    pub fn new(base: &str, secret_key: &str, timeout: Duration) -> Result<StripeBilling, String> {
        let secret_key = secret_key.trim();
        if !secret_key.starts_with("sk_") {
            return Err("a Stripe secret key starts with sk_".into());
        }
        Ok(StripeBilling {
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build()
                .new_agent(),
            customers: None,
        })
    }

    /// Deletes, at the purge of personal data, the customer `store`'s
    /// `billing_customers` records for the closure's account.
    pub fn with_customers(mut self, store: Store) -> StripeBilling {
        self.customers = Some(store);
        self
    }

    /// One request: method, path, form body.
    fn send(&self, key: &str, method: &str, path: &str, form: &str) -> Result<(), Refusal> {
        let url = format!("{}{path}", self.base);
        let bearer = format!("Bearer {}", self.secret_key);
        let response = match method {
            "DELETE" => self
                .agent
                .delete(&url)
                .header("authorization", &bearer)
                .header("idempotency-key", key)
                .call(),
            _ => self
                .agent
                .post(&url)
                .header("authorization", &bearer)
                .header("idempotency-key", key)
                .header("content-type", "application/x-www-form-urlencoded")
                .send(form),
        };
        let mut response =
            response.map_err(|e| Refusal::Retryable(format!("Stripe {method} {path}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let message = || {
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error")?.get("message")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(200).collect())
        };
        match status {
            200..=299 => Ok(()),
            429 | 500..=599 => Err(Refusal::Retryable(format!(
                "Stripe {method} {path} answered {status}: {}",
                message()
            ))),
            _ => Err(Refusal::Permanent(format!(
                "Stripe {method} {path} answered {status}: {}",
                message()
            ))),
        }
    }

    fn perform_blocking(
        &self,
        key: &str,
        action: &Action,
        customer: Option<&str>,
    ) -> Result<(), Refusal> {
        match action {
            Action::Purge {
                class: RecordClass::PersonalData,
            } => {
                let Some(customer) = customer else {
                    return Ok(());
                };
                let path = format!("/v1/customers/{customer}");
                match self.send(key, "DELETE", &path, "") {
                    // Gone already: deleted by an earlier try, or by hand.
                    Err(Refusal::Permanent(reason)) if reason.contains(" answered 404") => Ok(()),
                    other => other,
                }
            }
            Action::CancelSubscription {
                subscription,
                timing,
                ..
            } => {
                let path = format!("/v1/subscriptions/{}", subscription.as_str());
                let sent = match timing {
                    CancelTiming::Immediately => self.send(key, "DELETE", &path, ""),
                    CancelTiming::AtPeriodEnd => {
                        self.send(key, "POST", &path, "cancel_at_period_end=true")
                    }
                };
                match sent {
                    // Gone already: what was to end has ended.
                    Err(Refusal::Permanent(reason)) if reason.contains(" answered 404") => Ok(()),
                    other => other,
                }
            }
            Action::DeletePaymentMethod { payment_method } => {
                let path = format!("/v1/payment_methods/{}/detach", payment_method.as_str());
                match self.send(key, "POST", &path, "") {
                    Err(Refusal::Permanent(reason)) if reason.contains(" answered 404") => Ok(()),
                    other => other,
                }
            }
            Action::PublishInvoiceArchive { .. } => Ok(()),
            other => Err(Refusal::Permanent(format!(
                "the Stripe billing adapter does not perform `{}`",
                other.kind()
            ))),
        }
    }
}

impl Downstream for StripeBilling {
    fn perform<'a>(&'a self, call: Call<'a>) -> Answer<'a> {
        let (this, key, action) = (self.clone(), call.key.to_owned(), call.action.clone());
        Box::pin(async move {
            let customer = match (&self.customers, &action) {
                (Some(store), a) if *a == PURGE_PERSONAL_DATA => store
                    .billing_customer_of_closure(call.closure, PROVIDER)
                    .await
                    .map_err(|e| Refusal::Retryable(format!("reading the customer: {e}")))?,
                _ => None,
            };
            tokio::task::spawn_blocking(move || {
                this.perform_blocking(&key, &action, customer.as_deref())
            })
            .await
            .unwrap_or_else(|e| {
                Err(Refusal::Retryable(format!(
                    "the Stripe call ended abnormally: {e}"
                )))
            })
        })
    }

    fn also_acts_on(&self, action: &Action) -> bool {
        self.customers.is_some() && *action == PURGE_PERSONAL_DATA
    }
}
