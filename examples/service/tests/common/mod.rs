//! Starts real service processes on real databases and talks HTTP to them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A database for one test: a fresh SQLite file, or a fresh PostgreSQL schema.
#[derive(Debug, Clone)]
pub struct Db {
    pub label: &'static str,
    pub args: Vec<String>,
    /// Only for the first process on it: drop what a previous run left.
    pub reset: Vec<String>,
    pub dir: PathBuf,
}

impl Db {
    /// The store options a test opening the store in-process uses: this
    /// database, reset when it is the first to open it, default limits.
    pub fn store_options(&self) -> offboard_service::store::StoreOptions {
        let flag = |name: &str| {
            self.args
                .iter()
                .position(|a| a == name)
                .map(|at| self.args[at + 1].clone())
        };
        offboard_service::store::StoreOptions {
            url: flag("--database").expect("a database url"),
            schema: flag("--schema"),
            reset_schema: !self.reset.is_empty(),
            limits: offboard_service::config::Limits::default(),
        }
    }
}

/// An actor of this role, reauthenticated at `now`.
pub fn actor(
    id: &str,
    role: offboard::ActorRole,
    now: chrono::DateTime<chrono::Utc>,
) -> offboard::Actor {
    offboard::Actor {
        id: offboard::model::UserId::new(id).unwrap(),
        role,
        reauthenticated_at: Some(now),
    }
}

fn scratch(test: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir()
        .join("offboard-service-tests")
        .join(format!("{test}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn sqlite(test: &str) -> Db {
    let dir = scratch(test);
    let url = format!("sqlite://{}?mode=rwc", dir.join("offboard.db").display());
    Db {
        label: "sqlite",
        args: vec!["--database".into(), url],
        reset: vec![],
        dir,
    }
}

/// PostgreSQL from `OFFBOARD_TEST_DATABASE_URL`, in a schema named after the test.
/// Absent: `None`, unless `OFFBOARD_REQUIRE_POSTGRES=1`, which makes it a failure.
pub fn postgres(test: &str) -> Option<Db> {
    match std::env::var("OFFBOARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(Db {
            label: "postgres",
            args: vec![
                "--database".into(),
                url,
                "--schema".into(),
                format!("t_{test}"),
            ],
            reset: vec!["--reset-schema".into()],
            dir: scratch(test),
        }),
        _ => {
            assert!(
                std::env::var("OFFBOARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "OFFBOARD_REQUIRE_POSTGRES=1 but OFFBOARD_TEST_DATABASE_URL is not set"
            );
            eprintln!("PostgreSQL skipped: set OFFBOARD_TEST_DATABASE_URL (scripts/test.sh does)");
            None
        }
    }
}

/// Every backend this run can test.
pub fn databases(test: &str) -> Vec<Db> {
    let mut dbs = vec![sqlite(test)];
    dbs.extend(postgres(test));
    dbs
}

/// The issuer and audience the tests' services check, and the HS256
/// secret they share with the tests, which sign their own tokens.
pub const ISSUER: &str = "https://id.offboard.test";
pub const AUDIENCE: &str = "offboard-service";
pub const SECRET: &str = "offboard-test-secret-0123456789abcdef-0123456789";
pub const OPERATOR_ROLE: &str = "offboard:support";
pub const SSO_ADMIN_ROLE: &str = "offboard:sso_super_admin";
/// The support operator the helpers act as on `/v1/ops/…`.
pub const OPERATOR: &str = "u_ops";

/// The claims of a test token; [`Claims::sign`] makes the JWT.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    pub roles: Vec<String>,
}

impl Claims {
    /// A person signed in at `now`, the token good for an hour.
    pub fn person(sub: &str, now: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: sub.into(),
            exp: now + 3600,
            auth_time: Some(now),
            roles: Vec::new(),
        }
    }

    /// A support operator signed in at `now`.
    pub fn operator(now: i64) -> Claims {
        Claims {
            roles: vec![OPERATOR_ROLE.into()],
            ..Claims::person(OPERATOR, now)
        }
    }

    /// The HS256 JWT of these claims, signed with [`SECRET`].
    pub fn sign(&self) -> String {
        self.sign_with(SECRET.as_bytes())
    }

    pub fn sign_with(&self, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            self,
            &jsonwebtoken::EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap()
    }
}

