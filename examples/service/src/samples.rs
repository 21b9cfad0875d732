//! The sample accounts, and copies of them under new ids for tests and load.

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
pub fn copy_of(sample: &str, id: &str) -> Option<String> {
    let (_, text) = ALL.iter().find(|(name, _)| *name == sample)?;
    let value: Value = serde_json::from_str(text).ok()?;
    let old_id = value.get("account")?.get("id")?.as_str()?;
    let old_email = value.get("account")?.get("email")?.as_str()?;
    // Ids and addresses are whole JSON strings: replacing the quoted forms
    // cannot touch anything else.
    let json = serde_json::to_string(&value)
        .ok()?
        .replace(&format!("\"{old_id}\""), &format!("\"{id}\""))
        .replace(
            &format!("\"{old_email}\""),
            &format!("\"{id}@example.test\""),
        );
    Some(json)
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
