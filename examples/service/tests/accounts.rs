//! Accounts in normalised tables: what is imported is what the snapshot
//! assembled by queries gives back; tenants are shared rows; an import that
//! would take another account's records, or leave another account's data
//! invalid, is refused and writes nothing; the identity system's tenant
//! steps change what the other members see; a database from before the
//! tables has its accounts moved in at start.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{databases, Service};
use offboard::Snapshot;
use serde_json::{json, Value};

/// `snapshot` with every list in id order and the time it was taken
/// blanked: what two snapshots of the same facts share.
fn facts(mut snapshot: Value) -> Value {
    snapshot["taken_at"] = Value::Null;
    let by = |list: &mut Value, key: &str| {
        if let Some(items) = list.as_array_mut() {
            items.sort_by(|a, b| a[key].as_str().cmp(&b[key].as_str()));
        }
    };
    for (list, key) in [
        ("tenants", "id"),
        ("subscriptions", "id"),
        ("domains", "name"),
        ("payment_methods", "id"),
        ("invoices", "id"),
        ("legal_holds", "id"),
    ] {
        if snapshot.get(list).is_none() {
            snapshot[list] = json!([]);
        }
        by(&mut snapshot[list], key);
    }
    snapshot
}

/// The canonical JSON of a snapshot (defaults written out), as facts.
fn canonical(text: &str) -> Value {
    let parsed = Snapshot::from_json(text).unwrap();
    facts(serde_json::to_value(parsed).unwrap())
}

fn account(id: &str, tenants: Value, subscriptions: Value) -> String {
    json!({
        "schema_version": 1,
        "taken_at": "2026-11-23T10:00:00Z",
        "account": {
            "id": id, "email": format!("{id}@example.test"), "display_name": id,
            "kind": {"type": "self_serve"}, "identity": {"type": "password"}, "status": "active"
        },
        "tenants": tenants,
        "subscriptions": subscriptions,
    })
    .to_string()
}

fn tenant(id: &str, primary: &str, members: &[(&str, &str)]) -> Value {
    json!({
        "id": id, "name": format!("Tenant {id}"), "primary_owner": primary,
        "members": members.iter().map(|(u, r)| json!({"user": u, "role": r})).collect::<Vec<_>>(),
    })
}

#[test]
fn every_sample_comes_back_from_the_tables_as_it_was_imported() {
    for db in databases("accounts_round_trip") {
        let s = Service::start(&db, true, &["--workers", "0"]);
        for (sample, text) in offboard_service::samples::ALL {
            // The seeded sample, then a copy imported over the API.
            let id = Snapshot::from_json(text).unwrap().account.id;
            let (status, body) = s.get(&format!("/v1/ops/accounts/{id}"));
            assert_eq!(status, 200, "{}: {body}", db.label);
            assert_eq!(facts(body), canonical(text), "{}: {sample}", db.label);

            let copy_id = format!("u_copy_{}", sample.replace('-', "_"));
            let copy = common::clone_sample(sample, &copy_id);
            let (status, body) = s.put(&format!("/v1/ops/accounts/{copy_id}"), &copy);
            assert_eq!(status, 204, "{}: {sample}: {body}", db.label);
            let (status, body) = s.get(&format!("/v1/ops/accounts/{copy_id}"));
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                facts(body),
                canonical(&copy),
                "{}: copy of {sample}",
                db.label
            );
        }
        // A time finer than a second is kept (to the microsecond).
        let mut fine: Value =
            serde_json::from_str(&common::clone_sample("lone-user", "u_fine")).unwrap();
        fine["subscriptions"][0]["current_period_end"] = json!("2027-01-01T00:00:00.123456Z");
        let (status, body) = s.put("/v1/ops/accounts/u_fine", &fine.to_string());
        assert_eq!(status, 204, "{body}");
        let (_, body) = s.get("/v1/ops/accounts/u_fine");
        assert_eq!(
            body["subscriptions"][0]["current_period_end"], "2027-01-01T00:00:00.123456Z",
            "{body}"
        );
    }
}

