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

fn with_key(
    s: &Service,
    path: &str,
    key: &str,
    body: &str,
    token: &str,
) -> (u16, Vec<(String, String)>, Value) {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", key),
    ];
    let version;
    if path.ends_with("/confirm") {
        version = format!("\"{}\"", s.version("u_lena"));
        headers.push(("if-match", version.as_str()));
    }
    let (status, response_headers, text) = s.raw("POST", path, &headers, body);
    (
        status,
        response_headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn replayed(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, v)| n == "idempotent-replayed" && v == "true")
}

#[test]
fn a_retried_post_with_its_idempotency_key_gets_the_first_answer_and_runs_once() {
    each_db("idempotency", |db| {
        let s = Service::start(db, true, &["--workers", "0"]);
        let lena = Claims::person("u_lena", s.now()).sign();
        let feedback = r#"{"feedback": {"reason": "too_expensive"}}"#;
        let (status, headers, first) = with_key(&s, CLOSURE, "req-1", feedback, &lena);
        assert_eq!(status, 201, "{first}");
        assert!(!replayed(&headers));
        let audit = s.verified_audit("u_lena").len();

        // The retry: the same answer, marked as a replay, and nothing ran.
        let (status, headers, again) = with_key(&s, CLOSURE, "req-1", feedback, &lena);
        assert_eq!((status, &again), (201, &first));
        assert!(replayed(&headers));
        assert_eq!(
            etag(&headers),
            Some(format!("\"{}\"", first["closure"]["version"]))
        );
        assert_eq!(s.verified_audit("u_lena").len(), audit);
        assert_eq!(
            s.version("u_lena"),
            first["closure"]["version"].as_i64().unwrap()
        );

        // The same key for another body is refused, and runs nothing.
        let (status, _, body) = with_key(&s, CLOSURE, "req-1", "{}", &lena);
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("idempotency_key_reused")),
            "{body}"
        );
        // So is the same key on another endpoint.
        let (status, _, body) = with_key(&s, CANCEL, "req-1", feedback, &lena);
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("idempotency_key_reused")),
            "{body}"
        );
        assert_eq!(s.verified_audit("u_lena").len(), audit);

        // Keys are the caller's own: another caller's same key is theirs.
        let omar = Claims::person("u_omar", s.now()).sign();
        let (_, headers, body) =
            with_key(&s, "/v1/accounts/u_omar/closure", "req-1", feedback, &omar);
        assert!(!replayed(&headers), "{body}");
        assert_ne!(body, first);

        // A confirm retried after its answer was lost is not a second step.
        let (status, _, confirmed) = with_key(&s, CONFIRM, "confirm-1", LENA, &lena);
        assert_eq!(status, 200, "{confirmed}");
        let after = s.verified_audit("u_lena").len();
        let (status, headers, again) = with_key(&s, CONFIRM, "confirm-1", LENA, &lena);
        assert_eq!((status, &again), (200, &confirmed));
        assert!(replayed(&headers));
        assert_eq!(s.verified_audit("u_lena").len(), after);

        // A refusal is an answer too: replayed, not re-run.
        let (status, _, refused) = with_key(&s, CLOSURE, "req-2", "{}", &lena);
        assert_eq!(status, 409, "{refused}");
        let (status, headers, again) = with_key(&s, CLOSURE, "req-2", "{}", &lena);
        assert_eq!((status, &again, replayed(&headers)), (409, &refused, true));

        // A key must be 1 to 255 visible ASCII characters.
        for bad in ["", "with space", &"k".repeat(256)] {
            let (status, _, body) = with_key(&s, CANCEL, bad, "{}", &lena);
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("bad_header")),
                "{bad:?}: {body}"
            );
        }
    });
}

