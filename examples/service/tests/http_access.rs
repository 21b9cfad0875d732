//! Who may call what, walked over the HTTP API as the README's endpoint
//! table says it: every endpoint, as anonymous, the holder, another user, a
//! support operator, an expired token, a token for another audience and a
//! token without `auth_time`. A refusal must change nothing and carry no
//! data of the account.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Claims, Db, Service, AUDIENCE, ISSUER, SSO_ADMIN_ROLE};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A service that checks three kinds of key at once: the HS256 secret, an
/// EC public key (PEM) and an RSA key in a JWKS document.
fn start(db: &Db, first: bool) -> Service {
    let mut args = common::auth_args(&db.dir);
    args.extend([
        "--auth-public-key".into(),
        fixture("ec-public.pem"),
        "--auth-jwks".into(),
        fixture("jwks.json"),
        "--workers".into(),
        "0".into(),
        "--allow-time-travel".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Service::start(db, first, &args)
}

fn sign(claims: &Claims, alg: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem")).unwrap()).unwrap()
}

fn ec() -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture("ec-private.pem")).unwrap()).unwrap()
}

/// The callers of the walk, with the credentials each sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Expired,
    WrongAudience,
    AnotherUser,
    NoAuthTime,
    Holder,
    Operator,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::Expired,
    Who::WrongAudience,
    Who::AnotherUser,
    Who::NoAuthTime,
    Who::Holder,
    Who::Operator,
];

fn bearer(who: Who, now: i64) -> Option<String> {
    let token = match who {
        Who::Anonymous => return None,
        Who::Expired => Claims {
            exp: now - 3_600,
            ..Claims::person("u_lena", now - 7_200)
        }
        .sign(),
        Who::WrongAudience => Claims {
            aud: "another-service".into(),
            ..Claims::person("u_lena", now)
        }
        .sign(),
        // Signed with the RSA key the JWKS document publishes.
        Who::AnotherUser => sign(
            &Claims::person("u_sam", now),
            Algorithm::RS256,
            &rsa(),
            Some("rsa-2026"),
        ),
        Who::NoAuthTime => Claims {
            auth_time: None,
            ..Claims::person("u_lena", now)
        }
        .sign(),
        Who::Holder => Claims::person("u_lena", now).sign(),
        // Signed with the EC key configured as a PEM file.
        Who::Operator => sign(&Claims::operator(now), Algorithm::ES256, &ec(), None),
    };
    Some(format!("Bearer {token}"))
}

/// The README's reading of "who may call it".
fn allowed(who_may: &str, who: Who) -> bool {
    let signed_in = matches!(
        who,
        Who::AnotherUser | Who::NoAuthTime | Who::Holder | Who::Operator
    );
    match who_may {
        "anyone" => true,
        "any signed-in caller" => signed_in,
        "the holder, its SSO super admin, support" => {
            matches!(who, Who::NoAuthTime | Who::Holder | Who::Operator)
        }
        "support" => who == Who::Operator,
        other => panic!("the README names callers this test cannot read: `{other}`"),
    }
}

/// The README's endpoint table: (method, path, who may call it).
fn readme_table() -> (String, Vec<(String, String, String)>) {
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = readme
        .find("<!-- endpoints:begin")
        .expect("no endpoints:begin marker");
    let start = start + readme[start..].find('\n').unwrap() + 1;
    let end = readme
        .find("<!-- endpoints:end -->")
        .expect("no endpoints:end marker");
    let table = readme[start..end].to_owned();
    let rows = table
        .lines()
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0].to_owned(),
                cells[1].trim_matches('`').to_owned(),
                cells[2].to_owned(),
            )
        })
        .collect();
    (table, rows)
}

#[test]
fn the_readme_endpoint_table_is_the_one_the_service_enforces() {
    let (table, rows) = readme_table();
    assert_eq!(
        table,
        offboard_service::api::endpoint_table(),
        "examples/service/README.md's endpoint table drifted: run ./scripts/regenerate.sh"
    );
    assert_eq!(rows.len(), offboard_service::api::ENDPOINTS.len());
}

