//! The conventions an API user expects: versions on commands (`ETag`,
//! `If-Match`, 412 and 428), `Idempotency-Key` on every POST, cursor
//! pagination. Against a real service process on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Claims, Service};
use serde_json::Value;

fn each_db(test: &str, body: impl Fn(&common::Db)) {
    for db in common::databases(test) {
        body(&db);
    }
}

/// A command as the holder, with exactly these extra headers.
fn command(
    s: &Service,
    path: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, Value) {
    let bearer = format!("Bearer {}", Claims::person("u_lena", s.now()).sign());
    let mut headers = vec![
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let (status, response_headers, text) = s.raw("POST", path, &headers, body);
    (
        status,
        response_headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn etag(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == "etag")
        .map(|(_, v)| v.clone())
}

const CLOSURE: &str = "/v1/accounts/u_lena/closure";
const CONFIRM: &str = "/v1/accounts/u_lena/closure/confirm";
const CANCEL: &str = "/v1/accounts/u_lena/closure/cancel";
const LENA: &str = r#"{"value": "lena@example.org"}"#;

#[test]
fn a_confirm_decided_on_an_old_version_never_confirms_a_newer_closure() {
    each_db("if_match", |db| {
        let s = Service::start(db, true, &["--workers", "0", "--allow-time-travel"]);
        // The request answers the closure's version as its ETag, and so
        // does every read.
        let (status, headers, body) = command(&s, CLOSURE, &[], "{}");
        assert_eq!(status, 201, "{body}");
        let decided_on = etag(&headers).unwrap();
        assert_eq!(decided_on, format!("\"{}\"", body["closure"]["version"]));
        let (_, headers, _) = s.call("GET", CLOSURE, &[]);
        assert_eq!(etag(&headers), Some(decided_on.clone()));

        // The race the issue reproduced: while a confirm is on its way, the
        // closure is cancelled and asked for again.
        let (status, headers, body) = command(&s, CANCEL, &[("if-match", &decided_on)], "{}");
        assert_eq!(
            (status, body["closure"]["phase"].as_str()),
            (200, Some("cancelled")),
            "{body}"
        );
        let cancelled = etag(&headers).unwrap();
        // Cancelling had a condition too: a second cancel on the same
        // version is stale.
        let (status, _, body) = command(&s, CANCEL, &[("if-match", &decided_on)], "{}");
        assert_eq!(
            (status, body["code"].as_str()),
            (412, Some("version_mismatch")),
            "{body}"
        );
        s.advance_clock(40 * 86_400); // past any cool-down
        let (status, _, body) = command(&s, CLOSURE, &[("if-match", &cancelled)], "{}");
        assert_eq!(status, 201, "{body}");
        let before = s.get(CLOSURE).1;

        // The confirm that was decided on the first closure is refused.
        let (status, _, body) = command(&s, CONFIRM, &[("if-match", &decided_on)], LENA);
        assert_eq!(
            (status, body["code"].as_str()),
            (412, Some("version_mismatch")),
            "{body}"
        );
        assert_eq!(
            s.get(CLOSURE).1,
            before,
            "a stale confirm changed the closure"
        );

        // A confirm must name a version at all; a version must be one.
        let (status, _, body) = command(&s, CONFIRM, &[], LENA);
        assert_eq!(
            (status, body["code"].as_str()),
            (428, Some("version_required")),
            "{body}"
        );
        let (status, _, body) = command(&s, CONFIRM, &[("if-match", "\"seven\"")], LENA);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_header")),
            "{body}"
        );
        assert_eq!(s.get(CLOSURE).1, before);

        // Decided on what it sees now, it goes through.
        let current = format!("\"{}\"", before["version"]);
        let (status, headers, body) = command(&s, CONFIRM, &[("if-match", &current)], LENA);
        assert_eq!(status, 200, "{body}");
        assert_ne!(body["closure"]["phase"], "awaiting_confirmation", "{body}");
        assert_eq!(
            etag(&headers),
            Some(format!("\"{}\"", body["closure"]["version"]))
        );
        // W/"n" and * are read too.
        let weak = format!("W/{}", etag(&headers).unwrap());
        let (status, _, body) = command(&s, CANCEL, &[("if-match", &weak)], "{}");
        assert_ne!(status, 412, "{body}");
        let (status, _, body) = command(&s, CANCEL, &[("if-match", "*")], "{}");
        assert_ne!(status, 412, "{body}");
    });
}
