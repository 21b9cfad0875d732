//! The deterministic snapshot generator shared by the benchmarks and the
//! `scale` example.
//!
//! A snapshot of `n` entities is built from tenant blocks. Each tenant is
//! owned by the account and has members, a plan and (every other tenant) an
//! add-on, a domain, a payment method and invoices in mixed states, so the
//! rules, the index and the consequences all have work to do. The account
//! also owns one block of its own (no tenant). "Entities" counts tenants,
//! members, subscriptions, domains, payment methods and invoices.

use std::fmt::Write;

/// Members per tenant.
const MEMBERS: usize = 20;
/// Entities per tenant block besides members: the tenant, a plan, half an
/// add-on, a domain, a payment method and three invoices.
const PER_TENANT: usize = 7;

/// A snapshot of about `entities` entities as JSON text, and the exact count.
pub fn snapshot(entities: usize) -> (String, usize) {
    // Small snapshots: one tenant with what is left as members.
    let tenants = (entities / (MEMBERS + PER_TENANT)).max(1);
    let members = (entities.saturating_sub(tenants * PER_TENANT) / tenants).max(1);
    let mut json = String::with_capacity(entities * 110 + 512);
    json.push_str(r#"{"schema_version":1,"taken_at":"2026-11-23T10:00:00Z","account":{"id":"u_a","email":"a@example.com","display_name":"A","kind":{"type":"self_serve"},"identity":{"type":"password"},"status":"active"},"tenants":["#);
    let mut count = 0;
    let sep = |i: usize| if i == 0 { "" } else { "," };
    for t in 0..tenants {
        let _ = write!(
            json,
            r#"{}{{"id":"t_{t}","name":"Tenant {t}","primary_owner":"u_a","members":[{{"user":"u_a","role":"owner"}}"#,
            sep(t)
        );
        for m in 1..members {
            let role = ["member", "admin", "billing", "member"][m % 4];
            let _ = write!(json, r#",{{"user":"u_{t}_{m}","role":"{role}"}}"#);
        }
        json.push_str("]}");
        count += 1 + members;
    }
    json.push_str(r#"],"subscriptions":["#);
    for t in 0..tenants {
        let status = ["active", "trialing", "past_due", "canceled"][t % 4];
        let _ = write!(
            json,
            r#"{}{{"id":"s_{t}","tenant":"t_{t}","plan":"Team","status":"{status}","current_period_end":"2027-01-01T00:00:00Z"}}"#,
            sep(t)
        );
        count += 1;
        if t % 2 == 0 {
            let _ = write!(
                json,
                r#",{{"id":"s_{t}_x","tenant":"t_{t}","plan":"Extra seats","add_on_of":"s_{t}","status":"active","current_period_end":"2027-01-01T00:00:00Z","cancel_at_period_end":true}}"#
            );
            count += 1;
        }
    }
    json.push_str(r#"],"domains":["#);
    for t in 0..tenants {
        let setup = if t % 3 == 0 {
            r#"{"type":"partial","cname_records_live":false}"#
        } else {
            r#"{"type":"full","nameservers_point_here":true}"#
        };
        let _ = write!(
            json,
            r#"{}{{"name":"d{t}.example.test","tenant":"t_{t}","active":true,"setup":{setup},"registration":{{"auto_renew":{},"expires_at":"2027-05-01T00:00:00Z"}}}}"#,
            sep(t),
            t % 2 == 0
        );
        count += 1;
    }
    json.push_str(r#"],"payment_methods":["#);
    for t in 0..tenants {
        let _ = write!(
            json,
            r#"{}{{"id":"pm_{t}","tenant":"t_{t}","kind":"card"}}"#,
            sep(t)
        );
        count += 1;
    }
    json.push_str(r#"],"invoices":["#);
    for i in 0..tenants * 3 {
        let t = i / 3;
        let (status, due) = [("paid", 0), ("open", 1200), ("void", 0), ("disputed", 0)][i % 4];
        let _ = write!(
            json,
            r#"{}{{"id":"in_{i}","tenant":"t_{t}","subscription":"s_{t}","status":"{status}","amount_due":{due},"currency":"EUR","issued_at":"2026-10-01T00:00:00Z"}}"#,
            sep(i)
        );
        count += 1;
    }
    json.push_str(r#"],"legal_holds":[{"id":"lh_1","classes":["invoices"],"reason":"tax_audit","placed_by":"u_legal","placed_at":"2026-01-01T00:00:00Z","until":"2036-01-01T00:00:00Z"}]}"#);
    (json, count)
}