#[test]
fn a_tenant_is_one_row_that_every_member_sees_and_imports_cannot_take_or_break_others_data() {
    for db in databases("accounts_shared") {
        let s = Service::start(&db, true, &["--workers", "0"]);
        let both = [("u_ana", "owner"), ("u_ben", "member")];
        let sub = json!([{"id": "sub_shared", "tenant": "t_shared", "plan": "Team",
                          "status": "active", "current_period_end": "2027-01-01T00:00:00Z"}]);
        let ana = account(
            "u_ana",
            json!([tenant("t_shared", "u_ana", &both)]),
            sub.clone(),
        );
        assert_eq!(s.put("/v1/ops/accounts/u_ana", &ana).0, 204);
        // Ben's import renames the tenant and drops its subscription: Ana sees both.
        let mut renamed = tenant("t_shared", "u_ana", &both);
        renamed["name"] = json!("Renamed");
        let ben = account("u_ben", json!([renamed]), json!([]));
        assert_eq!(s.put("/v1/ops/accounts/u_ben", &ben).0, 204);
        let (_, seen) = s.get("/v1/ops/accounts/u_ana");
        assert_eq!(seen["tenants"][0]["name"], "Renamed", "{seen}");
        assert_eq!(seen["subscriptions"], json!([]), "{seen}");

        // Cleo's import names Ana's own subscription: refused, nothing written.
        let anas_own = json!([{"id": "sub_ana_own", "plan": "Pro", "status": "active",
                               "current_period_end": "2027-01-01T00:00:00Z"}]);
        let ana = account(
            "u_ana",
            json!([tenant("t_shared", "u_ana", &both)]),
            anas_own.clone(),
        );
        assert_eq!(s.put("/v1/ops/accounts/u_ana", &ana).0, 204);
        let cleo = account("u_cleo", json!([]), anas_own);
        let (status, body) = s.put("/v1/ops/accounts/u_cleo", &cleo);
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("import_conflict")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("sub_ana_own"),
            "{body}"
        );
        assert_eq!(s.get("/v1/ops/accounts/u_cleo").0, 404);
        let (_, seen) = s.get("/v1/ops/accounts/u_ana");
        assert_eq!(seen["subscriptions"][0]["id"], "sub_ana_own", "{seen}");

        // Ana's import leaves the tenant she is primary owner of, which Ben
        // still lists: his data would be invalid, so it is refused.
        let before = s.get("/v1/ops/accounts/u_ben").1;
        let leaving = account("u_ana", json!([]), json!([]));
        let (status, body) = s.put("/v1/ops/accounts/u_ana", &leaving);
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("import_conflict")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("u_ben"),
            "{body}"
        );
        assert_eq!(facts(s.get("/v1/ops/accounts/u_ben").1), facts(before));
        assert_eq!(
            s.get("/v1/ops/accounts/u_ana").1["subscriptions"][0]["id"],
            "sub_ana_own"
        );
    }
}

#[test]
fn closing_an_account_moves_its_tenants_on_for_the_members_who_stay() {
    for db in databases("accounts_close") {
        let s = Service::start(&db, true, &["--poll-ms", "20"]);
        // Pia owns a tenant with Quinn (another owner) and one of her own.
        let shared = [("u_pia", "owner"), ("u_quinn", "owner")];
        let pia = account(
            "u_pia",
            json!([
                tenant("t_team", "u_pia", &shared),
                tenant("t_solo", "u_pia", &[("u_pia", "owner")])
            ]),
            json!([]),
        );
        let quinn = account(
            "u_quinn",
            json!([tenant("t_team", "u_pia", &shared)]),
            json!([]),
        );
        assert_eq!(s.put("/v1/ops/accounts/u_pia", &pia).0, 204);
        assert_eq!(s.put("/v1/ops/accounts/u_quinn", &quinn).0, 204);

        let (status, body) = s.post("/v1/accounts/u_pia/closure", "");
        assert_eq!(status, 201, "{body}");
        let (status, body) = s.post(
            "/v1/accounts/u_pia/closure/confirm",
            r#"{"value": "u_pia@example.test"}"#,
        );
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_pia", "closed");
        s.wait_for(Duration::from_secs(30), "the effects to be done", |s| {
            s.effects().iter().all(|e| e["status"] == "done")
        });

        // Pia is gone; Quinn's data, assembled from the same rows, shows the
        // team handed to Quinn and Pia out of it, and is a valid snapshot.
        assert_eq!(s.get("/v1/ops/accounts/u_pia").0, 404);
        let (status, seen) = s.get("/v1/ops/accounts/u_quinn");
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["tenants"][0]["primary_owner"], "u_quinn", "{seen}");
        assert_eq!(
            seen["tenants"][0]["members"],
            json!([{"user": "u_quinn", "role": "owner"}]),
            "{seen}"
        );
        Snapshot::from_json(&seen.to_string())
            .unwrap()
            .validate()
            .unwrap();
        let (status, report) = s.get("/v1/accounts/u_quinn/assessment");
        assert_eq!(status, 200, "{report}");
        // The solo tenant went with the closure.
        assert!(
            s.effects()
                .iter()
                .any(|e| e["action"] == "delete_tenant" && e["status"] == "done"),
            "{:?}",
            s.effects()
        );
        let (_, stats) = s.get("/v1/ops/stats");
        assert_eq!(stats["performed_without_outbox"], 0, "{stats}");
    }
}