/// Everything a caller could change, read by the operator.
fn fingerprint(s: &Service, op: &str) -> Vec<(u16, String)> {
    [
        "/v1/accounts",
        "/v1/ops/stats",
        "/v1/ops/effects",
        "/v1/ops/accounts/u_lena",
        "/v1/ops/accounts/u_lena/billing-customer",
        "/v1/accounts/u_lena/closure",
        "/v1/accounts/u_lena/closure/audit",
    ]
    .iter()
    .map(|path| {
        let (status, _, text) = s.raw("GET", path, &[("authorization", op)], "");
        // An account's data is assembled when asked for: when is not a change.
        match serde_json::from_str::<Value>(&text) {
            Ok(mut data) if data.get("taken_at").is_some() => {
                data["taken_at"] = Value::Null;
                (status, data.to_string())
            }
            // The database's own counters move with every read (this one too).
            Ok(mut data) if data.get("database").is_some() => {
                data["database"] = Value::Null;
                (status, data.to_string())
            }
            _ => (status, text),
        }
    })
    .chain(std::iter::once({
        let (status, _, text) = s.raw("GET", "/v1/ops/clock", &[("authorization", op)], "");
        let clock: Value = serde_json::from_str(&text).unwrap();
        (status, clock["offset_seconds"].to_string())
    }))
    .collect()
}

fn body_for(method: &str, path: &str) -> String {
    match (method, path) {
        ("POST", "/v1/accounts/{account}/closure/confirm") => {
            r#"{"value": "lena@example.org"}"#.into()
        }
        ("POST", "/v1/ops/accounts/{account}/holds") => {
            r#"{"hold": {"id": "lh_walk", "classes": ["invoices"],
            "reason": "litigation", "placed_by": "u_ops", "placed_at": "2026-10-01T00:00:00Z"}}"#
                .into()
        }
        ("PUT", "/v1/ops/accounts/{account}") => common::clone_sample("lone-user", "u_lena"),
        ("PUT", "/v1/ops/accounts/{account}/billing-customer") => {
            r#"{"provider": "stripe", "customer": "cus_walk"}"#.into()
        }
        ("PUT", "/v1/ops/adapters/{adapter}") => r#"{"mode": "ok"}"#.into(),
        ("POST", "/v1/ops/clock") => r#"{"advance_seconds": 1}"#.into(),
        ("POST", "/v1/ops/sweeps/inactivity") => r#"{"accounts": ["u_lena"]}"#.into(),
        _ => "{}".into(),
    }
}

