//! Cross-reference checks of a snapshot, done in one linear pass that also
//! builds the lookup tables the precondition engine needs.

use std::hash::Hash;

use super::{Role, Snapshot, SubscriptionId, TenantId};
use crate::error::{EntityKind, Error};

/// A hash map keyed by the snapshot's ids, hashed with foldhash: a third
/// of `assess` was SipHash before. Seeded per table (from addresses, no
/// clock and no system randomness), so a snapshot cannot be built to
/// collide everywhere; nothing the library answers depends on table order.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The set of the same kind.
pub(crate) type Set<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Lookups over a validated snapshot. Building one *is* the validation.
#[derive(Debug)]
pub(crate) struct Index<'a> {
    /// Tenant id to its position in `snapshot.tenants`.
    pub tenants: Map<&'a TenantId, usize>,
}

/// Inserts `id` into `seen`, reporting a duplicate.
fn unique<'a, T: Eq + Hash + ToString + ?Sized>(
    seen: &mut Set<&'a T>,
    id: &'a T,
    kind: EntityKind,
    path: impl FnOnce() -> String,
) -> Result<(), Error> {
    if seen.insert(id) {
        Ok(())
    } else {
        Err(Error::DuplicateId {
            kind,
            id: id.to_string(),
            path: path(),
        })
    }
}