#[test]
fn a_billing_customer_is_recorded_only_for_an_account_and_only_in_its_form() {
    let db = common::sqlite("billing_customer");
    let s = Service::start(&db, true, &["--workers", "0"]);
    let put = |account: &str, body: &str| {
        let (status, body) = s.put(
            &format!("/v1/ops/accounts/{account}/billing-customer"),
            body,
        );
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(s.get("/v1/ops/accounts/u_lena/billing-customer").0, 404);
    for bad in [
        r#"{"provider": "stripe", "customer": "cus_1/../../v1/charges"}"#,
        r#"{"provider": "stripe", "customer": ""}"#,
        r#"{"provider": "paypal", "customer": "cus_1"}"#,
        r#"{"provider": "stripe"}"#,
    ] {
        assert_eq!(
            put("u_lena", bad),
            (400, "bad_request_body".into()),
            "{bad}"
        );
    }
    let good = r#"{"provider": "stripe", "customer": "cus_Lena42"}"#;
    assert_eq!(put("u_nobody", good), (404, "unknown_account".into()));
    assert_eq!(put("u_lena", good).0, 204);
    let (status, body) = s.get("/v1/ops/accounts/u_lena/billing-customer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"provider": "stripe", "customer": "cus_Lena42"})
    );
}

#[test]
fn a_hold_the_records_gain_while_the_closure_executes_is_kept() {
    // After execution starts the worker hands the library only the account
    // and its holds; a hold placed in the records then must still be merged.
    for db in databases("accounts_late_hold") {
        let s = Service::start(&db, true, &["--poll-ms", "20", "--allow-time-travel"]);
        let data = common::clone_sample("lone-user", "u_late");
        assert_eq!(s.put("/v1/ops/accounts/u_late", &data).0, 204);
        s.set_adapter("billing", r#"{"mode": "fail"}"#);
        assert_eq!(s.post("/v1/accounts/u_late/closure", "").0, 201);
        let (status, body) = s.post(
            "/v1/accounts/u_late/closure/confirm",
            r#"{"value": "u_late@example.test"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(s.phase("u_late"), "executing");

        let mut held: Value = serde_json::from_str(&data).unwrap();
        held["legal_holds"] = json!([{
            "id": "lh_late", "classes": ["personal_data"], "reason": "litigation",
            "placed_by": "u_legal", "placed_at": "2026-01-01T00:00:00Z",
        }]);
        let (status, body) = s.put("/v1/ops/accounts/u_late", &held.to_string());
        assert_eq!(status, 204, "{body}");
        // Billing answers again; its retry falls due a day on and succeeds.
        s.set_adapter("billing", r#"{"mode": "ok"}"#);
        s.advance_clock(24 * 3600);
        s.wait_phase("u_late", "closed");
        let (_, closure) = s.get("/v1/accounts/u_late/closure");
        let holds: Vec<&str> = closure["state"]["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["hold"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(holds, ["lh_late"], "{}: {closure}", db.label);
    }
}
