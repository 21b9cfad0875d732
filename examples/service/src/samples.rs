//! The sample accounts, and copies of them under new ids for tests and load.

use offboard::model::{
    DomainName, Identity, InvoiceId, LegalHoldId, PaymentMethodId, SubscriptionId, TenantId, UserId,
};
use offboard::Snapshot;
use serde_json::Value;

/// The sample accounts every database starts with: each file name in
/// `examples/data` (without `.json`) and its snapshot.
pub const ALL: [(&str, &str); 5] = [
    ("lone-user", include_str!("../../data/lone-user.json")),
    ("team-owner", include_str!("../../data/team-owner.json")),
    ("domain-owner", include_str!("../../data/domain-owner.json")),
    ("contract", include_str!("../../data/contract.json")),
    ("sso-member", include_str!("../../data/sso-member.json")),
];

/// A copy of a sample account as account `id` with the address
/// `{id}@example.test` (the confirmation phrase under the presets), as the
/// JSON the import endpoint takes. `sample` is a file name in
/// `examples/data` without `.json`.
///
/// The copy is an account of its own: every record id (tenants,
/// subscriptions, payment methods, invoices, holds) is suffixed with
/// `~{id}` and every domain prefixed with `{id}.` (as a DNS label), so
/// copies do not share tenants or records. The other members of its
/// tenants keep their ids: they are the same people in every copy.
pub fn copy_of(sample: &str, id: &str) -> Option<String> {
    let (_, text) = ALL.iter().find(|(name, _)| *name == sample)?;
    let mut s = Snapshot::from_json(text).ok()?;
    let holder = s.account.id.clone();
    let new_holder = UserId::new(id).ok()?;
    let user = |u: &mut UserId| {
        if *u == holder {
            *u = new_holder.clone();
        }
    };
    let tenant = |t: &TenantId| TenantId::new(format!("{t}~{id}")).ok();
    let sub = |x: &SubscriptionId| SubscriptionId::new(format!("{x}~{id}")).ok();
    let label: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-');

    s.account.id = new_holder.clone();
    s.account.email = format!("{id}@example.test");
    for t in &mut s.tenants {
        t.id = tenant(&t.id)?;
        user(&mut t.primary_owner);
        for m in &mut t.members {
            user(&mut m.user);
        }
    }
    for x in &mut s.subscriptions {
        x.id = sub(&x.id)?;
        x.tenant = remap(&x.tenant, tenant)?;
        x.add_on_of = remap(&x.add_on_of, sub)?;
    }
    for d in &mut s.domains {
        d.name = DomainName::new(format!("{label}.{}", d.name.as_str())).ok()?;
        d.tenant = remap(&d.tenant, tenant)?;
    }
    for p in &mut s.payment_methods {
        p.id = PaymentMethodId::new(format!("{}~{id}", p.id)).ok()?;
        p.tenant = remap(&p.tenant, tenant)?;
    }
    for i in &mut s.invoices {
        i.id = InvoiceId::new(format!("{}~{id}", i.id)).ok()?;
        i.tenant = remap(&i.tenant, tenant)?;
        i.subscription = remap(&i.subscription, sub)?;
    }
    for h in &mut s.legal_holds {
        h.id = LegalHoldId::new(format!("{}~{id}", h.id)).ok()?;
        user(&mut h.placed_by);
    }
    if let Identity::Sso { super_admin, .. } = &mut s.account.identity {
        user(super_admin);
    }
    serde_json::to_string(&s).ok()
}

/// `value` with `f` applied inside: `None` stays `None`; `None` out of `f`
/// (an id that cannot be built) is a failure.
fn remap<T>(value: &Option<T>, f: impl Fn(&T) -> Option<T>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(v) => f(v).map(Some),
    }
}

/// A lone user `id` (a copy of `lone-user`) with `n` subscriptions: the
/// large account of the tests and benchmarks.
pub fn with_subscriptions(id: &str, n: usize) -> Option<String> {
    let mut value: Value = serde_json::from_str(&copy_of("lone-user", id)?).ok()?;
    let subscriptions = value.get_mut("subscriptions")?.as_array_mut()?;
    let first = subscriptions.first()?.clone();
    for i in 1..n {
        let mut sub = first.clone();
        *sub.get_mut("id")? = Value::String(format!("sub_{id}_{i:05}"));
        subscriptions.push(sub);
    }
    serde_json::to_string(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_account_has_that_many_subscriptions() {
        let text = with_subscriptions("u_big", 250).unwrap();
        let snapshot = offboard::Snapshot::from_json(&text).unwrap();
        snapshot.validate().unwrap();
        assert_eq!(snapshot.subscriptions.len(), 250);
        assert_eq!(snapshot.account.id.as_str(), "u_big");
    }

    #[test]
    fn a_copy_is_a_valid_snapshot_of_the_new_account() {
        for (sample, _) in ALL {
            let text = copy_of(sample, "u_copy_1").unwrap();
            let snapshot = offboard::Snapshot::from_json(&text).unwrap();
            snapshot.validate().unwrap();
            assert_eq!(snapshot.account.id.as_str(), "u_copy_1");
            assert_eq!(snapshot.account.email, "u_copy_1@example.test");
        }
        assert_eq!(copy_of("nobody", "u_x"), None);
    }
}