impl<'a> Index<'a> {
    pub(crate) fn build(snapshot: &'a Snapshot) -> Result<Index<'a>, Error> {
        let account = &snapshot.account;
        if !account.email.contains('@') {
            return Err(Error::invalid(
                "account.email",
                "an email address needs an @",
            ));
        }

        let mut tenants = Map::with_capacity_and_hasher(snapshot.tenants.len(), Default::default());
        let mut members = Set::default();
        for (i, tenant) in snapshot.tenants.iter().enumerate() {
            if tenants.insert(&tenant.id, i).is_some() {
                return Err(Error::DuplicateId {
                    kind: EntityKind::Tenant,
                    id: tenant.id.to_string(),
                    path: format!("tenants[{i}]"),
                });
            }
            members.clear();
            let mut primary_role = None;
            for (j, member) in tenant.members.iter().enumerate() {
                unique(&mut members, &member.user, EntityKind::Member, || {
                    format!("tenants[{i}].members[{j}]")
                })?;
                if member.user == tenant.primary_owner {
                    primary_role = Some(member.role);
                }
            }
            match primary_role {
                None => {
                    return Err(Error::DanglingReference {
                        path: format!("tenants[{i}].primary_owner"),
                        kind: EntityKind::Member,
                        id: tenant.primary_owner.to_string(),
                    })
                }
                Some(Role::Owner) => {}
                Some(role @ (Role::Admin | Role::Billing | Role::Member)) => {
                    return Err(Error::invalid(
                        format!("tenants[{i}].primary_owner"),
                        format!(
                            "the primary owner `{}` has the role {role:?}; it must be an owner",
                            tenant.primary_owner
                        ),
                    ))
                }
            }
            if !members.contains(&account.id) {
                return Err(Error::invalid(
                    format!("tenants[{i}].members"),
                    format!(
                        "tenant `{}` does not list the account `{}` as a member; a snapshot holds only the account's own tenants",
                        tenant.id, account.id
                    ),
                ));
            }
        }
        let tenant_exists = |tenant: &Option<TenantId>, path: &dyn Fn() -> String| match tenant {
            Some(id) if !tenants.contains_key(id) => Err(Error::DanglingReference {
                path: path(),
                kind: EntityKind::Tenant,
                id: id.to_string(),
            }),
            Some(_) | None => Ok(()),
        };

        let mut subscriptions: Map<&SubscriptionId, usize> =
            Map::with_capacity_and_hasher(snapshot.subscriptions.len(), Default::default());
        for (i, sub) in snapshot.subscriptions.iter().enumerate() {
            if subscriptions.insert(&sub.id, i).is_some() {
                return Err(Error::DuplicateId {
                    kind: EntityKind::Subscription,
                    id: sub.id.to_string(),
                    path: format!("subscriptions[{i}]"),
                });
            }
            tenant_exists(&sub.tenant, &|| format!("subscriptions[{i}].tenant"))?;
        }
        for (i, sub) in snapshot.subscriptions.iter().enumerate() {
            let Some(base_id) = &sub.add_on_of else {
                continue;
            };
            let path = || format!("subscriptions[{i}].add_on_of");
            let base = subscriptions
                .get(base_id)
                .and_then(|&at| snapshot.subscriptions.get(at))
                .ok_or_else(|| Error::DanglingReference {
                    path: path(),
                    kind: EntityKind::Subscription,
                    id: base_id.to_string(),
                })?;
            if base.is_add_on() {
                return Err(Error::invalid(
                    path(),
                    format!("`{base_id}` is itself an add-on; add-ons attach to plans"),
                ));
            }
            if base.tenant != sub.tenant {
                return Err(Error::invalid(
                    path(),
                    format!(
                        "add-on `{}` and its plan `{base_id}` belong to different owners",
                        sub.id
                    ),
                ));
            }
        }

        let mut seen = Set::with_capacity_and_hasher(snapshot.domains.len(), Default::default());
        for (i, domain) in snapshot.domains.iter().enumerate() {
            unique(&mut seen, &domain.name, EntityKind::Domain, || {
                format!("domains[{i}]")
            })?;
            tenant_exists(&domain.tenant, &|| format!("domains[{i}].tenant"))?;
        }

        let mut seen =
            Set::with_capacity_and_hasher(snapshot.payment_methods.len(), Default::default());
        for (i, method) in snapshot.payment_methods.iter().enumerate() {
            unique(&mut seen, &method.id, EntityKind::PaymentMethod, || {
                format!("payment_methods[{i}]")
            })?;
            tenant_exists(&method.tenant, &|| format!("payment_methods[{i}].tenant"))?;
        }

        let mut seen = Set::with_capacity_and_hasher(snapshot.invoices.len(), Default::default());
        for (i, invoice) in snapshot.invoices.iter().enumerate() {
            unique(&mut seen, &invoice.id, EntityKind::Invoice, || {
                format!("invoices[{i}]")
            })?;
            tenant_exists(&invoice.tenant, &|| format!("invoices[{i}].tenant"))?;
            if let Some(sub_id) = &invoice.subscription {
                let sub = subscriptions
                    .get(sub_id)
                    .and_then(|&at| snapshot.subscriptions.get(at))
                    .ok_or_else(|| Error::DanglingReference {
                        path: format!("invoices[{i}].subscription"),
                        kind: EntityKind::Subscription,
                        id: sub_id.to_string(),
                    })?;
                if sub.tenant != invoice.tenant {
                    return Err(Error::invalid(
                        format!("invoices[{i}].tenant"),
                        format!("invoice `{}` and its subscription `{sub_id}` belong to different owners", invoice.id),
                    ));
                }
            }
        }

        let mut seen =
            Set::with_capacity_and_hasher(snapshot.legal_holds.len(), Default::default());
        for (i, hold) in snapshot.legal_holds.iter().enumerate() {
            unique(&mut seen, &hold.id, EntityKind::LegalHold, || {
                format!("legal_holds[{i}]")
            })?;
            if hold.classes.is_empty() {
                return Err(Error::invalid(
                    format!("legal_holds[{i}].classes"),
                    "a legal hold covers at least one record class",
                ));
            }
            if hold.until.is_some_and(|until| until <= hold.placed_at) {
                return Err(Error::invalid(
                    format!("legal_holds[{i}].until"),
                    "a legal hold cannot end before it is placed",
                ));
            }
        }

        Ok(Index { tenants })
    }
}
