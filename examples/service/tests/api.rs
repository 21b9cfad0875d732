//! The HTTP API against a real service process, on SQLite and (when
//! `OFFBOARD_TEST_DATABASE_URL` is set) PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{databases, Db, Service};
use serde_json::Value;

const LENA: &str = r#"{"value": "lena@example.org"}"#;
const TEN_YEARS_AND_MORE: u64 = 11 * 366 * 24 * 3600;

fn codes(body: &Value) -> Vec<String> {
    body["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_owned())
        .collect()
}

fn each_db(test: &str, run: impl Fn(&Db)) {
    for db in databases(test) {
        eprintln!("-- {test} on {}", db.label);
        run(&db);
    }
}

#[test]
fn a_lone_user_is_closed_end_to_end_and_purged_later() {
    each_db("end_to_end", |db| {
        let s = Service::start(db, true, &["--poll-ms", "20", "--allow-time-travel"]);
        let (status, report) = s.get("/v1/accounts/u_lena/assessment");
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["can_close"], true);

        let (status, body) = s.post("/v1/accounts/u_lena/closure", "");
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["closure"]["phase"], "awaiting_confirmation");
        assert_eq!(body["audit"][0]["event"]["kind"], "requested");

        let (status, body) = s.post("/v1/accounts/u_lena/closure/confirm", LENA);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["closure"]["phase"], "executing");
        assert!(!body["effects"].as_array().unwrap().is_empty());

        s.wait_phase("u_lena", "closed");
        let closed = s.get("/v1/accounts/u_lena/closure").1;
        assert!(
            closed["next_tick_at"].is_string(),
            "purges are scheduled: {closed}"
        );
        // The closing step issues the `completed` notice; the worker's next
        // pass performs it.
        s.wait_for(Duration::from_secs(60), "every effect to be done", |s| {
            s.effects().iter().all(|e| e["status"] == "done")
        });
        for effect in s.effects() {
            assert_eq!(effect["status"], "done", "{effect}");
            assert_eq!(effect["performed"], 1, "{effect}");
        }

        // The purges fall due after the retention periods (up to 10 years for invoices).
        s.advance_clock(TEN_YEARS_AND_MORE);
        s.wait_phase("u_lena", "purged");
        let events = s.verified_audit("u_lena");
        assert_eq!(events.first().unwrap()["event"]["kind"], "requested");
        let (_, stats) = s.get("/v1/ops/stats");
        assert_eq!(stats["performed_without_outbox"], 0);
        assert_eq!(stats["backend"], db.label);
    });
}

#[test]
fn a_blocked_request_gets_every_blocker_and_writes_nothing() {
    each_db("blocked", |db| {
        let s = Service::start(db, true, &["--policy", "prerequisite"]);
        let (status, body) = s.post("/v1/accounts/u_omar/closure", "");
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "blocked");
        assert_eq!(body["number"], 10);
        let codes = codes(&body);
        assert!(
            codes.contains(&"subscription_active".to_owned()),
            "{codes:?}"
        );
        assert!(codes.len() > 1, "every blocker at once: {codes:?}");
        for blocker in body["blockers"].as_array().unwrap() {
            assert!(blocker["remedy"].is_object(), "{blocker}");
        }
        let (status, body) = s.get("/v1/accounts/u_omar/closure");
        assert_eq!((status, body["code"].as_str()), (404, Some("no_closure")));
        let (_, stats) = s.get("/v1/ops/stats");
        assert_eq!(stats["closures"], serde_json::json!([]));
        assert_eq!(stats["audit_events"], 0);
    });
}