#[test]
fn a_key_is_reserved_while_its_command_runs_taken_over_when_abandoned_and_forgotten_after_a_day() {
    use offboard_service::idempotency::{Reserved, ABANDONED_SECONDS, RETENTION_SECONDS};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in common::databases("idempotency_store") {
        runtime.block_on(async {
            let store = offboard_service::store::Store::open(&db.store_options())
                .await
                .unwrap();
            let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let at = |s: i64| t0 + chrono::Duration::seconds(s);
            assert_eq!(
                store.reserve_key("u_a", "k", "f1", at(0)).await.unwrap(),
                Reserved::Run
            );
            // A racing attempt waits; another body is refused even now.
            assert_eq!(
                store.reserve_key("u_a", "k", "f1", at(1)).await.unwrap(),
                Reserved::InFlight
            );
            assert_eq!(
                store.reserve_key("u_a", "k", "f2", at(1)).await.unwrap(),
                Reserved::Reused
            );
            // Another caller's key of the same name is theirs.
            assert_eq!(
                store.reserve_key("u_b", "k", "f2", at(1)).await.unwrap(),
                Reserved::Run
            );
            // Abandoned (its process died): one attempt takes it over.
            let later = ABANDONED_SECONDS + 1;
            assert_eq!(
                store
                    .reserve_key("u_a", "k", "f1", at(later))
                    .await
                    .unwrap(),
                Reserved::Run
            );
            assert_eq!(
                store
                    .reserve_key("u_a", "k", "f1", at(later))
                    .await
                    .unwrap(),
                Reserved::InFlight
            );
            store
                .keep_answer("u_a", "k", 201, "{\"ok\":true}", Some("\"1\""))
                .await
                .unwrap();
            assert_eq!(
                store
                    .reserve_key("u_a", "k", "f1", at(later + 1))
                    .await
                    .unwrap(),
                Reserved::Replay {
                    status: 201,
                    body: "{\"ok\":true}".into(),
                    etag: Some("\"1\"".into())
                }
            );
            // A 5xx is forgotten, so the retry runs.
            store.forget_key("u_b", "k").await.unwrap();
            assert_eq!(
                store.reserve_key("u_b", "k", "f2", at(2)).await.unwrap(),
                Reserved::Run
            );
            // After the retention, the key is new.
            let gone = later + RETENTION_SECONDS + 1;
            assert_eq!(
                store.reserve_key("u_a", "k", "f9", at(gone)).await.unwrap(),
                Reserved::Run
            );
        });
    }
}

#[test]
fn lists_come_in_pages_that_a_cursor_walks_to_the_end() {
    each_db("pages", |db| {
        let s = Service::start(db, true, &["--workers", "0"]);
        for i in 0..7 {
            let id = format!("u_page_{i}");
            let (status, body) = s.put(
                &format!("/v1/ops/accounts/{id}"),
                &common::clone_sample("lone-user", &id),
            );
            assert_eq!(status, 204, "{body}");
        }
        let (_, all) = s.get("/v1/accounts?limit=1000");
        let all: Vec<String> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(all.len(), 12, "{all:?}");
        let mut walked = Vec::new();
        let mut pages = 0;
        let mut path = "/v1/accounts?limit=5".to_owned();
        loop {
            let (status, page) = s.get(&path);
            assert_eq!(status, 200, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 5);
            walked.extend(items.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
            pages += 1;
            match page["next"].as_str() {
                Some(next) => path = format!("/v1/accounts?limit=5&after={next}"),
                None => break,
            }
        }
        assert_eq!((walked, pages), (all, 3));
        // The default page, and what is refused.
        let (_, page) = s.get("/v1/accounts");
        assert_eq!(page["items"].as_array().unwrap().len(), 12);
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=many",
            "after=zz",
            "after=abc",
            "offset=3",
        ] {
            let (status, body) = s.get(&format!("/v1/accounts?{bad}"));
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("bad_query")),
                "{bad}: {body}"
            );
        }
    });
}

#[test]
fn every_request_has_an_id_in_its_answer_and_in_its_log_line() {
    let db = common::sqlite("request_id");
    let s = Service::start(&db, true, &["--workers", "0"]);
    let id_of = |headers: &[(String, String)]| {
        headers
            .iter()
            .find(|(n, _)| n == "x-request-id")
            .map(|(_, v)| v.clone())
    };
    // A gateway's id is kept and answered.
    let (status, headers, _) = s.call(
        "GET",
        "/v1/accounts/u_lena/assessment",
        &[("x-request-id", "gw-7f3a-0001")],
    );
    assert_eq!(status, 200);
    assert_eq!(id_of(&headers).as_deref(), Some("gw-7f3a-0001"));
    // Without one (or with one that is not an id) the service makes one,
    // a new one each time.
    let (_, first, _) = s.call("GET", "/health", &[]);
    let (_, second, _) = s.call("GET", "/health", &[("x-request-id", "has space")]);
    let (first, second) = (id_of(&first).unwrap(), id_of(&second).unwrap());
    assert_ne!(first, second);
    assert_ne!(second, "has space");
    // A refusal is logged with its id and caller too.
    let (status, headers, _) = s.raw(
        "GET",
        "/v1/ops/stats",
        &[("x-request-id", "gw-7f3a-0002")],
        "",
    );
    assert_eq!(
        (status, id_of(&headers).as_deref()),
        (401, Some("gw-7f3a-0002"))
    );
    let log = std::fs::read_to_string(&s.log).unwrap();
    let line = |id: &str| {
        log.lines()
            .find(|l| l.contains(id) && l.contains("answered"))
            .map(str::to_owned)
    };
    let assessed =
        line("gw-7f3a-0001").unwrap_or_else(|| panic!("no log line for the request: {log}"));
    assert!(
        assessed.contains("status=200") && assessed.contains("caller=u_lena"),
        "{assessed}"
    );
    assert!(
        assessed.contains("/v1/accounts/u_lena/assessment"),
        "{assessed}"
    );
    let refused =
        line("gw-7f3a-0002").unwrap_or_else(|| panic!("no log line for the refusal: {log}"));
    assert!(refused.contains("status=401"), "{refused}");
    assert!(line(&first).is_some(), "{log}");
}

