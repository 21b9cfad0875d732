//! Random inputs for the oracle: a snapshot, an actor, a policy and a time,
//! each as the JSON text a host would send.
//!
//! Proptest draws a [`Raw`] description (small numbers and flags); [`Raw::build`]
//! turns it into documents that are always valid, resolving references by
//! index so that every tenant, subscription and add-on link points at
//! something real. The draw covers every entity kind and status, every rule a
//! policy may pick for each condition, actors of every relation, and times
//! placed exactly on, just before and just after each boundary.

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeDelta, Utc};
use offboard::policy::{Condition, ContractRule, SharedTenantRule, SsoRule};
use offboard::ClosurePolicy;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The four documents of one assessment.
#[derive(Debug, Clone)]
pub struct Case {
    /// Snapshot JSON.
    pub snapshot: String,
    /// Actor JSON.
    pub actor: String,
    /// Policy JSON.
    pub policy: String,
    /// The time, RFC 3339 (not a JSON string).
    pub now: String,
}

/// What proptest draws; [`Raw::build`] makes documents of it.
#[derive(Debug, Clone)]
pub struct Raw {
    contract: bool,
    sso: bool,
    status: u8,
    balance: Option<i64>,
    tenants: Vec<RawTenant>,
    subscriptions: Vec<RawSubscription>,
    domains: Vec<RawDomain>,
    methods: Vec<(Option<u8>, u8)>,
    invoices: Vec<RawInvoice>,
    holds: Vec<RawHold>,
    actor: u8,
    reauth: Option<(u8, i64)>,
    rules: [bool; 9],
    shared_delete: bool,
    contract_cs_only: bool,
    sso_admin_only: bool,
    max_reauth: Option<u8>,
    offset_times: bool,
    now_minutes: i64,
}

#[derive(Debug, Clone)]
struct RawTenant {
    owned: bool,
    others: Vec<u8>,
    account_role: u8,
    balance: Option<i64>,
}

#[derive(Debug, Clone)]
struct RawSubscription {
    tenant: Option<u8>,
    add_on_of: Option<u8>,
    status: u8,
    cancel_at_period_end: Option<bool>,
}

#[derive(Debug, Clone)]
struct RawDomain {
    tenant: Option<u8>,
    active: bool,
    full: bool,
    flag: bool,
    registration: Option<bool>,
}

#[derive(Debug, Clone)]
struct RawInvoice {
    tenant: Option<u8>,
    subscription: Option<u8>,
    status: u8,
    amount: u64,
}

#[derive(Debug, Clone)]
struct RawHold {
    classes: u8,
    starts: (u8, i64),
    lasts: Option<(u8, i64)>,
}

const SUBSCRIPTION_STATUSES: [&str; 8] = [
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
    "canceled",
    "incomplete",
    "incomplete_expired",
];
const INVOICE_STATUSES: [&str; 5] = ["paid", "open", "uncollectible", "void", "disputed"];
const ACCOUNT_STATUSES: [&str; 4] = ["active", "suspended", "locked", "closed"];
const ROLES: [&str; 4] = ["owner", "admin", "billing", "member"];
const METHOD_KINDS: [&str; 4] = ["card", "bank_account", "wallet", "other"];
const CLASSES: [&str; 4] = ["personal_data", "content", "invoices", "audit_log"];
const CURRENCIES: [&str; 3] = ["EUR", "USD", "JPY"];
const REAUTH_LIMITS: [u32; 4] = [1, 5, 15, 60];

fn pick<T: Copy>(items: &[T], at: u8) -> Option<T> {
    items.get(usize::from(at) % items.len().max(1)).copied()
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -50_000i64..50_000, Just(-1i64), Just(1i64)]
}

/// A time offset in seconds: exactly on a boundary (kind 0), one second
/// either side (1, 2), or anywhere in a wide range.
fn boundary() -> impl Strategy<Value = (u8, i64)> {
    (0u8..6, -400_000i64..400_000)
}

fn offset((kind, seconds): (u8, i64)) -> i64 {
    match kind {
        0 => 0,
        1 => -1,
        2 => 1,
        _ => seconds,
    }
}