#[test]
fn every_endpoint_answers_only_the_callers_its_row_names() {
    let (_, rows) = readme_table();
    for db in common::databases("http_access") {
        let s = start(&db, true);
        let mut refusals = 0;
        let mut changes = Vec::new();
        for (method, route, who_may) in &rows {
            let path = route
                .replace("{account}", "u_lena")
                .replace("{hold}", "lh_walk")
                .replace("{adapter}", "billing");
            let body = body_for(method, route);
            for who in EVERYONE {
                let now = s.now();
                let op = bearer(Who::Operator, now).unwrap();
                let before = fingerprint(&s, &op);
                let credentials = bearer(who, now);
                let version = format!("\"{}\"", s.version("u_lena"));
                let mut headers = vec![
                    ("content-type", "application/json"),
                    ("if-match", version.as_str()),
                ];
                if let Some(c) = &credentials {
                    headers.push(("authorization", c));
                }
                let (status, response_headers, text) = s.raw(method, &path, &headers, &body);
                let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let what = format!("{} {method} {path} as {who:?}: {status} {text}", db.label);
                if allowed(who_may, who) {
                    // The HTTP layer let it through; the library may still
                    // refuse the command (the holder may not confirm what
                    // support asked for, …).
                    assert!(status != 401 && answer["code"] != "forbidden", "{what}");
                    // A token without auth_time never requests or confirms.
                    let after = fingerprint(&s, &op);
                    if who == Who::NoAuthTime
                        && method == "POST"
                        && route.starts_with("/v1/accounts/")
                    {
                        assert!(status >= 400, "{what}");
                        assert_eq!(after, before, "{what}");
                    }
                    if after != before {
                        changes.push(format!("{method} {route} as {who:?}"));
                    }
                    continue;
                }
                refusals += 1;
                // HEAD runs the GET handler: it is refused as the GET is.
                if method == "GET" {
                    let (head, _, _) = s.raw("HEAD", &path, &headers, "");
                    assert_eq!(head, status, "HEAD {path} as {who:?}");
                }
                let expected = match who {
                    Who::Anonymous => (401, "authentication_required"),
                    Who::Expired => (401, "token_expired"),
                    Who::WrongAudience => (401, "token_invalid"),
                    _ => (403, "forbidden"),
                };
                assert_eq!(
                    (status, answer["code"].as_str().unwrap_or_default()),
                    expected,
                    "{what}"
                );
                if status == 401 {
                    let challenge = response_headers
                        .iter()
                        .find(|(n, _)| n == "www-authenticate")
                        .map(|(_, v)| v.as_str());
                    assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{what}");
                }
                // Nothing of the account is in a refusal, and nothing changed.
                let keys: Vec<&str> = answer
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert!(
                    keys.iter()
                        .all(|k| ["code", "message", "number"].contains(k)),
                    "{what}"
                );
                assert!(!text.contains("lena@") && !text.contains("Lena"), "{what}");
                assert_eq!(fingerprint(&s, &op), before, "{what}");
            }
        }
        // 23 rows: 1 open to all, 1 to any signed-in caller (3 refusals),
        // 6 account rows (4 each), 15 support rows (6 each).
        assert_eq!(refusals, 3 + 6 * 4 + 15 * 6, "{}", db.label);
        // The callers the table names did get through, and changed things:
        // so the refusals' "nothing changed" could have failed. (Support's
        // request takes the holder's over, so support confirms it.)
        for expected in [
            "POST /v1/accounts/{account}/closure as Holder",
            "POST /v1/accounts/{account}/closure as Operator",
            "POST /v1/accounts/{account}/closure/confirm as Operator",
            "PUT /v1/ops/accounts/{account} as Operator",
            "PUT /v1/ops/accounts/{account}/billing-customer as Operator",
            "POST /v1/ops/accounts/{account}/holds as Operator",
            "POST /v1/ops/clock as Operator",
        ] {
            assert!(
                changes.iter().any(|c| c == expected),
                "{}: {expected} changed nothing; changes: {changes:?}",
                db.label
            );
        }
    }
}