#[test]
fn the_schema_comes_from_migrations_and_a_newer_database_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in common::databases("migrations") {
        runtime.block_on(async {
            let options = db.store_options();
            drop(offboard_service::store::Store::open(&options).await.unwrap());
            // Each migration ran once and is recorded.
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&options.url).await.unwrap();
            if let Some(schema) = &options.schema {
                sqlx::query(&format!("SET search_path TO {schema}")).execute(&mut conn).await.unwrap();
            }
            let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert_eq!(versions, [1, 2, 3, 4, 5], "{}", db.label);
            // Opening again runs nothing new.
            let again = offboard_service::store::StoreOptions { reset_schema: false, ..db.store_options() };
            drop(offboard_service::store::Store::open(&again).await.unwrap());
            // A database a newer binary migrated is not touched by this one.
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES (999, 'from the future', TRUE, $1, 0)",
            )
            .bind(vec![0_u8])
            .execute(&mut conn)
            .await
            .unwrap_or_else(|_| panic!("{}", db.label));
            let err = offboard_service::store::Store::open(&again).await.unwrap_err();
            assert!(err.to_string().contains("migrating the database"), "{}: {err}", db.label);
        });
    }
}

#[test]
fn accounts_stored_before_the_account_tables_are_moved_into_them_at_start() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in common::databases("legacy_accounts") {
        runtime.block_on(async {
            let options = db.store_options();
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&options.url)
                .await
                .unwrap();
            // A database as a service before migration 0004 left it.
            let mut migrator = if let Some(schema) = &options.schema {
                for sql in [
                    format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                    format!("CREATE SCHEMA {schema}"),
                    format!("SET search_path TO {schema}"),
                ] {
                    sqlx::query(&sql).execute(&mut conn).await.unwrap();
                }
                sqlx::migrate!("migrations/postgres")
            } else {
                sqlx::migrate!("migrations/sqlite")
            };
            migrator.migrations = migrator
                .migrations
                .iter()
                .filter(|m| m.version <= 3)
                .cloned()
                .collect();
            migrator.run(&mut conn).await.unwrap();
            let old = offboard_service::samples::copy_of("team-owner", "u_legacy").unwrap();
            sqlx::query("INSERT INTO accounts (id, data, updated_at) VALUES ('u_legacy', $1, 0)")
                .bind(&old)
                .execute(&mut conn)
                .await
                .unwrap();

            let store =
                offboard_service::store::Store::open(&offboard_service::store::StoreOptions {
                    reset_schema: false,
                    ..options.clone()
                })
                .await
                .unwrap();
            let now = chrono::Utc::now();
            let moved = store.account("u_legacy", now).await.unwrap();
            let mut expected = offboard::Snapshot::from_json(&old).unwrap();
            expected.taken_at = now;
            let sorted = |mut s: offboard::Snapshot| {
                s.tenants.sort_by(|a, b| a.id.cmp(&b.id));
                s.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
                s.payment_methods.sort_by(|a, b| a.id.cmp(&b.id));
                s.invoices.sort_by(|a, b| a.id.cmp(&b.id));
                s
            };
            assert_eq!(sorted(moved), sorted(expected), "{}", db.label);
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(left, 0, "{}", db.label);
            // The samples were added beside it, once.
            assert!(store.account("u_lena", now).await.is_ok(), "{}", db.label);
        });
    }
}