impl Raw {
    /// The proptest strategy.
    pub fn strategy() -> impl Strategy<Value = Raw> {
        let tenant = (
            any::<bool>(),
            vec(0u8..4, 0..4),
            0u8..4,
            proptest::option::weighted(0.3, amount()),
        )
            .prop_map(|(owned, others, account_role, balance)| RawTenant {
                owned,
                others,
                account_role,
                balance,
            });
        let subscription = (
            proptest::option::of(any::<u8>()),
            proptest::option::weighted(0.3, any::<u8>()),
            0u8..8,
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(tenant, add_on_of, status, cancel_at_period_end)| {
                RawSubscription {
                    tenant,
                    add_on_of,
                    status,
                    cancel_at_period_end,
                }
            });
        let domain = (
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(tenant, active, full, flag, registration)| RawDomain {
                tenant,
                active,
                full,
                flag,
                registration,
            });
        let invoice = (
            proptest::option::of(any::<u8>()),
            proptest::option::weighted(0.4, any::<u8>()),
            0u8..5,
            prop_oneof![Just(0u64), 1u64..100_000],
        )
            .prop_map(|(tenant, subscription, status, amount)| RawInvoice {
                tenant,
                subscription,
                status,
                amount,
            });
        let hold = (1u8..16, boundary(), proptest::option::of(boundary())).prop_map(
            |(classes, starts, lasts)| RawHold {
                classes,
                starts,
                lasts,
            },
        );
        let account = (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![4 => Just(0u8), 1 => 1u8..4],
            proptest::option::weighted(0.3, amount()),
        );
        let entities = (
            vec(tenant, 0..4),
            vec(subscription, 0..6),
            vec(domain, 0..4),
            vec((proptest::option::of(any::<u8>()), 0u8..4), 0..3),
            vec(invoice, 0..6),
            vec(hold, 0..3),
        );
        let who = (
            0u8..7,
            proptest::option::weighted(0.8, boundary()),
            any::<[bool; 9]>(),
            (any::<bool>(), any::<bool>(), any::<bool>()),
            proptest::option::of(0u8..4),
            any::<bool>(),
            -1_000_000i64..1_000_000,
        );
        (account, entities, who).prop_map(
            |(
                (contract, sso, status, balance),
                (tenants, subscriptions, domains, methods, invoices, holds),
                (
                    actor,
                    reauth,
                    rules,
                    (shared_delete, contract_cs_only, sso_admin_only),
                    max_reauth,
                    offset_times,
                    now_minutes,
                ),
            )| Raw {
                contract,
                sso,
                status,
                balance,
                tenants,
                subscriptions,
                domains,
                methods,
                invoices,
                holds,
                actor,
                reauth,
                rules,
                shared_delete,
                contract_cs_only,
                sso_admin_only,
                max_reauth,
                offset_times,
                now_minutes,
            },
        )
    }

