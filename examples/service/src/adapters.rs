//! The downstream systems effects go to: billing, the domain registrar,
//! identity, mail. Each is a [`Downstream`]: one trait a product implements
//! once per system (its Stripe client, its registrar's API, its own user
//! store, its mailer) and plugs in with [`Adapters::with`]; nothing else in
//! the service changes. The fakes here ([`Fake`]) are one implementation.
//!
//! Each fake behaves like a real provider that honours idempotency keys (as
//! Stripe's API does): the first call with a key performs the action, later
//! calls with the same key only answer "done". Performing and remembering
//! the key happen in one transaction on the provider's side, here a pair of
//! tables in the same database that stand in for the remote systems:
//! `downstream_keys` (one row per key, with how often it was called) and
//! `downstream_log` (one row per action actually performed). The crash test
//! reads both. The identity system's actions also change the account tables
//! in the same transaction, as a product's user store would: `delete_account`
//! deletes the account (after it, ticks of the closure carry no snapshot, and
//! the closure's own hold set is what keeps held records); the tenant steps
//! move the primary owner, take members out and delete tenants, so the other
//! members' snapshots see what the closure did.
//!
//! Each adapter can be told to fail (retryably or for good), to stall past the
//! worker's timeout, or to fail a given share of first calls at random.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use offboard::plan::Action;
use serde::{Deserialize, Serialize};

use crate::store::Store;

/// The downstream systems effects go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Adapter {
    /// Subscriptions, payment methods, invoice archives.
    Billing,
    /// Domains and their registrations.
    Registrar,
    /// Sessions, tenants, memberships, the account, its data.
    Identity,
    /// Notifications.
    Mail,
}

impl Adapter {
    /// Every adapter.
    pub const ALL: [Adapter; 4] = [
        Adapter::Billing,
        Adapter::Registrar,
        Adapter::Identity,
        Adapter::Mail,
    ];

    /// Which system performs `action`.
    pub fn for_action(action: &Action) -> Adapter {
        match action {
            Action::CancelSubscription { .. }
            | Action::RefundCredit { .. }
            | Action::DeletePaymentMethod { .. }
            | Action::PublishInvoiceArchive { .. } => Adapter::Billing,
            Action::DisableAutoRenew { .. } | Action::ReleaseDomain { .. } => Adapter::Registrar,
            Action::Notify { .. } => Adapter::Mail,
            Action::RevokeSessions
            | Action::BlockWrites
            | Action::RestoreAccess
            | Action::RemoveMembers { .. }
            | Action::LeaveTenant { .. }
            | Action::TransferPrimaryOwner { .. }
            | Action::DeleteTenant { .. }
            | Action::DeleteAccount
            | Action::QuarantineIdentifiers { .. }
            | Action::Purge { .. } => Adapter::Identity,
            // An action added by a later core: the account's own system
            // performs it until this service routes it elsewhere.
            _ => Adapter::Identity,
        }
    }

    /// The adapter's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Adapter::Billing => "billing",
            Adapter::Registrar => "registrar",
            Adapter::Identity => "identity",
            Adapter::Mail => "mail",
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Adapter {
    type Err = String;
    fn from_str(s: &str) -> Result<Adapter, String> {
        Adapter::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("no adapter `{s}` (billing, registrar, identity or mail)"))
    }
}

/// How an adapter behaves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mode {
    /// Performs every call.
    #[default]
    Ok,
    /// Answers every call with a retryable failure (a 503).
    Fail,
    /// Answers every call with a permanent failure (a 422).
    FailPermanently,
    /// Holds every call for `millis` before performing it; past the worker's
    /// timeout, the worker gives up and reports a retryable failure.
    Stall {
        /// How long each call hangs.
        millis: u64,
    },
}

/// Why a call did not perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Worth retrying.
    Retryable(String),
    /// Not worth retrying.
    Permanent(String),
}

/// What a downstream call answers, in time.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + 'a>>;

/// One call to a downstream system.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The effect's idempotency key. A system that has seen it must not
    /// perform the action again, only answer that it is done.
    pub key: &'a str,
    /// The delivery, counting from 1.
    pub attempt: i64,
    /// What to do.
    pub action: &'a Action,
    /// The worker calling.
    pub worker: &'a str,
    /// The closure the effect belongs to (what a system looks its own
    /// records up by: the billing provider's customer, say).
    pub closure: &'a str,
}

/// A downstream system: performs an effect's action, at most once per key.
///
/// Answer `Ok` once the action is done (or was done before under this
/// key, or is moot: a subscription already cancelled), a retryable refusal
/// for what may pass (a timeout, a 429, a 5xx), a permanent one for what
/// will not (the worker then fails the effect and support is asked).
pub trait Downstream: fmt::Debug + Send + Sync {
    /// Performs `call`.
    fn perform<'a>(&'a self, call: Call<'a>) -> Answer<'a>;

    /// Whether this system must also act on `action`, which another system
    /// performs: the billing provider deleting its customer when the
    /// account's personal data is purged. It is then called first, under
    /// the same key, and the effect is done when both are. None by default.
    fn also_acts_on(&self, action: &Action) -> bool {
        let _ = action;
        false
    }
}

