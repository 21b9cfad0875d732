//! The deterministic snapshot generator shared by the benchmark and the
//! `scale` example.

use std::fmt::Write;

/// A snapshot as JSON text, and how many entities it holds.
pub fn generate((tenants, members): (usize, usize)) -> (String, usize) {
    let mut json = String::from(
        r#"{"schema_version":1,"taken_at":"2026-11-23T10:00:00Z","account":{"id":"u_a","email":"a@example.com","display_name":"A","kind":{"type":"self_serve"},"identity":{"type":"password"},"status":"active"},"tenants":["#,
    );
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"id":"t_{t}","name":"Tenant {t}","primary_owner":"u_a","members":[{{"user":"u_a","role":"owner"}}"#).unwrap();
        for m in 1..members {
            write!(json, r#",{{"user":"u_{t}_{m}","role":"member"}}"#).unwrap();
        }
        json.push_str("]}");
    }
    json.push_str(r#"],"subscriptions":["#);
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"id":"s_{t}","tenant":"t_{t}","plan":"Team","status":"active","current_period_end":"2027-01-01T00:00:00Z"}}"#).unwrap();
    }
    json.push_str(r#"],"domains":["#);
    for t in 0..tenants {
        let sep = if t == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"name":"d{t}.test","tenant":"t_{t}","active":true,"setup":{{"type":"full","nameservers_point_here":true}},"registration":{{"auto_renew":true,"expires_at":"2027-05-01T00:00:00Z"}}}}"#).unwrap();
    }
    json.push_str(r#"],"invoices":["#);
    for i in 0..tenants * 2 {
        let sep = if i == 0 { "" } else { "," };
        let t = i / 2;
        write!(json, r#"{sep}{{"id":"i_{i}","tenant":"t_{t}","status":"paid","amount_due":0,"currency":"EUR","issued_at":"2026-10-01T00:00:00Z"}}"#).unwrap();
    }
    json.push_str("]}");
    (json, tenants * (members + 4))
}