    /// The documents this draw describes.
    pub fn build(&self) -> Result<Case, String> {
        let base = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .map_err(|e| e.to_string())?
            .to_utc();
        let now = base + TimeDelta::minutes(self.now_minutes);
        let time = |at: DateTime<Utc>| -> String {
            match FixedOffset::east_opt(2 * 3600).filter(|_| self.offset_times) {
                Some(zone) => at
                    .with_timezone(&zone)
                    .to_rfc3339_opts(SecondsFormat::Secs, false),
                None => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            }
        };
        let later = |seconds: i64| time(now + TimeDelta::seconds(seconds));
        let balance = |amount: i64, at: usize| json!({"amount": amount, "currency": CURRENCIES.get(at % CURRENCIES.len())});

        let mut identity = json!({"type": "password"});
        if self.sso {
            identity = json!({"type": "sso", "provider": "Okta", "super_admin": "u_admin"});
        }
        let mut kind = json!({"type": "self_serve"});
        if self.contract {
            kind = json!({"type": "contract", "customer_success": {"name": "Priya Nair", "email": "priya@platform.test"}});
        }
        let mut snapshot = json!({
            "schema_version": 1,
            "taken_at": time(now),
            "account": {
                "id": "u_me",
                "email": "me@example.test",
                "display_name": "Me",
                "kind": kind,
                "identity": identity,
                "status": pick(&ACCOUNT_STATUSES, self.status),
            },
        });
        let doc = snapshot
            .as_object_mut()
            .ok_or("the snapshot is an object")?;
        if let Some(amount) = self.balance {
            doc.insert("balance".into(), balance(amount, 0));
        }

        let mut tenant_ids = Vec::new();
        let mut other_members = Vec::new();
        let mut tenants = Vec::new();
        for (t, raw) in self.tenants.iter().enumerate() {
            let id = format!("t_{t}");
            let mut members = vec![json!({
                "user": "u_me",
                "role": if raw.owned { "owner" } else { pick(&ROLES, raw.account_role).unwrap_or("member") },
            })];
            let owner = if raw.owned {
                "u_me".to_owned()
            } else {
                let owner = format!("u_{t}_owner");
                members.push(json!({"user": owner, "role": "owner"}));
                owner
            };
            for (m, role) in raw.others.iter().enumerate() {
                let user = format!("u_{t}_{m}");
                other_members.push(user.clone());
                members.push(json!({"user": user, "role": pick(&ROLES, *role)}));
            }
            let mut tenant = json!({
                "id": id, "name": format!("Tenant {t}"), "primary_owner": owner, "members": members,
            });
            if let (Some(amount), Some(fields)) = (raw.balance, tenant.as_object_mut()) {
                fields.insert("balance".into(), balance(amount, t));
            }
            tenants.push(tenant);
            tenant_ids.push(id);
        }
        let tenant_of = |at: Option<u8>| -> Value {
            match at {
                Some(at) if !tenant_ids.is_empty() => {
                    json!(tenant_ids.get(usize::from(at) % tenant_ids.len()))
                }
                _ => Value::Null,
            }
        };

        let mut subscriptions: Vec<Value> = Vec::new();
        let mut is_add_on = Vec::new();
        for (s, raw) in self.subscriptions.iter().enumerate() {
            let mut tenant = tenant_of(raw.tenant);
            let mut add_on_of = Value::Null;
            if let Some(at) = raw.add_on_of.filter(|_| s > 0) {
                let base = usize::from(at) % s;
                if is_add_on.get(base) == Some(&false) {
                    add_on_of = json!(format!("sub_{base}"));
                    tenant = subscriptions
                        .get(base)
                        .and_then(|b| b.get("tenant"))
                        .cloned()
                        .unwrap_or(Value::Null);
                }
            }
            is_add_on.push(!add_on_of.is_null());
            let mut sub = json!({
                "id": format!("sub_{s}"),
                "plan": format!("Plan {s}"),
                "status": pick(&SUBSCRIPTION_STATUSES, raw.status),
                "current_period_end": later(86_400 * 20),
                "tenant": tenant,
            });
            let fields = sub.as_object_mut().ok_or("a subscription is an object")?;
            if !add_on_of.is_null() {
                fields.insert("add_on_of".into(), add_on_of);
            }
            if let Some(flag) = raw.cancel_at_period_end {
                fields.insert("cancel_at_period_end".into(), json!(flag));
            }
            subscriptions.push(sub);
        }

        let domains: Vec<Value> = self
            .domains
            .iter()
            .enumerate()
            .map(|(d, raw)| {
                let setup = if raw.full {
                    json!({"type": "full", "nameservers_point_here": raw.flag})
                } else {
                    json!({"type": "partial", "cname_records_live": raw.flag})
                };
                let mut domain = json!({
                    "name": format!("d{d}.example.test"),
                    "tenant": tenant_of(raw.tenant),
                    "active": raw.active,
                    "setup": setup,
                });
                if let (Some(auto_renew), Some(fields)) = (raw.registration, domain.as_object_mut())
                {
                    fields.insert(
                        "registration".into(),
                        json!({"auto_renew": auto_renew, "expires_at": later(86_400 * 200)}),
                    );
                }
                domain
            })
            .collect();

        let methods: Vec<Value> = self
            .methods
            .iter()
            .enumerate()
            .map(|(p, (tenant, kind))| {
                json!({"id": format!("pm_{p}"), "tenant": tenant_of(*tenant), "kind": pick(&METHOD_KINDS, *kind)})
            })
            .collect();

        let mut invoices = Vec::new();
        for (i, raw) in self.invoices.iter().enumerate() {
            let mut tenant = tenant_of(raw.tenant);
            let mut subscription = Value::Null;
            if let Some(at) = raw.subscription.filter(|_| !subscriptions.is_empty()) {
                let s = usize::from(at) % subscriptions.len();
                subscription = json!(format!("sub_{s}"));
                tenant = subscriptions
                    .get(s)
                    .and_then(|sub| sub.get("tenant"))
                    .cloned()
                    .unwrap_or(Value::Null);
            }
            invoices.push(json!({
                "id": format!("in_{i}"),
                "tenant": tenant,
                "subscription": subscription,
                "status": pick(&INVOICE_STATUSES, raw.status),
                "amount_due": raw.amount,
                "currency": CURRENCIES.get(i % CURRENCIES.len()),
                "issued_at": later(-86_400 * 30),
            }));
        }

        let holds: Vec<Value> = self
            .holds
            .iter()
            .enumerate()
            .map(|(h, raw)| {
                let classes: Vec<&str> = CLASSES
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| raw.classes & (1 << bit) != 0)
                    .map(|(_, class)| *class)
                    .collect();
                let starts = offset(raw.starts);
                let mut hold = json!({
                    "id": format!("lh_{h}"),
                    "classes": classes,
                    "reason": "litigation",
                    "placed_by": "u_legal",
                    "placed_at": later(starts),
                });
                if let (Some(lasts), Some(fields)) = (raw.lasts, hold.as_object_mut()) {
                    // An end relative to now, but always after the start.
                    let ends = offset(lasts).max(starts + 1);
                    fields.insert("until".into(), json!(later(ends)));
                }
                hold
            })
            .collect();