/// A fake system: performs by recording the key and the action in the
/// service's own database (`downstream_keys`, `downstream_log`).
#[derive(Debug)]
pub struct Fake {
    adapter: Adapter,
    store: Store,
}

impl Fake {
    /// The fake `adapter`, recording in `store`.
    pub fn new(adapter: Adapter, store: Store) -> Fake {
        Fake { adapter, store }
    }
}

impl Downstream for Fake {
    fn perform<'a>(&'a self, call: Call<'a>) -> Answer<'a> {
        Box::pin(async move {
            let adapter = self.adapter;
            self.store
                .downstream_perform(adapter, call.key, call.action, call.worker)
                .await
                .map_err(|e| Refusal::Retryable(format!("{adapter} unreachable: {e}")))
        })
    }
}

/// The systems, and how each is set to behave (the test switches: `fail`,
/// `stall`, the flaky share), which apply whichever system is plugged in.
#[derive(Debug)]
pub struct Adapters {
    systems: HashMap<Adapter, Arc<dyn Downstream>>,
    modes: Mutex<HashMap<Adapter, Mode>>,
    flaky_percent: u8,
}

impl Adapters {
    /// The four fakes, recording in `store`, all performing, except that
    /// `flaky_percent` of first calls (chosen by a hash of the key, so the
    /// same keys on every run) fail retryably.
    pub fn fakes(store: &Store, flaky_percent: u8) -> Adapters {
        Adapters {
            systems: Adapter::ALL
                .into_iter()
                .map(|a| {
                    (
                        a,
                        Arc::new(Fake::new(a, store.clone())) as Arc<dyn Downstream>,
                    )
                })
                .collect(),
            modes: Mutex::new(HashMap::new()),
            flaky_percent,
        }
    }

    /// Plugs `system` in for `adapter`.
    pub fn with(mut self, adapter: Adapter, system: Arc<dyn Downstream>) -> Adapters {
        self.systems.insert(adapter, system);
        self
    }

    /// Sets how `adapter` behaves from now on.
    pub fn set_mode(&self, adapter: Adapter, mode: Mode) {
        if let Ok(mut modes) = self.modes.lock() {
            modes.insert(adapter, mode);
        }
    }

    /// How `adapter` behaves.
    pub fn mode(&self, adapter: Adapter) -> Mode {
        self.modes
            .lock()
            .ok()
            .and_then(|m| m.get(&adapter).copied())
            .unwrap_or_default()
    }

    /// Calls the systems that perform `action` with idempotency key `key`:
    /// first any other system that also acts on it
    /// ([`Downstream::also_acts_on`]), then the one that owns it
    /// ([`Adapter::for_action`]); the first refusal is the answer (every
    /// system honours the key, so the retry repeats none of them).
    /// `attempt` counts from 1 (the outbox's delivery count).
    pub async fn call(
        &self,
        worker: &str,
        closure: &str,
        key: &str,
        attempt: i64,
        action: &Action,
    ) -> Result<(), Refusal> {
        let owner = Adapter::for_action(action);
        let call = Call {
            key,
            attempt,
            action,
            worker,
            closure,
        };
        for adapter in Adapter::ALL {
            let also = adapter != owner
                && self
                    .systems
                    .get(&adapter)
                    .is_some_and(|system| system.also_acts_on(action));
            if also {
                self.call_one(adapter, call).await?;
            }
        }
        self.call_one(owner, call).await
    }

    /// Calls `adapter`'s system, as its mode and the flaky share say.
    async fn call_one(&self, adapter: Adapter, call: Call<'_>) -> Result<(), Refusal> {
        match self.mode(adapter) {
            Mode::Ok => {}
            Mode::Fail => {
                return Err(Refusal::Retryable(format!(
                    "{adapter} answered 503 Service Unavailable"
                )))
            }
            Mode::FailPermanently => {
                return Err(Refusal::Permanent(format!(
                    "{adapter} answered 422 Unprocessable Entity"
                )))
            }
            Mode::Stall { millis } => tokio::time::sleep(Duration::from_millis(millis)).await,
        }
        if call.attempt == 1 && flaky(call.key, self.flaky_percent) {
            return Err(Refusal::Retryable(format!(
                "{adapter} answered 429 Too Many Requests"
            )));
        }
        let Some(system) = self.systems.get(&adapter) else {
            return Err(Refusal::Permanent(format!(
                "no {adapter} system is plugged in"
            )));
        };
        system.perform(call).await
    }
}

/// Whether the first call with `key` fails, for a share of `percent` of keys.
fn flaky(key: &str, percent: u8) -> bool {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 100 < u64::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flaky_share_is_close_to_the_percent_and_stable() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("eff_{i}")).collect();
        let failing = keys.iter().filter(|k| flaky(k, 20)).count();
        assert!((1_700..2_300).contains(&failing), "{failing}");
        assert_eq!(keys.iter().filter(|k| flaky(k, 0)).count(), 0);
        assert_eq!(keys.iter().filter(|k| flaky(k, 100)).count(), 10_000);
        assert_eq!(flaky("eff_7", 20), flaky("eff_7", 20));
    }

    #[test]
    fn every_adapter_name_reads_back() {
        for adapter in Adapter::ALL {
            assert_eq!(adapter.as_str().parse::<Adapter>(), Ok(adapter));
        }
        assert!("ftp".parse::<Adapter>().is_err());
    }
}