#[test]
fn refused_commands_get_their_code_and_status_and_change_nothing() {
    each_db("refusals", |db| {
        let s = Service::start(db, true, &["--workers", "0"]);
        // Before any closure exists.
        let cases: [(&str, &str, u16, &str); 5] = [
            ("/v1/accounts/u_zed/closure", "", 404, "unknown_account"),
            (
                "/v1/accounts/u_lena/closure/confirm",
                LENA,
                404,
                "no_closure",
            ),
            ("/v1/accounts/u_lena/closure", "{", 400, "bad_request_body"),
            (
                "/v1/accounts/u_lena/closure",
                r#"{"bogus": 1}"#,
                400,
                "bad_request_body",
            ),
            (
                "/v1/ops/clock",
                r#"{"advance_seconds": 5}"#,
                403,
                "time_travel_disabled",
            ),
        ];
        for (path, body, status, code) in cases {
            let (got, answer) = s.post(path, body);
            assert_eq!(
                (got, answer["code"].as_str()),
                (status, Some(code)),
                "{path}: {answer}"
            );
            assert!(answer["message"].as_str().unwrap().len() > 10);
        }
        let (status, body) = s.get("/v1/nothing/here");
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("no_such_endpoint"))
        );
        let (status, body) = s.put("/v1/ops/adapters/ftp", r#"{"mode": "ok"}"#);
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("unknown_adapter"))
        );
        let (status, body) = s.put("/v1/ops/accounts/u_new", r#"{"schema_version": 1}"#);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("schema_mismatch")),
            "{body}"
        );

        // Someone unrelated may not close Lena's account.
        let stranger = common::Claims::person("u_sam", s.now()).sign();
        let (status, body) = s.post_with_token("/v1/accounts/u_lena/closure", &stranger, "");
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        // Nor see what closing it would do: the refusal carries no consequences.
        let (status, _, text) = s.call(
            "GET",
            "/v1/accounts/u_lena/assessment",
            &[("authorization", &format!("Bearer {stranger}"))],
        );
        assert_eq!(status, 403, "{text}");
        assert!(
            !text.contains("consequences") && !text.contains("t_lena"),
            "{text}"
        );

        let (status, _) = s.post("/v1/accounts/u_lena/closure", "");
        assert_eq!(status, 201);
        let before = s.get("/v1/accounts/u_lena/closure").1;

        // A wrong confirmation is an accepted step with a notice, not an error.
        let (status, body) = s.post(
            "/v1/accounts/u_lena/closure/confirm",
            r#"{"value": "nope"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["notices"][0]["notice"], "confirmation_rejected");
        assert_eq!(body["closure"]["phase"], "awaiting_confirmation");

        // Retry and abort are refused in this phase, and leave it as it was.
        let after_wrong = s.get("/v1/accounts/u_lena/closure").1;
        for path in [
            "/v1/ops/accounts/u_lena/closure/retry",
            "/v1/ops/accounts/u_lena/closure/abort",
        ] {
            let (status, body) = s.post(path, "");
            assert_eq!(
                (status, body["code"].as_str()),
                (409, Some("wrong_state")),
                "{body}"
            );
        }
        assert_eq!(s.get("/v1/accounts/u_lena/closure").1, after_wrong);
        assert_eq!(
            after_wrong["version"],
            before["version"].as_i64().unwrap() + 1
        );

        let (status, body) = s.post("/v1/accounts/u_lena/closure/cancel", "");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["closure"]["phase"], "cancelled");
        let (status, body) = s.post("/v1/accounts/u_lena/closure/cancel", "");
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("wrong_state")),
            "{body}"
        );
        s.verified_audit("u_lena");
    });
}

#[test]
fn a_legal_hold_keeps_the_purge_until_it_is_released() {
    each_db("holds", |db| {
        let s = Service::start(db, true, &["--poll-ms", "20", "--allow-time-travel"]);
        s.post("/v1/accounts/u_lena/closure", "");
        s.post("/v1/accounts/u_lena/closure/confirm", LENA);
        s.wait_phase("u_lena", "closed");
        let hold = r#"{"hold": {"id": "lh_case_7", "classes": ["personal_data", "content"],
            "reason": "litigation", "placed_by": "ops", "placed_at": "2026-01-01T00:00:00Z"}}"#;
        let (status, body) = s.post("/v1/ops/accounts/u_lena/holds", hold);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["audit"][0]["event"]["kind"], "hold_placed", "{body}");

        s.advance_clock(TEN_YEARS_AND_MORE);
        // The worker purges what is not held, and the closure stays closed.
        s.wait_for(
            std::time::Duration::from_secs(30),
            "the unheld purges",
            |s| {
                s.effects()
                    .iter()
                    .any(|e| e["action"] == "purge" && e["status"] == "done")
            },
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(s.phase("u_lena"), "closed");

        let (status, body) = s.delete("/v1/ops/accounts/u_lena/holds/lh_case_7");
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_lena", "purged");
        s.verified_audit("u_lena");
    });
}