/// The flags that make a service check the tests' HS256 tokens.
pub fn auth_args(dir: &std::path::Path) -> Vec<String> {
    let secret = dir.join("auth-secret");
    std::fs::write(&secret, SECRET).unwrap();
    vec![
        "--auth-hs256-secret-file".into(),
        secret.display().to_string(),
        "--auth-issuer".into(),
        ISSUER.into(),
        "--auth-audience".into(),
        AUDIENCE.into(),
    ]
}

/// A running `offboard-service` process.
pub struct Service {
    child: Option<Child>,
    pub base: String,
    agent: ureq::Agent,
    pub log: PathBuf,
    /// Whether the helpers sign tokens (the service checks the tests' HS256
    /// tokens); false when a test configured authentication itself.
    signs: bool,
}

impl Service {
    /// Starts the service with `args` plus `--listen 127.0.0.1:0` and waits for it.
    pub fn start(db: &Db, first: bool, args: &[&str]) -> Service {
        let mut all: Vec<String> = db.args.clone();
        if first {
            all.extend(db.reset.iter().cloned());
        }
        all.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let signs = !args
            .iter()
            .any(|a| a.starts_with("--auth-") || *a == "--insecure-trust-actor-header");
        if signs {
            all.extend(auth_args(&db.dir));
        }
        let n = std::fs::read_dir(&db.dir).map(|d| d.count()).unwrap_or(0);
        let log = db.dir.join(format!("service-{n}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_offboard-service"))
            .args(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "the service did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Service {
            child: Some(child),
            base,
            agent,
            log,
            signs,
        }
    }

    /// The service's clock, in seconds since the epoch (it may run ahead of
    /// the wall clock: `--allow-time-travel`).
    pub fn now(&self) -> i64 {
        let wall = chrono::Utc::now().timestamp();
        // Read with a long-lived operator token, whatever the offset.
        let reader = Claims {
            exp: wall + 100 * 365 * 86_400,
            ..Claims::operator(wall)
        };
        let mut response = self
            .agent
            .get(format!("{}/v1/ops/clock", self.base))
            .header("authorization", &format!("Bearer {}", reader.sign()))
            .call()
            .unwrap();
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        chrono::DateTime::parse_from_rfc3339(body["now"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {body}"))
            .timestamp()
    }

    /// The bearer token the helpers send for `path`: the support operator's
    /// on `/v1/ops/…` and the account list, the account holder's on
    /// `/v1/accounts/{id}/…`, each signed in at the service's now.
    pub fn token_for(&self, path: &str) -> String {
        let now = self.now();
        let holder = path
            .strip_prefix("/v1/accounts/")
            .and_then(|rest| rest.split(['/', '?']).next());
        match holder {
            Some(id) => Claims::person(id, now).sign(),
            None => Claims::operator(now).sign(),
        }
    }

    fn authorized(&self, path: &str) -> Vec<(String, String)> {
        if self.signs {
            vec![(
                "authorization".to_owned(),
                format!("Bearer {}", self.token_for(path)),
            )]
        } else {
            Vec::new()
        }
    }

    /// SIGTERM, then waits (at most `limit`) for the process to exit.
    /// Answers how long it took and whether it exited successfully.
    pub fn terminate(&mut self, limit: Duration) -> (Duration, bool) {
        let mut child = self.child.take().expect("the service is running");
        let start = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (start.elapsed(), status.success());
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the service did not stop within {limit:?} of SIGTERM; log: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `limit`) for the process to end by itself, as at a
    /// fault point; answers whether it did. It is killed if it did not.
    pub fn ended_by_itself(&mut self, limit: Duration) -> bool {
        let mut child = self.child.take().expect("the service is running");
        let start = Instant::now();
        while start.elapsed() < limit {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        false
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// A request as the helpers send it: authorized for its path (see
    /// [`Service::token_for`]), a JSON body for writes. Answers the status
    /// and the JSON body (`null` when empty).
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut all = self.authorized(path);
        if method != "GET" {
            all.push(("content-type".into(), "application/json".into()));
        }
        // A confirm names the version it was decided on: the current one.
        if path.ends_with("/closure/confirm")
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("if-match"))
        {
            let account = path
                .trim_start_matches("/v1/accounts/")
                .trim_end_matches("/closure/confirm");
            all.push(("if-match".into(), format!("\"{}\"", self.version(account))));
        }
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        let named: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let (status, _, text) = self.raw(method, path, &named, body);
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, value)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, &[], "")
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send("POST", path, &[], body)
    }