        let fields = [
            ("tenants", tenants),
            ("subscriptions", subscriptions),
            ("domains", domains),
            ("payment_methods", methods),
            ("invoices", invoices),
            ("legal_holds", holds),
        ];
        for (name, items) in fields {
            doc.insert(name.into(), Value::Array(items));
        }

        let limit = self
            .max_reauth
            .and_then(|at| pick(&REAUTH_LIMITS, at))
            .map(i64::from);
        let (id, role) = match self.actor {
            0 | 1 => ("u_me".to_owned(), "user"),
            2 => ("u_admin".to_owned(), "user"),
            3 => ("u_support".to_owned(), "support_operator"),
            4 => ("u_host".to_owned(), "system"),
            5 => (
                pick(
                    &other_members.iter().map(String::as_str).collect::<Vec<_>>(),
                    0,
                )
                .unwrap_or("u_stranger")
                .to_owned(),
                "user",
            ),
            _ => ("u_stranger".to_owned(), "user"),
        };
        let mut actor = json!({"id": id, "role": role});
        if let (Some(raw), Some(fields)) = (self.reauth, actor.as_object_mut()) {
            // Seconds ago: on the policy's limit, a second inside or outside
            // it, or anywhere.
            let ago = match raw {
                (0..=2, _) => limit.unwrap_or(15) * 60 + offset(raw),
                (_, seconds) => seconds.abs(),
            };
            fields.insert("reauthenticated_at".into(), json!(later(-ago)));
        }

        let mut policy = ClosurePolicy::cascade();
        policy.name = "random".to_owned();
        for (condition, block) in Condition::ALL.into_iter().zip(self.rules) {
            let (allowed, _) = condition.allowed();
            let rule = if block {
                allowed.first()
            } else {
                allowed.last()
            };
            let Some(rule) = rule.copied() else { continue };
            *policy.conditions.rule_mut(condition) = rule;
        }
        policy.shared_tenants = if self.shared_delete {
            SharedTenantRule::DeleteAndRemoveMembers
        } else {
            SharedTenantRule::BlockUntilTransferred
        };
        policy.authorization.contract_accounts = if self.contract_cs_only {
            ContractRule::CustomerSuccessOnly
        } else {
            ContractRule::SelfService
        };
        policy.authorization.sso_accounts = if self.sso_admin_only {
            SsoRule::SuperAdminOnly
        } else {
            SsoRule::SelfService
        };
        policy.authorization.max_reauth_age_minutes = limit.and_then(|m| u32::try_from(m).ok());
        // Varied by the other two authorization draws (all four pairings occur).
        policy.authorization.inactivity_closure = self.contract_cs_only != self.sso_admin_only;

        let error = |e: serde_json::Error| e.to_string();
        Ok(Case {
            snapshot: serde_json::to_string(&snapshot).map_err(error)?,
            actor: serde_json::to_string(&actor).map_err(error)?,
            policy: serde_json::to_string(&policy).map_err(error)?,
            now: time(now),
        })
    }
}