/// The purges issued so far, by record class, from the closure's state.
fn purges_issued(s: &Service, account: &str) -> Vec<String> {
    let (_, body) = s.get(&format!("/v1/accounts/{account}/closure"));
    body["state"]["phase"]["purges"]
        .as_array()
        .map(|purges| {
            purges
                .iter()
                .filter(|p| !p["effect"].is_null())
                .map(|p| p["class"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_hold_in_the_account_data_keeps_personal_data_after_the_account_is_gone() {
    each_db("snapshot_hold", |db| {
        let s = Service::start(db, true, &["--poll-ms", "20", "--allow-time-travel"]);
        let (_, clock) = s.get("/v1/ops/clock");
        let now: chrono::DateTime<chrono::Utc> = clock["now"].as_str().unwrap().parse().unwrap();
        let stamp =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let until = now + chrono::TimeDelta::days(90);
        let mut data: Value =
            serde_json::from_str(&common::clone_sample("lone-user", "u_held")).unwrap();
        data["legal_holds"] = serde_json::json!([{
            "id": "lh_tax_2026", "classes": ["personal_data"], "reason": "tax_audit",
            "placed_by": "legal", "placed_at": stamp(now - chrono::TimeDelta::days(1)),
            "until": stamp(until),
        }]);
        let (status, body) = s.put("/v1/ops/accounts/u_held", &data.to_string());
        assert_eq!(status, 204, "{body}");
        s.post("/v1/accounts/u_held/closure", "");
        let (status, body) = s.post(
            "/v1/accounts/u_held/closure/confirm",
            r#"{"value": "u_held@example.test"}"#,
        );
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_held", "closed");
        // delete_account removed the account's data: no snapshot any more.
        let (status, body) = s.get("/v1/ops/accounts/u_held");
        assert_eq!(status, 404, "{body}");
        let (_, closure) = s.get("/v1/accounts/u_held/closure");
        assert_eq!(
            closure["state"]["holds"][0]["hold"]["id"], "lh_tax_2026",
            "the closure kept the hold: {closure}"
        );

        // Past personal data's retention (28 days) but inside the hold:
        // content is purged, personal data is not.
        s.advance_clock(60 * 24 * 3600);
        s.wait_for(
            std::time::Duration::from_secs(30),
            "the content purge",
            |s| purges_issued(s, "u_held").contains(&"content".to_owned()),
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            !purges_issued(&s, "u_held").contains(&"personal_data".to_owned()),
            "personal data purged under the hold"
        );
        // The hold ends: the worker ticks at its end and purges.
        s.advance_clock(31 * 24 * 3600);
        s.wait_for(
            std::time::Duration::from_secs(30),
            "the personal-data purge once the hold ended",
            |s| purges_issued(s, "u_held").contains(&"personal_data".to_owned()),
        );
        assert_eq!(s.phase("u_held"), "closed");
        s.verified_audit("u_held");
    });
}

#[test]
fn a_failing_adapter_fails_the_closure_until_an_operator_retries_or_aborts() {
    each_db("operator", |db| {
        let s = Service::start(
            db,
            true,
            &["--poll-ms", "20", "--adapter", "billing=fail_permanently"],
        );
        s.post("/v1/accounts/u_omar/closure", "");
        let (status, body) = s.post(
            "/v1/accounts/u_omar/closure/confirm",
            r#"{"value": "omar@acme.test"}"#,
        );
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_omar", "failed");
        assert!(s
            .effects()
            .iter()
            .any(|e| e["status"] == "failed" && e["adapter"] == "billing"));

        s.set_adapter("billing", r#"{"mode": "ok"}"#);
        let (status, body) = s.post("/v1/ops/accounts/u_omar/closure/retry", "");
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_omar", "closed");

        s.set_adapter("billing", r#"{"mode": "fail_permanently"}"#);
        let data = common::clone_sample("team-owner", "u_olga");
        assert_eq!(s.put("/v1/ops/accounts/u_olga", &data).0, 204);
        s.post("/v1/accounts/u_olga/closure", "");
        let (status, body) = s.post(
            "/v1/accounts/u_olga/closure/confirm",
            r#"{"value": "u_olga@example.test"}"#,
        );
        assert_eq!(status, 200, "{body}");
        s.wait_phase("u_olga", "failed");
        let (status, body) = s.post("/v1/ops/accounts/u_olga/closure/abort", "");
        assert_eq!(status, 200, "{body}");
        assert_eq!(s.phase("u_olga"), "aborted");
        for account in ["u_omar", "u_olga"] {
            s.verified_audit(account);
        }
        for effect in s.effects() {
            assert!(effect["performed"].as_i64().unwrap() <= 1, "{effect}");
            if effect["status"] == "done" {
                assert_eq!(effect["performed"], 1, "{effect}");
            }
        }
    });
}

#[test]
fn a_stalled_adapter_times_out_and_the_effect_is_retried() {
    each_db("stall", |db| {
        let s = Service::start(
            db,
            true,
            &[
                "--poll-ms",
                "20",
                "--allow-time-travel",
                "--adapter",
                "identity=stall:5000",
                "--adapter-timeout-ms",
                "100",
            ],
        );
        s.post("/v1/accounts/u_lena/closure", "");
        s.post("/v1/accounts/u_lena/closure/confirm", LENA);
        s.wait_for(
            std::time::Duration::from_secs(30),
            "a timed-out call",
            |s| s.effects().iter().any(|e| e["status"] == "waiting_retry"),
        );
        assert_eq!(s.phase("u_lena"), "executing");
        s.set_adapter("identity", r#"{"mode": "ok"}"#);
        // Retries back off from 30 s; move past the first.
        s.advance_clock(120);
        s.wait_phase("u_lena", "closed");
        let retried = s
            .effects()
            .into_iter()
            .filter(|e| e["deliveries"].as_i64().unwrap() > 1)
            .count();
        assert!(retried >= 1);
        let (_, stats) = s.get("/v1/ops/stats");
        let redeliveries = stats["redeliveries"].as_i64().unwrap();
        assert!(redeliveries >= 1, "{stats}");
        s.verified_audit("u_lena");
    });
}

#[test]
fn accounts_are_imported_and_listed() {
    each_db("import", |db| {
        let s = Service::start(db, true, &["--workers", "0"]);
        let data = common::clone_sample("lone-user", "u_new_1");
        let (status, body) = s.put("/v1/ops/accounts/u_new_1", &data);
        assert_eq!(status, 204, "{body}");
        let (status, body) = s.put("/v1/ops/accounts/u_other", &data);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request_body")),
            "{body}"
        );
        let (_, list) = s.get("/v1/accounts");
        assert_eq!(list["next"], Value::Null, "{list}");
        let ids: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["u_chen", "u_dana", "u_lena", "u_new_1", "u_omar", "u_sam"]
        );
        let (status, body) = s.post("/v1/accounts/u_new_1/closure", "");
        assert_eq!(status, 201, "{body}");
        let (_, list) = s.get("/v1/accounts");
        assert_eq!(list["items"][3]["phase"], "awaiting_confirmation");
    });
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_page_on_the_allowed_origin_reads_the_policy_and_the_account_and_calls_across_origins() {
    let db = common::sqlite("cors");
    let page = "http://page.example:8000";
    let preflight = |origin| {
        vec![
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type, if-match, idempotency-key",
            ),
        ]
    };
    let s = Service::start(
        &db,
        true,
        &[
            "--workers",
            "0",
            "--policy",
            "prerequisite",
            "--allow-origin",
            page,
        ],
    );
    // The preflight of a command with a bearer token is answered here.
    let (status, headers, _) = s.call("OPTIONS", "/v1/accounts/u_lena/closure", &preflight(page));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(page));
    let allowed = header(&headers, "access-control-allow-headers").unwrap();
    for name in [
        "authorization",
        "content-type",
        "if-match",
        "idempotency-key",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(header(&headers, "access-control-allow-methods")
        .unwrap()
        .contains("PUT"));

    // The page's reads: the policy the service applies, and an account's data.
    let (status, headers, text) = s.call("GET", "/v1/policy", &[("origin", page)]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(page));
    assert!(header(&headers, "vary").unwrap().contains("origin"));
    let policy: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(policy["name"], "prerequisite");
    assert_eq!(policy["grace_period_days"], 14);
    let (status, account) = s.get("/v1/ops/accounts/u_lena");
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["account"]["id"], "u_lena");
    assert_eq!(account["account"]["email"], "lena@example.org");
    let (status, body) = s.get("/v1/ops/accounts/u_nobody");
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_account"))
    );
    let (_, clock) = s.get("/v1/ops/clock");
    assert_eq!(clock["time_travel"], false);

    // Another origin gets no CORS header, so its page cannot read answers.
    let (status, headers, _) = s.call(
        "OPTIONS",
        "/v1/accounts/u_lena/closure",
        &preflight("http://elsewhere.example"),
    );
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        None,
        "{status}"
    );
    let (status, headers, _) = s.call(
        "GET",
        "/v1/policy",
        &[("origin", "http://elsewhere.example")],
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    drop(s);

    // Without the flag, no origin is allowed.
    let s = Service::start(&db, false, &["--workers", "0", "--allow-time-travel"]);
    let (status, headers, _) = s.call("OPTIONS", "/v1/accounts/u_lena/closure", &preflight(page));
    assert_eq!(status, 405);
    assert!(headers
        .iter()
        .all(|(n, _)| !n.starts_with("access-control-")));
    let (_, clock) = s.get("/v1/ops/clock");
    assert_eq!(clock["time_travel"], true);
}

#[test]
fn a_service_that_cannot_start_says_why_and_exits_non_zero() {
    let dir = common::sqlite("startup").dir;
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("x.db").display());
    for (args, needle) in [
        (
            vec!["--database", "mysql://localhost/x"],
            "neither a sqlite: nor a postgres: URL",
        ),
        (
            vec!["--database", sqlite.as_str(), "--schema", "s1"],
            "--schema is for PostgreSQL",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--frobnicate"],
            "unknown option",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_offboard-service"))
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn a_cross_site_simple_post_is_refused_and_every_refusal_is_json() {
    each_db("browser_safety", |db| {
        let s = Service::start(db, true, &["--workers", "0"]);
        // What a page on another site can send without a CORS preflight: a
        // `text/plain` POST, with the holder's email as the confirmation.
        for (path, body) in [
            ("/v1/accounts/u_lena/closure", ""),
            (
                "/v1/accounts/u_lena/closure/confirm",
                r#"{"value": "lena@example.org"}"#,
            ),
        ] {
            let (status, headers, text) = s.call_with_body(
                "POST",
                path,
                &[
                    ("content-type", "text/plain"),
                    ("origin", "https://evil.test"),
                ],
                body,
            );
            assert_eq!(status, 415, "{path}: {text}");
            assert!(headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("application/json")));
            let error: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(error["code"], "unsupported_media_type");
        }
        let (status, _) = s.get("/v1/accounts/u_lena/closure");
        assert_eq!(status, 404, "no closure was started");

        // A method a path does not take: JSON, not an empty 405.
        let (status, _, text) = s.call_with_body(
            "DELETE",
            "/v1/accounts/u_lena/assessment",
            &[("content-type", "application/json")],
            "",
        );
        assert_eq!(status, 405);
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], "method_not_allowed");

        // A body over the limit: the library's own `input_too_large`, in JSON.
        let huge = format!(r#"{{"value": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
        let (status, _, text) = s.call_with_body(
            "POST",
            "/v1/accounts/u_lena/closure/confirm",
            &[("content-type", "application/json")],
            &huge,
        );
        assert_eq!(status, 413);
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], "input_too_large");
        assert_eq!(error["number"], 16);
    });
}

#[test]
fn a_request_naming_another_host_is_refused() {
    each_db("rebinding", |db| {
        let s = Service::start(
            db,
            true,
            &["--workers", "0", "--allow-host", "offboard.test"],
        );
        // DNS rebinding: the hostile page's own domain arrives as Host.
        let (status, _, text) = s.call(
            "GET",
            "/v1/accounts/u_lena/assessment",
            &[("host", "evil.test")],
        );
        assert_eq!(status, 421, "{text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["code"], "unknown_host");
        let (status, _, _) = s.call_with_body(
            "POST",
            "/v1/accounts/u_lena/closure",
            &[
                ("host", "evil.test:8080"),
                ("content-type", "application/json"),
            ],
            "{}",
        );
        assert_eq!(status, 421);
        assert_eq!(
            s.get("/v1/accounts/u_lena/closure").0,
            404,
            "nothing started"
        );
        for host in [
            "localhost:1234",
            "offboard.test",
            "OFFBOARD.TEST:443",
            "127.0.0.1",
        ] {
            let (status, _, _) = s.call("GET", "/health", &[("host", host)]);
            assert_eq!(status, 200, "{host}");
        }
    });
}