#[test]
fn tokens_are_checked_as_a_provider_issues_them() {
    let db = common::sqlite("tokens");
    let s = start(&db, true);
    let now = s.now();
    let call = |path: &str, token: &str| {
        let bearer = format!("Bearer {token}");
        let (status, _, text) = s.raw("GET", path, &[("authorization", &bearer)], "");
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (
            status,
            answer["code"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let ok = |(status, code): (u16, String)| assert_eq!(status, 200, "{code}");
    let refused = |(status, code): (u16, String), expected: &str| {
        assert_eq!((status, code.as_str()), (401, expected));
    };
    let lena = "/v1/accounts/u_lena/assessment";

    // Each configured key verifies its own tokens.
    ok(call(lena, &Claims::person("u_lena", now).sign()));
    ok(call(
        lena,
        &sign(
            &Claims::person("u_lena", now),
            Algorithm::RS256,
            &rsa(),
            Some("rsa-2026"),
        ),
    ));
    ok(call(
        lena,
        &sign(
            &Claims::person("u_lena", now),
            Algorithm::ES256,
            &ec(),
            None,
        ),
    ));
    // The roles claim makes an operator; the EC key is no operator by itself.
    ok(call("/v1/ops/stats", &Claims::operator(now).sign()));
    assert_eq!(
        call(
            "/v1/ops/stats",
            &sign(
                &Claims::person("u_lena", now),
                Algorithm::ES256,
                &ec(),
                None
            )
        )
        .0,
        403
    );

    // A secret that is not the service's, a key id the JWKS does not have,
    // an RSA signature claimed as HMAC (the public key used as a secret),
    // an unsigned token, another issuer, no `exp`, a `sub` with a zero-width
    // space, a leeway's worth of expiry still taken and more refused.
    refused(
        call(
            lena,
            &Claims::person("u_lena", now).sign_with(b"not-the-secret-of-this-service-0123456789"),
        ),
        "token_invalid",
    );
    refused(
        call(
            lena,
            &sign(
                &Claims::person("u_lena", now),
                Algorithm::RS256,
                &rsa(),
                Some("rsa-old"),
            ),
        ),
        "token_invalid",
    );
    let public = std::fs::read(fixture("rsa-public.pem")).unwrap();
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Claims::person("u_lena", now),
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    refused(call(lena, &confused), "token_invalid");
    let unsigned = {
        let signed = Claims::person("u_lena", now).sign();
        let payload = signed.split('.').nth(1).unwrap().to_owned();
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")
    };
    refused(call(lena, &unsigned), "token_invalid");
    refused(
        call(
            lena,
            &Claims {
                iss: "https://evil.example".into(),
                ..Claims::person("u_lena", now)
            }
            .sign(),
        ),
        "token_invalid",
    );
    let no_exp = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u_lena", "auth_time": now}),
        &EncodingKey::from_secret(common::SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    refused(call(lena, &no_exp), "token_invalid");
    refused(
        call(lena, &Claims::person("u_\u{200b}lena", now).sign()),
        "token_invalid",
    );
    ok(call(
        lena,
        &Claims {
            exp: now - 30,
            ..Claims::person("u_lena", now)
        }
        .sign(),
    ));
    refused(
        call(
            lena,
            &Claims {
                exp: now - 90,
                ..Claims::person("u_lena", now)
            }
            .sign(),
        ),
        "token_expired",
    );
    // A sign-in a little ahead of the service's clock is now; far ahead, refused.
    ok(call(
        lena,
        &Claims {
            auth_time: Some(now + 30),
            ..Claims::person("u_lena", now)
        }
        .sign(),
    ));
    refused(
        call(
            lena,
            &Claims {
                auth_time: Some(now + 600),
                ..Claims::person("u_lena", now)
            }
            .sign(),
        ),
        "token_invalid",
    );
    let (status, _, _) = s.raw("GET", lena, &[("authorization", "Basic dTpw")], "");
    assert_eq!(status, 401);

    // auth_time is the sign-in the library judges: a token without it
    // cannot confirm the holder's own request, a fresh one can.
    let (status, body) = s.post_with_token(
        "/v1/accounts/u_lena/closure",
        &Claims::person("u_lena", now).sign(),
        "{}",
    );
    assert_eq!(status, 201, "{body}");
    let stale = Claims {
        auth_time: None,
        ..Claims::person("u_lena", now)
    }
    .sign();
    let confirm = r#"{"value": "lena@example.org"}"#;
    let (status, body) = s.post_with_token("/v1/accounts/u_lena/closure/confirm", &stale, confirm);
    assert_eq!(
        (status, body["blockers"][0]["code"].as_str()),
        (409, Some("reauthentication_required")),
        "{body}"
    );
    let long_ago = Claims {
        auth_time: Some(now - 86_400),
        ..Claims::person("u_lena", now)
    }
    .sign();
    let (status, body) =
        s.post_with_token("/v1/accounts/u_lena/closure/confirm", &long_ago, confirm);
    assert_eq!(
        (status, body["blockers"][0]["code"].as_str()),
        (409, Some("reauthentication_required")),
        "{body}"
    );
    let (status, body) = s.post_with_token(
        "/v1/accounts/u_lena/closure/confirm",
        &Claims::person("u_lena", now).sign(),
        confirm,
    );
    assert_eq!(
        (status, body["closure"]["phase"].as_str()),
        (200, Some("executing")),
        "{body}"
    );

    // The SSO super admin role reaches the accounts whose identity names
    // the caller as super admin, and only those.
    let admin = Claims {
        roles: vec![SSO_ADMIN_ROLE.into()],
        ..Claims::person("u_it_admin", now)
    }
    .sign();
    ok(call("/v1/accounts/u_sam/assessment", &admin));
    assert_eq!(call(lena, &admin), (403, "forbidden".to_owned()));
    let plain = Claims::person("u_it_admin", now).sign();
    assert_eq!(
        call("/v1/accounts/u_sam/assessment", &plain),
        (403, "forbidden".to_owned())
    );
}