    /// A POST with a bearer token of the test's own (and, for a confirm,
    /// `If-Match` with the closure's current version).
    pub fn post_with_token(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("authorization", bearer),
            ("content-type", "application/json".to_owned()),
        ];
        if let Some(account) = path.strip_suffix("/closure/confirm") {
            let account = account.trim_start_matches("/v1/accounts/");
            headers.push(("if-match", format!("\"{}\"", self.version(account))));
        }
        let named: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, _, text) = self.raw("POST", path, &named, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The version of `account`'s closure (0 when it has none), read by the
    /// support operator.
    pub fn version(&self, account: &str) -> i64 {
        let bearer = format!("Bearer {}", Claims::operator(self.now()).sign());
        let path = format!("/v1/accounts/{account}/closure");
        let (status, _, text) = self.raw("GET", &path, &[("authorization", &bearer)], "");
        if status == 404 {
            return 0;
        }
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {status} {text}"));
        body["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("no version: {status} {text}"))
    }

    pub fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.send("PUT", path, &[], body)
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.send("DELETE", path, &[], "")
    }

    /// Any request with its own headers and body text, authorized for its
    /// path unless the headers carry credentials of their own; answers the
    /// status, the response headers (lower-case names) and the body text.
    pub fn call_with_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Vec<(String, String)>, String) {
        let own = headers.iter().any(|(n, _)| {
            n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("x-offboard-actor")
        });
        let mut all: Vec<(String, String)> = if own {
            Vec::new()
        } else {
            self.authorized(path)
        };
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        let named: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.raw(method, path, &named, body)
    }

    /// Exactly this request: these headers and nothing more (no credentials
    /// unless the headers carry them).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Vec<(String, String)>, String) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = self
            .agent
            .run(request.body(body.to_owned()).unwrap())
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}; log: {}", self.log.display()));
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap();
        (response.status().as_u16(), headers, text)
    }

    /// Any request, with its own headers and no body; answers the status,
    /// the response headers (lower-case names) and the body text.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, String) {
        self.call_with_body(method, path, headers, "")
    }

    /// Polls `check` until it returns true, for at most `limit`.
    pub fn wait_for(&self, limit: Duration, what: &str, mut check: impl FnMut(&Service) -> bool) {
        let start = Instant::now();
        while !check(self) {
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn phase(&self, account: &str) -> String {
        let (status, body) = self.get(&format!("/v1/accounts/{account}/closure"));
        assert_eq!(status, 200, "{body}");
        body["phase"].as_str().unwrap().to_owned()
    }

    pub fn wait_phase(&self, account: &str, phase: &str) {
        self.wait_for(
            Duration::from_secs(60),
            &format!("{account} to be {phase}"),
            |s| s.phase(account) == phase,
        );
    }

    pub fn advance_clock(&self, seconds: u64) {
        let (status, body) = self.post(
            "/v1/ops/clock",
            &format!(r#"{{"advance_seconds": {seconds}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }

    pub fn set_adapter(&self, adapter: &str, mode: &str) {
        let (status, body) = self.put(&format!("/v1/ops/adapters/{adapter}"), mode);
        assert_eq!(status, 200, "{body}");
    }

    /// Asserts the audit log of `account` verifies; returns its events.
    pub fn verified_audit(&self, account: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/accounts/{account}/closure/audit"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["verification"]["valid"], true, "{account}: {body}");
        let events = body["events"].as_array().unwrap().clone();
        assert_eq!(body["verification"]["events"], events.len() as u64);
        events
    }

    /// Every outbox row with the downstream record of its key, page by page.
    pub fn effects(&self) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut path = "/v1/ops/effects?limit=1000".to_owned();
        loop {
            let (status, body) = self.get(&path);
            assert_eq!(status, 200, "{body}");
            rows.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next"].as_str() {
                Some(next) => path = format!("/v1/ops/effects?limit=1000&after={next}"),
                None => return rows,
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// xorshift64*: enough randomness for test timings, and replayable from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A copy of a sample account under a new id, as the JSON the import endpoint takes.
pub fn clone_sample(sample: &str, id: &str) -> String {
    offboard_service::samples::copy_of(sample, id).unwrap()
}
